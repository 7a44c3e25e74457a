"""YAML files in, plain Python data out, in bounded time and memory.

A user's ``autonomy.yaml`` or ``secrets.yaml`` may be hostile (a file from a cloned
repository) or simply broken; reading one must end in data or in a positioned
:class:`~autonomy_cli.errors.Problem`, never in a traceback, a hang or gigabytes of
memory. So, before PyYAML builds anything:

* :func:`read_text` opens the file without blocking (a FIFO named ``autonomy.yaml`` must
  not hang the CLI), accepts regular files only (not ``/dev/zero``) and reads at most
  :data:`~.limits.MAX_FILE_BYTES`;
* :func:`parse` rejects the characters YAML forbids (a raw NUL byte) with their line and
  column, then composes the node tree itself, without recursion, stopping at
  :data:`~.limits.MAX_DEPTH` levels of nesting or :data:`~.limits.MAX_NODES` nodes
  (every alias counted as a full copy of what it names: a "billion laughs" stops at
  once), and only one document;
* the scalar constructors that can fail on odd text (dates, integers, floats, booleans)
  report the value's position instead of raising ``ValueError``;
* keys written twice in one mapping are reported (YAML itself silently keeps the last).

Events come from libyaml when PyYAML has it (``CParser``), else from PyYAML's own parser.
``reveal=False`` (for ``secrets.yaml``) keeps every value out of the messages.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from ..errors import ManifestError, Problem
from .limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, kib
from .values import describe

__all__ = ["parse", "read_text"]

try:
    from yaml._yaml import CParser as _EventSource
except ImportError:  # PyYAML without libyaml

    class _EventSource(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


_FORBIDDEN = yaml.reader.Reader.NON_PRINTABLE
_FILE_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFSOCK: "a socket",
}


class _LimitError(yaml.MarkedYAMLError):
    """The document is too deep or too big; raised while composing."""


@dataclass
class _Open:
    """A collection being composed: its node, its size so far (aliases expanded)."""

    node: Any  # SequenceNode | MappingNode
    anchor: str | None
    size: int = 1
    key: Node | None = None
    pairs: list[tuple[Node, Node]] = field(default_factory=list)


class _Loader(_EventSource, SafeConstructor, Resolver):
    """libyaml's (or PyYAML's) events, composed iteratively within limits, safe constructors."""

    def __init__(self, text: str, reveal: bool) -> None:
        _EventSource.__init__(self, text)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.reveal = reveal
        self.duplicates: list[tuple[str, yaml.Mark]] = []
        self._anchors: dict[str, tuple[Node, int]] = {}

    # -- composing, without recursion ---------------------------------------------------

    def get_single_node(self) -> Node | None:
        self.get_event()  # stream start
        document: Node | None = None
        if not self.check_event(StreamEndEvent):
            self.get_event()  # document start
            document = self._compose()
            self.get_event()  # document end
        if not self.check_event(StreamEndEvent):
            event: Any = self.get_event()
            raise ComposerError(None, None, "a second document starts here; expected only one", event.start_mark)
        self.get_event()
        return document

    def _compose(self) -> Node:
        stack: list[_Open] = []
        open_anchors: set[str] = set()  # a collection may not contain an alias to itself
        total = 0  # nodes so far, each alias counted as a copy of what it names
        while True:
            event: Any = self.get_event()
            node: Any
            kind = type(event)  # not isinstance: events stay Any (libyaml's marks are not typed)
            if kind in (SequenceStartEvent, MappingStartEvent):
                self._check_anchor(event)
                if len(stack) >= MAX_DEPTH:
                    raise _LimitError(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
                collection = SequenceNode if kind is SequenceStartEvent else MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self._resolved(collection, None, event.implicit)
                stack.append(
                    _Open(collection(tag, [], event.start_mark, None, flow_style=event.flow_style), event.anchor)
                )
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
                total = self._counted(total + 1, event)
                continue
            if kind in (SequenceEndEvent, MappingEndEvent):
                done = stack.pop()
                node, size = done.node, done.size
                node.end_mark = event.end_mark
                if isinstance(node, MappingNode):
                    node.value = done.pairs
                if done.anchor is not None:
                    open_anchors.discard(done.anchor)
                    self._anchors[done.anchor] = (node, size)
            elif kind is AliasEvent:
                if event.anchor in open_anchors:
                    raise ComposerError(None, None, f"alias *{event.anchor} is inside what it names", event.start_mark)
                if event.anchor not in self._anchors:
                    raise ComposerError(None, None, f"found undefined alias *{event.anchor}", event.start_mark)
                node, size = self._anchors[event.anchor]
                total = self._counted(total + size, event)
            elif kind is ScalarEvent:
                self._check_anchor(event)
                tag = event.tag
                if tag is None or tag == "!":
                    tag = self._resolved(ScalarNode, event.value, event.implicit)
                node, size = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style), 1
                if event.anchor is not None:
                    self._anchors[event.anchor] = (node, size)
                total = self._counted(total + 1, event)
            else:
                raise ComposerError(None, None, f"unexpected {type(event).__name__}", event.start_mark)
            if not stack:
                root: Node = node
                return root
            parent = stack[-1]
            parent.size += size
            if isinstance(parent.node, SequenceNode):
                parent.node.value.append(node)
            elif parent.key is None:
                parent.key = node
            else:
                parent.pairs.append((parent.key, node))
                parent.key = None

    def _resolved(self, kind: type[Node], value: str | None, implicit: Any) -> str:
        return str(self.resolve(kind, value, implicit))  # type: ignore[no-untyped-call]

    def _check_anchor(self, event: Any) -> None:
        if event.anchor is not None and event.anchor in self._anchors:
            first = self._anchors[event.anchor][0].start_mark
            raise ComposerError(
                None,
                None,
                f"anchor &{event.anchor} is defined twice (first on line {first.line + 1})",
                event.start_mark,
            )

    @staticmethod
    def _counted(total: int, event: Any) -> int:
        if total > MAX_NODES:
            raise _LimitError(
                None,
                None,
                f"more than {MAX_NODES} values (each alias counted as a copy of what it names)",
                event.start_mark,
            )
        return total


def _duplicates_checked(loader: _Loader, node: MappingNode) -> Iterator[dict[Any, Any]]:
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            ident = (key_node.tag, key_node.value)
            if ident in seen:
                loader.duplicates.append((key_node.value, key_node.start_mark))
            seen.add(ident)
    return (yield from SafeConstructor.construct_yaml_map(loader, node))


def _guarded(what: str, construct: Callable[..., Any]) -> Callable[[_Loader, Node], Any]:
    def checked(loader: _Loader, node: Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, OverflowError, KeyError, AttributeError, TypeError):
            value = f"{describe(node.value)} is not" if loader.reveal else "this value is not"
            raise ConstructorError(
                None, None, f"{value} a valid {what}; quote it if it is meant as text", node.start_mark
            ) from None

    return checked


_Loader.add_constructor("tag:yaml.org,2002:map", _duplicates_checked)  # type: ignore[type-var]
for _tag, _what, _construct in (
    ("int", "integer", SafeConstructor.construct_yaml_int),
    ("float", "number", SafeConstructor.construct_yaml_float),
    ("bool", "boolean", SafeConstructor.construct_yaml_bool),
    ("timestamp", "date", SafeConstructor.construct_yaml_timestamp),
):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _guarded(_what, _construct))  # type: ignore[type-var]


def _where(line: int, column: int) -> str:
    return f"line {line + 1}, column {column + 1}: "


def parse(text: str, file: str, *, reveal: bool = True) -> tuple[Any, list[Problem]]:
    """YAML text -> (data, problems). Data is None when the problems leave nothing usable."""
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        offset = bad.start()
        line = text.count("\n", 0, offset)
        column = offset - (text.rfind("\n", 0, offset) + 1)
        char = ord(bad.group())
        return None, [Problem("", f"{_where(line, column)}invalid YAML: character #x{char:04X} is not allowed", file)]
    loader = _Loader(text, reveal)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = _where(mark.line, mark.column) if mark is not None else ""
        what = e.problem or e.context or "syntax error"
        return None, [Problem("", f"{where}invalid YAML: {what}", file)]
    except yaml.YAMLError as e:
        return None, [Problem("", f"invalid YAML: {e}", file)]
    finally:
        loader.dispose()
    problems = [
        Problem("", f"{_where(m.line, m.column)}key '{key}' is written twice in the same mapping", file)
        for key, m in loader.duplicates
    ]
    return data, problems


def read_text(path: Path, file: str) -> str:
    """The UTF-8 text of a regular file of at most MAX_FILE_BYTES; ManifestError otherwise."""

    def fail(message: str) -> ManifestError:
        return ManifestError([Problem("", message, file)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise fail(f"not found in {path.parent}") from None
    except OSError as e:
        raise fail(f"cannot be read: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise fail(f"{path} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            kind = _FILE_KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
            raise fail(f"is not a regular file ({path} is {kind})")
        if info.st_size > MAX_FILE_BYTES:
            raise fail(f"is larger than {kib(MAX_FILE_BYTES)} ({info.st_size} bytes)")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise fail(f"is larger than {kib(MAX_FILE_BYTES)}")
    except OSError as e:
        if e.errno == errno.EISDIR:
            raise fail(f"{path} is a folder, not a file") from None
        raise fail(f"cannot be read: {e.strerror or e}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"is not UTF-8 text (byte {e.start})") from None
