"""``Tool``: a Python function an agent's model may call.

::

    from autonomy import Agent, Model, Tool

    def current_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        \"\"\"The weather now in a city.

        Args:
            city: the city's name, as "Lisbon"
            unit: degrees Celsius or Fahrenheit
        \"\"\"
        return f"18 {unit} and sunny in {city}"

    await Agent.start(node, "You report the weather.", tools=[Tool(current_weather)])

The model sees the tool as OpenAI's function spec: the function's name, its docstring's
summary as the description, and a JSON schema of its parameters built from the
signature, the type hints and the docstring's ``Args:`` section (see :mod:`._schema`).
A call's arguments arrive as JSON and are passed by name. ``async def`` functions are
awaited; plain functions run in a thread, so a tool that blocks (a file, a socket)
does not stall the node. Whatever the function returns is the result the model reads
(a ``str`` as it is, anything else as JSON). A tool that raises, or gets arguments that
do not fit, gives the model an error result it can read, and the agent goes on.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Any

from ._schema import function_schema, summary

__all__ = ["Tool", "ToolError", "parse_arguments"]


class ToolError(Exception):
    """A tool call that could not run: its arguments were not what the tool takes."""


class Tool:
    """A function as a tool: ``Tool(func)``, or ``Tool(func, name=..., description=...)``."""

    def __init__(self, func: Callable[..., Any], name: str | None = None, description: str | None = None) -> None:
        if not callable(func):
            raise TypeError(f"Tool takes a function, not {type(func).__name__}")
        self.func = func
        self.name = name or getattr(func, "__name__", type(func).__name__)
        self.description = description if description is not None else summary(func.__doc__)
        self.parameters = function_schema(func)
        self._is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
            getattr(func, "__call__", None)  # noqa: B004 (an object whose __call__ is async)
        )

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    async def spec(self) -> dict[str, Any]:
        """OpenAI's function spec of this tool (what a model is given in ``tools``)."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    async def invoke(self, json_argument: str | None) -> str:
        """Call the function with the JSON arguments a model gave; its result as text.

        ToolError when the arguments are not a JSON object or do not fit the signature;
        what the function raises is raised."""
        arguments = parse_arguments(json_argument)
        try:
            inspect.signature(self.func).bind(**arguments)
        except TypeError as e:
            raise ToolError(f"arguments do not fit {self.name}: {e}") from None
        if self._is_async:
            result = await self.func(**arguments)
        else:
            result = await asyncio.to_thread(self.func, **arguments)
        if inspect.isawaitable(result):  # a plain function that returned a coroutine
            result = await result
        return result if isinstance(result, str) else json.dumps(result, default=str)


def parse_arguments(json_argument: str | None) -> dict[str, Any]:
    """The JSON object of a model's tool call (``{}`` when empty); ToolError otherwise."""
    if json_argument is None or not json_argument.strip():
        return {}
    try:
        arguments = json.loads(json_argument)
    except ValueError as e:
        raise ToolError(f"arguments are not JSON: {e}") from None
    if not isinstance(arguments, dict):
        raise ToolError(f"arguments must be a JSON object, got {type(arguments).__name__}")
    return arguments
