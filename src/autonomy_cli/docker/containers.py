"""A container as the CLI reads it: :class:`ContainerView`, from the SDK or the raw API.

Every module that looks at a zone's containers gets these (labels read once, through
:class:`~autonomy_cli.labels.ContainerLabels`), never the SDK's objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from docker.models.containers import Container

from ..labels import ContainerLabels

__all__ = ["ContainerView", "view"]


@dataclass(frozen=True)
class ContainerView:
    """One container: its name, state and labels, and the ports it publishes."""

    id: str
    name: str
    status: str  # docker's short state: running, exited, restarting, ...
    labels: ContainerLabels
    state: str = ""  # State.Status ("" when not inspected)
    started_at: str = ""
    exit_code: int = 0
    restarts: int = 0
    restarting: bool = False
    #: container port -> host port, as asked (HostConfig.PortBindings)
    published: Mapping[int, int] = field(default_factory=dict)
    #: "<host ip>:<host port>-><port>/<proto>", as bound now (NetworkSettings.Ports)
    ports: tuple[str, ...] = ()

    # the labels most readers want, by name
    @property
    def pod(self) -> str:
        return self.labels.pod

    @property
    def instance(self) -> str:
        return self.labels.instance

    @property
    def clone(self) -> int:
        return self.labels.clone

    @property
    def container(self) -> str:
        return self.labels.container

    @property
    def role(self) -> str:
        return self.labels.role

    @property
    def node(self) -> str:
        return self.labels.node

    @property
    def running(self) -> bool:
        return self.status == "running"


def _published(attrs: Mapping[str, Any]) -> dict[int, int]:
    found: dict[int, int] = {}
    for cport, bindings in ((attrs.get("HostConfig") or {}).get("PortBindings") or {}).items():
        for b in bindings or []:
            if str(b.get("HostPort", "")).isdigit():
                found.setdefault(int(str(cport).split("/")[0]), int(b["HostPort"]))
    return found


def view(c: Container) -> ContainerView:
    """The view of an SDK container (its ``attrs`` as listed)."""
    attrs = c.attrs
    state = attrs.get("State") or {}
    ports = []
    for cport, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
        for b in bindings or []:
            ports.append(f"{b.get('HostIp')}:{b.get('HostPort')}->{cport}")
    status = str(c.status)
    return ContainerView(
        id=str(c.id),
        name=str(c.name),
        status=status,
        labels=ContainerLabels.read(c.labels),
        state=str(state.get("Status", status)),
        started_at=str(state.get("StartedAt", "")),
        exit_code=int(state.get("ExitCode", 0) or 0),
        restarts=int(attrs.get("RestartCount", 0) or 0),
        restarting=bool(state.get("Restarting")),
        published=_published(attrs),
        ports=tuple(sorted(ports)),
    )
