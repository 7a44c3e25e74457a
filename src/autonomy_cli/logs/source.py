"""Where a zone's containers and their log bytes come from: the :class:`LogSource`
protocol (autonomy_cli.docker.logsource in real use, fakes in tests)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .. import labels as L

__all__ = ["ContainerInfo", "ListStream", "LogSource", "LogStream"]


@dataclass(frozen=True)
class ContainerInfo:
    """One app container of a zone, as the container list shows it."""

    id: str
    name: str
    running: bool
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def read(self) -> L.ContainerLabels:
        return L.ContainerLabels.read(self.labels)

    @property
    def pod(self) -> str:
        return self.read.pod

    @property
    def instance(self) -> str:
        return self.read.instance or self.pod

    @property
    def container(self) -> str:
        return self.read.container

    @property
    def clone(self) -> int:
        return self.read.clone

    @property
    def node(self) -> str:
        return self.read.node


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


class ListStream:
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        pass
