"""Following a zone's logs: one reader per container, tagged lines merged by time,
across restarts, recreations and containers that appear later; and :func:`snapshot`.

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

Docker is reached only through a :class:`~.source.LogSource`
(:class:`~autonomy_cli.docker.logsource.DockerSource` in real use), so the follower, the
merger and the parsing are tested with fake sources, without Docker.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Generator, Iterable
from datetime import datetime

from ..errors import CliError, ZoneNotFound
from .lines import LogLine, datetime_to_ns
from .merge import Merger
from .reader import Reader, Seen, Selection, Tagger, normalize_levels, split_lines
from .source import LogSource

__all__ = ["Follower", "follow", "snapshot"]


def _docker_source() -> LogSource:
    """The local Docker engine's logs (EngineError when it is not reachable)."""
    from ..docker.client import connect
    from ..docker.logsource import DockerSource

    return DockerSource(connect())


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
        self.select = Selection(pods, containers)
        self.levels = normalize_levels(levels)
        self.since_ns = datetime_to_ns(since) if since is not None else None
        self.tail = tail
        self.stop = stop or threading.Event()
        self.merger = Merger(window=window, capacity=capacity, clock=clock)
        self.poll_interval = poll_interval
        self.must_exist = must_exist
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, Seen] = {}
        self._readers: dict[str, Reader] = {}
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
                raise ZoneNotFound(self.zone)
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
                seen = self._seen.setdefault(info.name, Seen())
                resume_ns = seen.last_ns if seen.last_ns >= 0 else None
            since_ns = max(x for x in (resume_ns, self.since_ns, 0) if x is not None)
            since = since_ns // 1_000_000_000 if since_ns > 0 else None
            tail = self.tail if first and resume_ns is None else None
            tagger = Tagger(self.zone, info, seen, self._lock, self.since_ns, self.levels)
            reader = Reader(self.source, info, tagger, self.merger.put, since, tail)
            self._readers[info.id] = reader
            reader.start()
        for cid in [cid for cid, r in self._readers.items() if cid not in present and not r.is_alive()]:
            del self._readers[cid]

    def _run(self) -> Generator[LogLine, None, None]:
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
        source or _docker_source(),
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
    source: LogSource | None = None,
) -> list[LogLine]:
    """The logs of the zone's app containers as they are now, interleaved by time."""
    source = source or _docker_source()
    infos = source.list(zone)
    if not infos:
        raise ZoneNotFound(zone)
    select = Selection(pods, containers)
    select.check(zone, infos)
    level_set = normalize_levels(levels)
    since_ns = datetime_to_ns(since) if since is not None else None
    lock = threading.Lock()
    keyed: list[tuple[datetime, int, LogLine]] = []
    n = itertools.count()
    for info in infos:
        if not select(info):
            continue
        tagger = Tagger(zone, info, Seen(), lock, since_ns, level_set)
        since_s = since_ns // 1_000_000_000 if since_ns else None
        try:
            stream = source.open(info, since=since_s, tail=tail, follow=False)
            for raw in split_lines(stream):
                line = tagger(raw)
                if line is not None:
                    keyed.append((line.time, next(n), line))
        except CliError:
            raise
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [k[2] for k in keyed]
