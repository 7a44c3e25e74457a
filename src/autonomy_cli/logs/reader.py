"""The parts of a follower: raw chunks -> lines, lines -> tagged :class:`~.lines.LogLine`
s (skipping what was emitted before), one reader thread per container, and which
containers and levels were asked for."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..errors import UsageError
from .lines import LEVEL_ALIASES, LEVELS, LogLine, ns_to_datetime, parse_docker_line, parse_level
from .source import ContainerInfo, LogSource, LogStream

__all__ = ["Reader", "Seen", "Selection", "Tagger", "normalize_levels", "split_lines"]


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Chunks of a log stream -> whole lines (a chunk may hold several, or half of one)."""
    rest = b""
    for chunk in chunks:
        if not chunk:
            continue
        data = rest + chunk if rest else chunk
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            yield data[start:end]
            start = end + 1
        rest = data[start:]
    if rest:
        yield rest


@dataclass
class Seen:
    """What was emitted for one container name: the last timestamp and how many lines
    had exactly that timestamp."""

    last_ns: int = -1
    at_last: int = 0


class Tagger:
    """Turns raw lines of one container into LogLines, skipping what was emitted before."""

    def __init__(
        self,
        zone: str,
        info: ContainerInfo,
        seen: Seen,
        lock: threading.Lock,
        since_ns: int | None,
        levels: frozenset[str] | None,
    ) -> None:
        self.zone = zone
        self.pod = info.pod
        self.instance = info.instance
        self.clone = info.clone
        self.container = info.container or info.name
        self.node = info.node or info.name
        self.seen = seen
        self.lock = lock
        self.since_ns = since_ns
        self.levels = levels
        with lock:  # where this reader resumes
            self.skip_before = seen.last_ns
            self.skip_equal = seen.at_last

    def __call__(self, raw: bytes) -> LogLine | None:
        ns, text = parse_docker_line(raw)
        if ns < self.skip_before:
            return None
        if ns == self.skip_before and self.skip_equal > 0:
            self.skip_equal -= 1
            return None
        with self.lock:
            seen = self.seen
            if ns > seen.last_ns:
                seen.last_ns, seen.at_last = ns, 1
            elif ns == seen.last_ns:
                seen.at_last += 1
        if self.since_ns is not None and ns < self.since_ns:
            return None
        level = parse_level(text)
        if self.levels is not None and level not in self.levels:
            return None
        return LogLine(
            time=ns_to_datetime(ns),
            zone=self.zone,
            pod=self.pod,
            instance=self.instance,
            clone=self.clone,
            container=self.container,
            node=self.node,
            level=level,
            text=text,
        )


class Reader(threading.Thread):
    def __init__(
        self,
        source: LogSource,
        info: ContainerInfo,
        tagger: Tagger,
        sink: Callable[[LogLine], None],
        since: int | None,
        tail: int | None,
    ) -> None:
        super().__init__(name=f"logs-{info.name}", daemon=True)
        self.source, self.info, self.tagger, self.sink = source, info, tagger, sink
        self.since, self.tail = since, tail
        self.stream: LogStream | None = None
        self.error: str = ""
        self._closed = threading.Event()

    def run(self) -> None:
        try:
            self.stream = self.source.open(self.info, since=self.since, tail=self.tail, follow=True)
            if self._closed.is_set():
                return
            for raw in split_lines(self.stream):
                if self._closed.is_set():
                    return
                line = self.tagger(raw)
                if line is not None:
                    self.sink(line)
        except Exception as e:  # the container went away, Docker hiccuped: the next poll retries
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self._close_stream()

    def _close_stream(self) -> None:
        stream = self.stream
        if stream is not None:
            try:
                stream.close()
            except Exception:
                pass

    def close(self) -> None:
        self._closed.set()
        self._close_stream()


def _names(values: Iterable[str] | None) -> frozenset[str] | None:
    vals = frozenset(v for v in (values or ()) if v is not None)
    return vals or None


def normalize_levels(levels: Iterable[str] | None) -> frozenset[str] | None:
    if levels is None:
        return None
    out = set()
    for level in levels:
        name = level.strip().upper()
        name = LEVEL_ALIASES.get(name, name)
        if name in ("", "NONE", "OTHER"):
            name = ""
        elif name not in LEVELS:
            raise UsageError(f"level {level!r}: expected one of {', '.join(LEVELS)}")
        out.add(name)
    return frozenset(out) or None


class Selection:
    """Which containers of the zone to read (--pod, --container)."""

    def __init__(self, pods: Iterable[str] | None, containers: Iterable[str] | None) -> None:
        self.pods = _names(pods)
        self.containers = _names(containers)

    def __call__(self, info: ContainerInfo) -> bool:
        if self.pods is not None and info.pod not in self.pods and info.instance not in self.pods:
            return False
        if self.containers is not None and info.container not in self.containers:
            return False
        return True

    def check(self, zone: str, infos: Sequence[ContainerInfo]) -> None:
        """Complain about a pod or container name that names nothing of the zone."""
        if self.pods is not None:
            known = {i.pod for i in infos} | {i.instance for i in infos}
            unknown = sorted(self.pods - known)
            if unknown:
                raise UsageError(
                    f"zone {zone!r} has no pod {', '.join(map(repr, unknown))} "
                    f"(pods: {', '.join(sorted({i.pod for i in infos}))})"
                )
        if self.containers is not None:
            known = {i.container for i in infos}
            unknown = sorted(self.containers - known)
            if unknown:
                raise UsageError(
                    f"zone {zone!r} has no container {', '.join(map(repr, unknown))} "
                    f"(containers: {', '.join(sorted(known))})"
                )
