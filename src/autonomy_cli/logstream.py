"""The log lines of a zone's containers: tagged, interleaved by time, followed for good.

Library code (no printing): ``autonomy zone logs``, the logs page of ``autonomy zone inlet
--to logs`` and the dev loop read a zone's logs through this module::

    for line in follow("hello", pods=["main-pod"], stop=stop_event):
        print(line.time, line.instance, line.container, line.level, line.body)

    lines = snapshot("hello", since=parse_since("10m"))

How it works (:class:`Follower`)::

    poll the zone's app containers (labels computer.autonomy.zone=<zone>, role=app), ~1/s
      -> one reader thread per container: docker logs --follow --timestamps --since ...
      -> each raw line parsed (Docker's timestamp, the runtime's level) and tagged with the
         container's labels (pod, instance, clone, container, node)
      -> a Merger: a bounded heap that holds each line for a short reorder window (0.2 s)
         and hands lines out in timestamp order; when full it drops the oldest and counts

A container that restarts ends its reader's stream; the next poll starts a new reader for it
(``--since`` its last line), and so for a container recreated under the same name by a
redeploy. What was emitted for a container *name* is remembered (last timestamp, and how
many lines had exactly that timestamp), so no line is ever emitted twice. Containers that
appear later (a new pod) are picked up by the poll.

Docker is reached only through a :class:`LogSource` (:class:`DockerSource` in real use), so
the follower, the merger and the parsing are tested with fake sources, without Docker.
"""

from __future__ import annotations

import calendar
import functools
import heapq
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .errors import CliError, EngineError, UsageError

__all__ = [
    "LEVELS",
    "ContainerInfo",
    "DockerSource",
    "Follower",
    "LogLine",
    "LogSource",
    "Merger",
    "follow",
    "parse_docker_line",
    "parse_level",
    "parse_since",
    "snapshot",
]

LABEL = "computer.autonomy."
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_LEVEL_ALIASES = {"CRITICAL": "ERROR", "FATAL": "ERROR", "WARN": "WARNING"}

# the runtime's line format: "2026-11-21T05:07:06.400Z INFO autonomy.node message"
_RUNTIME_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?Z?) (DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b ?"
)
# Docker's --timestamps prefix: RFC 3339 with up to 9 fractional digits, UTC ("Z")
_DOCKER_TS = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ?")


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class LogLine:
    """One line a container wrote, with where it came from."""

    time: datetime  # when Docker received it (UTC, microseconds)
    zone: str
    pod: str
    instance: str  # pod instance: the pod's name, or <pod>-<clone> for clones
    clone: int
    container: str
    node: str
    level: str  # DEBUG, INFO, WARNING, ERROR, or "" when the line is not in the runtime's format
    text: str  # the line as the container wrote it (no newline)

    @property
    def body(self) -> str:
        """The text without the runtime's own timestamp (``INFO autonomy.node message``)."""
        if self.level:
            m = _RUNTIME_LINE.match(self.text)
            if m:
                return self.text[len(m.group(1)) + 1 :]
        return self.text

    @property
    def message(self) -> str:
        """The text without the runtime's timestamp and level (``autonomy.node message``):
        what to show beside a level column."""
        if self.level:
            m = _RUNTIME_LINE.match(self.text)
            if m:
                return self.text[m.end() :]
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "zone": self.zone,
            "pod": self.pod,
            "instance": self.instance,
            "clone": self.clone,
            "container": self.container,
            "node": self.node,
            "level": self.level,
            "text": self.text,
        }


def parse_level(text: str) -> str:
    """The level of a line in the runtime's format, else ""."""
    m = _RUNTIME_LINE.match(text)
    if not m:
        return ""
    level = m.group(2)
    return _LEVEL_ALIASES.get(level, level)


@functools.lru_cache(maxsize=256)
def _epoch_seconds(prefix: bytes) -> int:
    return calendar.timegm(time.strptime(prefix.decode("ascii"), "%Y-%m-%dT%H:%M:%S"))


def parse_docker_line(raw: bytes | str) -> tuple[int, str]:
    """One line of ``docker logs --timestamps`` -> (nanoseconds since the epoch, text).

    A line without Docker's timestamp (it should not happen) gets the time it is read.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if data.endswith(b"\n"):
        data = data[:-1]
    if data.endswith(b"\r"):
        data = data[:-1]
    m = _DOCKER_TS.match(data)
    if not m:
        return time.time_ns(), data.decode("utf-8", errors="replace")
    try:
        seconds = _epoch_seconds(m.group(1))
    except ValueError:
        return time.time_ns(), data.decode("utf-8", errors="replace")
    frac = m.group(2) or b""
    ns = seconds * 1_000_000_000 + (int(frac.ljust(9, b"0")) if frac else 0)
    tz = m.group(3)
    if tz != b"Z":
        sign = 1 if tz[:1] == b"+" else -1
        ns -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60) * 1_000_000_000
    return ns, data[m.end() :].decode("utf-8", errors="replace")


def _ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(microsecond=(ns % 1_000_000_000) // 1000)


def _datetime_to_ns(t: datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return calendar.timegm(t.utctimetuple()) * 1_000_000_000 + t.microsecond * 1000


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``10m``, ``2h``, ``30s``, ``1h30m``, ``2d`` ago, or an ISO time (UTC unless it says)."""
    text = value.strip()
    now = now or datetime.now(UTC)
    if text and _DURATION.sub("", text) == "":
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))
        return now - timedelta(seconds=seconds)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {value!r}: expected a duration like 30s, 10m, 2h, 1h30m, 2d, or an ISO time like 2026-11-21T05:07:06"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)


# --------------------------------------------------------------------------- merger


class Merger:
    """Interleaves lines put by many threads into timestamp order.

    Each line is held ``window`` seconds after it arrived, so that a line of another
    container with an earlier time, read a little later, still comes out before it. At
    most ``capacity`` lines wait; past that the oldest is dropped and counted in
    :attr:`dropped` (a slow consumer loses old lines, memory stays bounded).
    """

    def __init__(
        self, window: float = 0.2, capacity: int = 20_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.window = window
        self.capacity = capacity
        self.dropped = 0
        self._clock = clock
        self._heap: list[tuple[datetime, int, float, LogLine]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, line: LogLine) -> None:
        with self._cond:
            if len(self._heap) >= self.capacity:
                heapq.heappop(self._heap)
                self.dropped += 1
            heapq.heappush(self._heap, (line.time, next(self._seq), self._clock(), line))
            self._cond.notify()

    def _ready(self, now: float) -> list[LogLine]:
        out = []
        heap = self._heap
        while heap and heap[0][2] + self.window <= now:
            out.append(heapq.heappop(heap)[3])
        return out

    def take(self, timeout: float = 0.0) -> list[LogLine]:
        """The lines whose window has passed, oldest first; waits up to ``timeout`` s
        for at least one."""
        with self._cond:
            deadline = self._clock() + timeout
            while True:
                now = self._clock()
                out = self._ready(now)
                if out or now >= deadline:
                    return out
                wait = deadline - now
                if self._heap:
                    wait = min(wait, self._heap[0][2] + self.window - now)
                self._cond.wait(max(wait, 0.001))

    def drain(self) -> list[LogLine]:
        """Every waiting line, oldest first, window or not."""
        with self._cond:
            out = [item[3] for item in sorted(self._heap)]
            self._heap.clear()
            return out


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class ContainerInfo:
    """One app container of a zone, as the container list shows it."""

    id: str
    name: str
    running: bool
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def pod(self) -> str:
        return self.labels.get(LABEL + "pod", "")

    @property
    def instance(self) -> str:
        return self.labels.get(LABEL + "instance", "") or self.pod

    @property
    def container(self) -> str:
        return self.labels.get(LABEL + "container", "")


class LogStream(Protocol):
    def __iter__(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class LogSource(Protocol):
    """Where containers and their log bytes come from (Docker, or a fake in tests)."""

    def list(self, zone: str) -> list[ContainerInfo]:
        """The zone's app containers, running or not."""
        ...

    def open(self, info: ContainerInfo, *, since: int | None, tail: int | None, follow: bool) -> LogStream:
        """``docker logs --timestamps`` of a container: chunks of bytes (lines, or parts
        of lines). ``since`` is in whole seconds since the epoch."""
        ...


class _ListStream:
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        pass


class DockerSource:
    """The local Docker engine (through the docker SDK)."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            from .engine import Engine

            client = Engine().client  # EngineError when Docker is not reachable
        self.client = client

    def list(self, zone: str) -> list[ContainerInfo]:
        import docker.errors

        try:
            found = self.client.api.containers(all=True, filters={"label": [f"{LABEL}zone={zone}", f"{LABEL}role=app"]})
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot list the containers of zone {zone!r}: {e}") from None
        return [
            ContainerInfo(
                id=c["Id"],
                name=(c.get("Names") or ["/" + c["Id"][:12]])[0].lstrip("/"),
                running=c.get("State") == "running",
                labels=dict(c.get("Labels") or {}),
            )
            for c in found
        ]

    def open(self, info: ContainerInfo, *, since: int | None, tail: int | None, follow: bool) -> LogStream:
        kwargs: dict[str, Any] = {
            "stdout": True,
            "stderr": True,
            "timestamps": True,
            "tail": "all" if tail is None else tail,
        }
        if since is not None and since > 0:
            kwargs["since"] = int(since)
        if follow:
            return self.client.api.logs(info.id, stream=True, follow=True, **kwargs)  # type: ignore[no-any-return]
        return _ListStream([self.client.api.logs(info.id, stream=False, follow=False, **kwargs)])


# --------------------------------------------------------------------------- follower


def _split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
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
class _Seen:
    """What was emitted for one container name: the last timestamp and how many lines
    had exactly that timestamp."""

    last_ns: int = -1
    at_last: int = 0


class _Tagger:
    """Turns raw lines of one container into LogLines, skipping what was emitted before."""

    def __init__(
        self,
        zone: str,
        info: ContainerInfo,
        seen: _Seen,
        lock: threading.Lock,
        since_ns: int | None,
        levels: frozenset[str] | None,
    ) -> None:
        labels = info.labels
        self.zone = zone
        self.pod = info.pod
        self.instance = info.instance
        self.clone = int(labels.get(LABEL + "clone", "0") or 0)
        self.container = info.container or info.name
        self.node = labels.get(LABEL + "node", "") or info.name
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
            time=_ns_to_datetime(ns),
            zone=self.zone,
            pod=self.pod,
            instance=self.instance,
            clone=self.clone,
            container=self.container,
            node=self.node,
            level=level,
            text=text,
        )


class _Reader(threading.Thread):
    def __init__(
        self,
        source: LogSource,
        info: ContainerInfo,
        tagger: _Tagger,
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
            for raw in _split_lines(self.stream):
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


def _normalize_levels(levels: Iterable[str] | None) -> frozenset[str] | None:
    if levels is None:
        return None
    out = set()
    for level in levels:
        name = level.strip().upper()
        name = _LEVEL_ALIASES.get(name, name)
        if name in ("", "NONE", "OTHER"):
            name = ""
        elif name not in LEVELS:
            raise UsageError(f"level {level!r}: expected one of {', '.join(LEVELS)}")
        out.add(name)
    return frozenset(out) or None


class _Selection:
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
                    f"zone {zone!r} has no pod {', '.join(map(repr, unknown))} (pods: {', '.join(sorted({i.pod for i in infos}))})"
                )
        if self.containers is not None:
            known = {i.container for i in infos}
            unknown = sorted(self.containers - known)
            if unknown:
                raise UsageError(
                    f"zone {zone!r} has no container {', '.join(map(repr, unknown))} (containers: {', '.join(sorted(known))})"
                )


def _no_zone(zone: str) -> CliError:
    return CliError(f"zone {zone!r} has no containers here: is it deployed? (`autonomy zone list` shows the zones)")


class Follower:
    """Follows the logs of a zone's app containers; iterate it for :class:`LogLine` s.

    Blocking iterator: it ends when ``stop`` is set (within a quarter of a second) or when
    :meth:`close` is called, never on its own: containers that restart, are recreated by a
    redeploy, or appear later are picked up by a poll of the container list every
    ``poll_interval`` seconds. :attr:`dropped` counts lines lost to a slow consumer.
    """

    def __init__(
        self,
        source: LogSource,
        zone: str,
        *,
        pods: Iterable[str] | None = None,
        containers: Iterable[str] | None = None,
        levels: Iterable[str] | None = None,
        since: datetime | None = None,
        tail: int | None = None,
        stop: threading.Event | None = None,
        window: float = 0.2,
        capacity: int = 20_000,
        poll_interval: float = 1.0,
        must_exist: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.zone = zone
        self.select = _Selection(pods, containers)
        self.levels = _normalize_levels(levels)
        self.since_ns = _datetime_to_ns(since) if since is not None else None
        self.tail = tail
        self.stop = stop or threading.Event()
        self.merger = Merger(window=window, capacity=capacity, clock=clock)
        self.poll_interval = poll_interval
        self.must_exist = must_exist
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, _Seen] = {}
        self._readers: dict[str, _Reader] = {}
        self._polls = 0
        self._it = self._run()

    @property
    def dropped(self) -> int:
        return self.merger.dropped

    @property
    def readers(self) -> int:
        """Readers now following a container."""
        return sum(1 for r in self._readers.values() if r.is_alive())

    def __iter__(self) -> Follower:
        return self

    def __next__(self) -> LogLine:
        return next(self._it)

    def close(self) -> None:
        """Stop following: readers are closed, iteration ends."""
        self.stop.set()
        self._close_readers()
        try:
            self._it.close()
        except ValueError:
            pass  # being iterated in another thread: it sees `stop` within 0.25 s

    def _close_readers(self) -> None:
        for r in list(self._readers.values()):
            r.close()

    def start(self) -> Follower:
        """Poll the container list now (the iterator does it at its first ``next()``
        otherwise): a missing zone or an unknown pod is an error at once."""
        if self._polls == 0:
            self.poll()
        return self

    def poll(self) -> None:
        """Start a reader for every selected container that has none and needs one."""
        first = self._polls == 0
        try:
            infos = self.source.list(self.zone)
        except CliError:
            if first:
                raise
            return  # Docker hiccuped: try again at the next poll
        self._polls += 1
        if first and self.must_exist:
            if not infos:
                raise _no_zone(self.zone)
            self.select.check(self.zone, infos)
        present = set()
        for info in infos:
            present.add(info.id)
            if not self.select(info):
                continue
            old = self._readers.get(info.id)
            if old is not None and (old.is_alive() or not info.running):
                continue  # being read, or read to its end and not started again
            with self._lock:
                seen = self._seen.setdefault(info.name, _Seen())
                resume_ns = seen.last_ns if seen.last_ns >= 0 else None
            since_ns = max(x for x in (resume_ns, self.since_ns, 0) if x is not None)
            since = since_ns // 1_000_000_000 if since_ns > 0 else None
            tail = self.tail if first and resume_ns is None else None
            tagger = _Tagger(self.zone, info, seen, self._lock, self.since_ns, self.levels)
            reader = _Reader(self.source, info, tagger, self.merger.put, since, tail)
            self._readers[info.id] = reader
            reader.start()
        for cid in [cid for cid, r in self._readers.items() if cid not in present and not r.is_alive()]:
            del self._readers[cid]

    def _run(self) -> Iterator[LogLine]:
        try:
            self.start()
            next_poll = self._clock() + self.poll_interval
            while not self.stop.is_set():
                timeout = max(0.0, min(next_poll - self._clock(), 0.25))
                for line in self.merger.take(timeout):
                    yield line
                    if self.stop.is_set():
                        return
                if self._clock() >= next_poll:
                    self.poll()
                    next_poll = self._clock() + self.poll_interval
        finally:
            self._close_readers()


def follow(
    zone: str,
    *,
    pods: Iterable[str] | None = None,
    containers: Iterable[str] | None = None,
    levels: Iterable[str] | None = None,
    since: datetime | None = None,
    tail: int | None = None,
    stop: threading.Event | None = None,
    client: Any = None,
    source: LogSource | None = None,
    window: float = 0.2,
    capacity: int = 20_000,
    must_exist: bool = True,
) -> Follower:
    """Follow the logs of every app container of ``zone`` until ``stop`` is set.

    ``tail`` limits the lines read from each container that is there at the start (later
    ones are read whole); ``levels`` may hold "" for lines without a level. Raises
    :class:`~autonomy_cli.errors.CliError` when Docker is not reachable and, when
    ``must_exist``, when the zone has no containers or a pod/container name matches none.
    The error comes at the first ``next()``.
    """
    return Follower(
        source or DockerSource(client),
        zone,
        pods=pods,
        containers=containers,
        levels=levels,
        since=since,
        tail=tail,
        stop=stop,
        window=window,
        capacity=capacity,
        must_exist=must_exist,
    )


def snapshot(
    zone: str,
    *,
    pods: Iterable[str] | None = None,
    containers: Iterable[str] | None = None,
    levels: Iterable[str] | None = None,
    since: datetime | None = None,
    tail: int | None = None,
    client: Any = None,
    source: LogSource | None = None,
) -> list[LogLine]:
    """The logs of the zone's app containers as they are now, interleaved by time."""
    source = source or DockerSource(client)
    infos = source.list(zone)
    if not infos:
        raise _no_zone(zone)
    select = _Selection(pods, containers)
    select.check(zone, infos)
    level_set = _normalize_levels(levels)
    since_ns = _datetime_to_ns(since) if since is not None else None
    lock = threading.Lock()
    keyed: list[tuple[datetime, int, LogLine]] = []
    n = itertools.count()
    for info in infos:
        if not select(info):
            continue
        tagger = _Tagger(zone, info, _Seen(), lock, since_ns, level_set)
        since_s = since_ns // 1_000_000_000 if since_ns else None
        try:
            stream = source.open(info, since=since_s, tail=tail, follow=False)
            for raw in _split_lines(stream):
                line = tagger(raw)
                if line is not None:
                    keyed.append((line.time, next(n), line))
        except CliError:
            raise
        except Exception as e:
            import docker.errors

            if isinstance(e, docker.errors.NotFound):
                continue  # removed meanwhile
            if isinstance(e, docker.errors.DockerException):
                raise EngineError(f"cannot read the logs of {info.name}: {e}") from None
            raise
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [k[2] for k in keyed]
