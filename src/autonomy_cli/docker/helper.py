"""Throwaway containers on a zone's network: the one way the CLI starts them.

The readiness probe, the status helper and the inlet relays are each a small container
from the base image on the zone's network, running a module of the runtime with
``python3 -m``. :func:`run_helper` starts one: labelled ``zone-probe=<zone>`` (so that
``zone delete`` sweeps it), with the zone's probe identity mounted read-only when given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from .. import labels as L
from ..compose import KEY_MOUNT, ROSTER_MOUNT
from ..errors import EngineError
from ..names import BASE_IMAGE, network_name

__all__ = ["ProbeIdentity", "remove_quietly", "run_helper", "run_to_end"]


@dataclass(frozen=True)
class ProbeIdentity:
    """The zone's probe identity: a roster entry every node admits, and its key file."""

    name: str
    cluster: str
    roster_file: Path
    key_file: Path


def run_helper(
    client: docker.DockerClient,
    zone: str,
    module: str,
    args: Sequence[str] = (),
    *,
    what: str,
    memory: str,
    identity: ProbeIdentity | None = None,
    labels: Mapping[str, str] | None = None,
    name: str | None = None,
    ports: Mapping[str, Any] | None = None,
) -> Container:
    """Start ``python3 -m <module> <args>`` detached, on ``zone``'s network.

    ``what`` names the helper in errors. Raises EngineError (the base image is missing,
    the network is gone, ...); a named container left half-created is removed."""
    environment = {"ZONE": zone, "AUTONOMY_HTTP_PORT": "0"}
    volumes: dict[str, dict[str, str]] = {}
    if identity is not None:
        environment.update(
            NODE=identity.name, CLUSTER=identity.cluster, AUTONOMY_ROSTER=ROSTER_MOUNT, AUTONOMY_KEY=KEY_MOUNT
        )
        volumes = {
            str(identity.roster_file): {"bind": ROSTER_MOUNT, "mode": "ro"},
            str(identity.key_file): {"bind": KEY_MOUNT, "mode": "ro"},
        }
    try:
        return client.containers.run(
            BASE_IMAGE,
            ["python3", "-m", module, *args],
            name=name,
            detach=True,
            network=network_name(zone),
            environment=environment,
            volumes=volumes,
            ports=dict(ports or {}),
            labels={L.ZONE_PROBE: zone, **dict(labels or {})},
            mem_limit=memory,
        )
    except docker.errors.ImageNotFound:
        _remove_named(client, name)
        raise EngineError(f"image {BASE_IMAGE} is missing: deploy the zone first") from None
    except docker.errors.DockerException as e:
        _remove_named(client, name)  # created but not started (the network went meanwhile)
        raise EngineError(f"cannot start {what}: {e}") from None


def _remove_named(client: docker.DockerClient, name: str | None) -> None:
    if name is None:
        return
    try:
        remove_quietly(client.containers.get(name))
    except docker.errors.DockerException:
        pass


def remove_quietly(container: Container | None) -> None:
    """Remove a helper container (best effort: it may be gone already)."""
    if container is None:
        return
    try:
        container.remove(force=True)
    except docker.errors.DockerException:
        pass


def run_to_end(container: Container, *, what: str, timeout: float = 60) -> str:
    """Wait for a helper to end; its stdout. EngineError (its stderr) when it failed.
    The container is removed in every case."""
    try:
        result = container.wait(timeout=timeout)
        text: str = container.logs(stdout=True, stderr=False).decode(errors="replace").strip()
        if result.get("StatusCode") != 0 or not text:
            err = container.logs(stdout=False, stderr=True).decode(errors="replace").strip()
            raise EngineError(f"{what} failed:\n{err[-2000:]}")
        return text
    except (docker.errors.DockerException, ValueError) as e:
        raise EngineError(f"{what} failed: {e}") from None
    finally:
        remove_quietly(container)
