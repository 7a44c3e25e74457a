"""Tool: name, description and JSON schema from a function's signature, hints and
docstring; sync and async functions; errors as the model would read them."""

from __future__ import annotations

import asyncio
import enum
import json
from typing import Literal

import pytest

from autonomy import Tool
from autonomy.tools.tool import ToolError


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def weather(city: str, days: int = 1, unit: Literal["C", "F"] = "C", detailed: bool | None = None) -> str:
    """The weather forecast for a city.

    More text that is not the summary.

    Args:
        city: the city's name,
            as "Lisbon"
        days (int): how many days ahead
        unit: Celsius or Fahrenheit

    Returns:
        the forecast
    """
    return f"{city}: sunny for {days} day(s) in {unit}"


async def tag(names: list[str], color: Color, weights: dict[str, float] | None = None, score: float = 0.5) -> dict:
    """Tag things.

    :param names: what to tag
    :param color: which color
    """
    return {"tagged": names, "color": color, "score": score}


def test_the_schema_comes_from_the_signature_hints_and_google_docstring() -> None:
    tool = Tool(weather)
    spec = asyncio.run(tool.spec())
    assert spec["type"] == "function"
    fn = spec["function"]
    assert fn["name"] == "weather"
    assert fn["description"] == "The weather forecast for a city."
    assert fn["parameters"] == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'the city\'s name, as "Lisbon"'},
            "days": {"type": "integer", "description": "how many days ahead", "default": 1},
            "unit": {"type": "string", "enum": ["C", "F"], "description": "Celsius or Fahrenheit", "default": "C"},
            "detailed": {"type": "boolean"},
        },
        "required": ["city"],
    }


def test_async_functions_lists_enums_optional_dicts_and_rest_docstrings() -> None:
    tool = Tool(tag)
    params = tool.parameters
    assert tool.description == "Tag things."
    assert params["required"] == ["names", "color"]
    assert params["properties"]["names"] == {"type": "array", "items": {"type": "string"}, "description": "what to tag"}
    assert params["properties"]["color"] == {"type": "string", "enum": ["red", "blue"], "description": "which color"}
    assert params["properties"]["weights"] == {"type": "object"}
    assert params["properties"]["score"] == {"type": "number", "default": 0.5}


def test_invoke_calls_sync_and_async_functions_with_json_arguments() -> None:
    out = asyncio.run(Tool(weather).invoke(json.dumps({"city": "Porto", "days": 2})))
    assert out == "Porto: sunny for 2 day(s) in C"
    out = asyncio.run(Tool(tag).invoke(json.dumps({"names": ["a"], "color": "red"})))
    assert json.loads(out) == {"tagged": ["a"], "color": "red", "score": 0.5}


def test_name_and_description_can_be_given() -> None:
    tool = Tool(lambda: "x", name="now", description="The time now.")
    assert (tool.name, tool.description, tool.parameters["properties"]) == ("now", "The time now.", {})
    assert asyncio.run(tool.invoke(None)) == "x"


def test_bad_arguments_are_a_tool_error() -> None:
    tool = Tool(weather)
    with pytest.raises(ToolError, match="not JSON"):
        asyncio.run(tool.invoke("{city"))
    with pytest.raises(ToolError, match="JSON object"):
        asyncio.run(tool.invoke("[1]"))
    with pytest.raises(ToolError, match="do not fit weather"):
        asyncio.run(tool.invoke('{"town": "Porto"}'))


def test_a_tool_is_a_callable() -> None:
    with pytest.raises(TypeError, match="takes a function"):
        Tool("weather")  # type: ignore[arg-type]
