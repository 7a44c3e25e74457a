"""Pydantic's validation errors -> :class:`~autonomy_cli.errors.Problem` s at the YAML path
the user wrote (``pods[1].containers[0].env.API_KEY``), in words a user reads."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any, get_args

from pydantic import BaseModel

from ..errors import Problem
from .base import yaml_keys
from .model import Manifest, flatten_env
from .values import describe

__all__ = ["path_order", "problem"]


def _lookup(data: Any, loc: Sequence[Any]) -> Any:
    """The raw YAML value at a pydantic location, or None where the walk fails."""
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _render_loc(loc: Sequence[Any], data: Any) -> str:
    """``('pods', 1, 'containers', 0, 'env', 2, 'value')`` -> ``pods[1].containers[0].env.API_KEY``."""
    out = ""
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
            if part == "env" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
                flat = flatten_env(_lookup(data, loc[: i + 1]))
                idx = loc[i + 1]
                name = flat[idx][0] if 0 <= idx < len(flat) else None
                out += f".{name}" if isinstance(name, str) else f"[{idx}]"
                break  # name/value below an env entry add nothing for the reader
        i += 1
    return out


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """Which model validates the mapping at ``loc`` (for "unknown key" suggestions)."""
    model: type[BaseModel] | None = Manifest
    for part in loc:
        if isinstance(part, int):
            continue
        field = yaml_keys(model).get(str(part)) if model is not None else None
        if model is None or field is None:
            return None
        model = _unwrap_model(model.model_fields[field].annotation)
    return model


_EMPTY = {"pods": "must list at least one pod", "containers": "must list at least one container"}


def problem(err: Any, data: Any) -> Problem | None:
    loc: tuple[Any, ...] = tuple(err["loc"])
    kind: str = err["type"]
    value = err.get("input")
    ctx: dict[str, Any] = err.get("ctx") or {}
    path = _render_loc(loc, data)
    if kind == "too_short":
        raw = _lookup(data, loc)
        if isinstance(raw, list) and raw:
            return None  # non-empty, its items failed: their own errors say why
        last = loc[-1] if loc else ""
        return Problem(path, _EMPTY.get(str(last), "must not be empty"))
    if kind == "extra_forbidden":
        key = loc[-1] if loc else ""
        model = _model_at(loc[:-1])
        spellings = yaml_keys(model) if model is not None else {}
        if key in spellings:
            return None  # a second spelling of a key written already: the rules report it
        primary = {field: key for key, field in reversed(spellings.items())}  # each field's first spelling
        known = [primary[field] for field in dict.fromkeys(spellings.values())]
        close = difflib.get_close_matches(str(key), list(spellings), n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean '{primary[spellings[close[0]]]}'?"
        elif known:
            hint = f"; expected one of: {', '.join(known)}"
        else:
            hint = ""
        return Problem(path, f"unknown key{hint}")
    if kind == "missing":
        return Problem(path, "is required")
    if kind == "string_type":
        return Problem(path, f"expected a string, got {describe(value)}")
    if kind == "bool_type":
        return Problem(path, f"expected true or false, got {describe(value)}")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return Problem(path, f"expected a whole number, got {describe(value)}")
    if kind == "greater_than_equal":
        return Problem(path, f"must be at least {ctx.get('ge')}, got {describe(value)}")
    if kind == "less_than_equal":
        return Problem(path, f"must be at most {ctx.get('le')}, got {describe(value)}")
    if kind == "literal_error":
        return Problem(path, f"must be {ctx.get('expected')}, got {describe(value)}")
    if kind in ("tuple_type", "list_type"):
        return Problem(path, f"expected a list, got {describe(value)}")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return Problem(path, f"expected a mapping, got {describe(value)}")
    if kind == "invalid_key":
        return Problem(path, "keys must be text")
    message = str(err.get("msg", kind))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return Problem(path, message)


def path_order(problem: Problem) -> tuple[tuple[int, int], ...]:
    """Sort key: by list indices along the path; names keep their original order."""
    tokens = re.findall(r"\[(\d+)\]|[^.\[\]]+", problem.path)
    return tuple((0, int(t)) if t else (1, 0) for t in tokens)
