"""A function's JSON schema, from its signature, type hints and docstring.

``str`` -> ``string``, ``int`` -> ``integer``, ``float`` -> ``number``, ``bool`` ->
``boolean``, ``list[X]`` / ``tuple`` / ``set`` -> ``array`` (of X), ``dict`` ->
``object``, ``Literal["a", "b"]`` and an ``Enum`` -> ``enum``, ``X | None`` -> X (not
required when it has a default); no hint -> any value. A parameter with a default is
not ``required``; its default is shown when it is JSON. ``*args``, ``**kwargs`` and
``self`` are left out.

Docstrings: the summary is the text before the first blank line or section; parameter
descriptions come from a Google-style ``Args:`` (or ``Arguments:``, ``Parameters:``)
section (``name (type): text``, continued on more-indented lines) or from reST
``:param name: text`` lines.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["function_schema", "summary", "param_docs"]

_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params|Returns?|Raises|Yields?|Examples?|Notes?)\s*:\s*$")
_ARGS = ("Args", "Arguments", "Parameters", "Params")
_REST = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_GOOGLE = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_PRIMITIVES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def summary(doc: str | None) -> str:
    """The docstring's first paragraph, on one line."""
    lines: list[str] = []
    for line in inspect.cleandoc(doc or "").splitlines():
        if not line.strip() or _SECTION.match(line) or _REST.match(line):
            if lines:
                break
            continue
        lines.append(line.strip())
    return " ".join(lines)


def param_docs(doc: str | None) -> dict[str, str]:
    """Each parameter's description, from an ``Args:`` section or ``:param`` lines."""
    found: dict[str, str] = {}
    text = inspect.cleandoc(doc or "")
    in_args = False
    current: str | None = None
    indent = 0
    for line in text.splitlines():
        rest = _REST.match(line)
        if rest:
            current, in_args = rest.group(1), False
            found[current] = rest.group(2).strip()
            continue
        section = _SECTION.match(line)
        if section:
            in_args = section.group(1) in _ARGS
            current = None
            continue
        if not line.strip():
            continue
        here = len(line) - len(line.lstrip())
        if in_args:
            m = _GOOGLE.match(line.strip())
            if m and (current is None or here <= indent):
                current, indent = m.group(1).lstrip("*"), here
                found[current] = m.group(2).strip()
                continue
            if current is not None and here > indent:
                found[current] = f"{found[current]} {line.strip()}".strip()
                continue
            if here == 0:
                in_args, current = False, None
        elif current is not None and here > 0:  # a :param line continued
            found[current] = f"{found[current]} {line.strip()}".strip()
    return found


def _json_default(value: Any) -> tuple[bool, Any]:
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False, None
    return True, value


def type_schema(hint: Any) -> dict[str, Any]:
    """The JSON schema of one type hint (``{}`` for any value)."""
    if hint is inspect.Parameter.empty or hint is Any or hint is object:
        return {}
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    if hint is type(None):
        return {"type": "null"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [m.value for m in hint]
        kinds = {_PRIMITIVES.get(type(v)) for v in values}
        out: dict[str, Any] = {"enum": values}
        if len(kinds) == 1 and None not in kinds:
            out["type"] = kinds.pop()
        return out
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        out = {"enum": list(args)}
        kinds = {_PRIMITIVES.get(type(v)) for v in args}
        if len(kinds) == 1 and None not in kinds:
            out["type"] = kinds.pop()
        return out
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return type_schema(options[0])
        return {"anyOf": [type_schema(a) for a in options]}
    if hint in (list, tuple, set, frozenset) or origin in (list, tuple, set, frozenset):
        out = {"type": "array"}
        if args and args[0] is not Ellipsis:
            item = type_schema(args[0])
            if item:
                out["items"] = item
        return out
    if hint is dict or origin is dict:
        return {"type": "object"}
    if origin is typing.Annotated:
        return type_schema(args[0])
    return {}


def function_schema(func: Callable[..., Any]) -> dict[str, Any]:
    """``{"type": "object", "properties": {...}, "required": [...]}`` for ``func``."""
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func, include_extras=False)
    except Exception:  # a hint that does not resolve: take the signature's text as it is
        hints = {}
    docs = param_docs(func.__doc__)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, p in signature.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name in ("self", "cls"):
            continue
        prop = dict(type_schema(hints.get(name, p.annotation)))
        if name in docs and docs[name]:
            prop["description"] = docs[name]
        if p.default is p.empty:
            required.append(name)
        else:
            ok, value = _json_default(p.default)
            if ok and value is not None:
                prop["default"] = value
        properties[name] = prop
    return {"type": "object", "properties": properties, "required": required}
