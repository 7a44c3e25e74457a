"""YAML values as error messages and container text see them."""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = ["describe", "scalar_text"]


def describe(value: Any) -> str:
    """How a YAML value reads in an error message: its kind, and for scalars the value."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return f"a date ({value})"
    return type(value).__name__


def scalar_text(value: Any) -> str | None:
    """YAML scalar -> the text a container sees; None when it is not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return str(value)
    return None
