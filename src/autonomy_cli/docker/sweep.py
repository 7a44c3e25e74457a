"""Zones as Docker records them: listed, counted and removed by their labels.

Docker is the record of what is deployed: every object of a zone carries
``computer.autonomy.zone=<zone>`` (:mod:`autonomy_cli.labels`), so listing and deleting
read those, not local files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors

from .. import labels as L
from ..errors import EngineError
from ..layout import ZoneFiles
from .compose_cli import run_compose
from .containers import view

__all__ = ["ZoneSummary", "count", "delete", "dev_owners", "list_zones", "remove_images", "remove_probes"]


@dataclass(frozen=True)
class ZoneSummary:
    zone: str
    cluster: str
    instances: int
    containers: int
    running: int
    urls: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "cluster": self.cluster,
            "pods": self.instances,
            "containers": self.containers,
            "running": self.running,
            "urls": list(self.urls),
        }


def list_zones(client: docker.DockerClient) -> list[ZoneSummary]:
    try:
        found = client.containers.list(all=True, filters={"label": L.ZONE})
    except docker.errors.DockerException as e:
        raise EngineError(f"cannot list containers: {e}") from None
    zones: dict[str, list[Any]] = {}
    for c in found:
        v = view(c)
        zones.setdefault(v.labels.zone, []).append(v)
    out = []
    for zone, views in sorted(zones.items()):
        urls = sorted({f"http://{p.split('->')[0]}" for s in views for p in s.ports if p.endswith("->8000/tcp")})
        apps = [s for s in views if s.role == L.Role.APP]
        out.append(
            ZoneSummary(
                zone=zone,
                cluster=views[0].labels.cluster,
                instances=len({s.instance for s in views if s.instance}),  # the gateway is in no pod
                containers=len(apps),
                running=sum(1 for s in apps if s.state == "running"),
                urls=tuple(urls),
            )
        )
    return out


def count(client: docker.DockerClient, zone: str, *, images: bool = False) -> dict[str, int]:
    """The zone's containers, networks, volumes (and images), counted by their labels."""
    f = {"label": L.zone_filter(zone)}
    try:
        found = {
            "containers": len(client.containers.list(all=True, filters=f)),
            "networks": len(client.networks.list(filters=f)),
            "volumes": len(client.volumes.list(filters=f)),
        }
        if images:
            found["images"] = len(client.images.list(filters=f))
    except docker.errors.DockerException as e:
        raise EngineError(f"cannot list zone {zone!r}: {e}") from None
    return found


def dev_owners(client: docker.DockerClient, zone: str) -> set[str]:
    """The ``dev`` label values on the zone's containers and network ("" where none)."""
    f = {"label": L.zone_filter(zone)}
    try:
        containers = client.containers.list(all=True, filters=f)
        networks = client.networks.list(filters=f)
    except docker.errors.DockerException as e:
        raise EngineError(f"cannot list zone {zone!r}: {e}") from None
    return {L.ContainerLabels.read(c.labels).dev for c in containers} | {
        L.ContainerLabels.read(n.attrs.get("Labels")).dev for n in networks
    }


def delete(client: docker.DockerClient, zone: str, state_dir: Path) -> dict[str, int]:
    """Remove every container, network and volume of the zone, and its local files.

    Idempotent: deleting a zone that is not there removes nothing and is no error.
    """
    f = {"label": L.zone_filter(zone)}
    removed = count(client, zone)
    compose_file = ZoneFiles(state_dir).compose_file
    if compose_file.exists() and removed["containers"]:
        try:
            run_compose(zone, compose_file, "down", "--volumes", "--remove-orphans", "--timeout", "10")
        except EngineError:
            pass  # the label sweep below removes what compose could not
    try:  # what compose could not remove (or a zone without its compose file)
        for c in client.containers.list(all=True, filters=f):
            c.remove(force=True, v=True)
        for c in client.containers.list(all=True, filters={"label": L.probe_filter(zone)}):
            c.remove(force=True)
        for n in client.networks.list(filters=f):
            n.remove()
        for v in client.volumes.list(filters=f):
            v.remove(force=True)
    except docker.errors.DockerException as e:
        raise EngineError(f"cannot remove zone {zone!r}: {e}") from None
    if state_dir.exists():
        shutil.rmtree(state_dir)
    return removed


def remove_probes(client: docker.DockerClient, zone: str) -> None:
    """Remove the zone's readiness probes (left by an interrupted deploy), not its inlets."""
    try:
        for c in client.containers.list(all=True, filters={"label": L.probe_filter(zone)}):
            if L.ContainerLabels.read(c.labels).role != L.Role.INLET:
                c.remove(force=True)
    except docker.errors.DockerException:
        pass


def remove_images(client: docker.DockerClient, zone: str) -> int:
    """Remove the images built for a zone (the base image stays)."""
    n = 0
    for img in client.images.list(filters={"label": L.zone_filter(zone)}):
        try:
            client.images.remove(img.id, force=True)
            n += 1
        except docker.errors.DockerException:
            pass
    return n
