"""The relay container of an inlet: ``python3 -m autonomy.clusters.relay <instance> <port>``
on a zone's network, its one port published on 127.0.0.1 of this machine.

It carries ``zone-probe=<zone>`` and ``role=inlet``: ``zone delete`` sweeps it with the
zone's probes, and a deploy leaves it alone.
"""

from __future__ import annotations

import threading
import time

import docker
import docker.errors
from docker.models.containers import Container

from autonomy.clusters.relay import LISTEN_PORT, READY

from .. import labels as L
from ..errors import EngineError, PreflightError
from ..names import network_name, relay_name
from ..sizes import RELAY_MEMORY
from .helper import remove_quietly, run_helper
from .ports import port_free, port_holder

__all__ = ["Relay", "network_exists", "remove_relay", "target_running"]


def network_exists(client: docker.DockerClient, zone: str) -> bool:
    try:
        return bool(client.networks.list(names=[network_name(zone)]))
    except docker.errors.DockerException:
        return False


def target_running(client: docker.DockerClient, zone: str, instance: str) -> bool:
    """The zone's network is there and so is the target pod, running (not being deleted)."""
    if not network_exists(client, zone):
        return False
    try:
        found = client.containers.list(
            filters={"label": [L.zone_filter(zone), f"{L.INSTANCE}={instance}", f"{L.ROLE}={L.Role.INFRA.value}"]}
        )
    except docker.errors.DockerException:
        return False
    return any(c.status == "running" for c in found)


def remove_relay(client: docker.DockerClient, zone: str, local_port: int) -> None:
    """Remove the relay of ``127.0.0.1:<local_port>`` if there is one (only an inlet's)."""
    try:
        c = client.containers.get(relay_name(zone, local_port))
        if L.ContainerLabels.read(c.labels).role == L.Role.INLET:
            c.remove(force=True)
    except docker.errors.DockerException:
        pass


class Relay:
    """A running relay container: started, then :meth:`wait_ready`, :meth:`alive`, :meth:`remove`."""

    def __init__(self, client: docker.DockerClient, zone: str, instance: str, port: int, local_port: int) -> None:
        name = relay_name(zone, local_port)
        try:
            old = client.containers.get(name)
        except docker.errors.NotFound:
            pass
        else:
            if L.ContainerLabels.read(old.labels).role == L.Role.INLET and old.status != "running":
                old.remove(force=True)  # left by an inlet that was killed
        if not port_free(local_port):
            raise PreflightError([f"port 127.0.0.1:{local_port} is held by {port_holder(local_port, client)}"])
        self._container: Container | None = run_helper(
            client,
            zone,
            "autonomy.clusters.relay",
            [instance, str(port)],
            what=f"the inlet relay for {instance}:{port}",
            memory=RELAY_MEMORY,
            labels={L.ROLE: L.Role.INLET.value, L.INLET: f"127.0.0.1:{local_port}->{instance}:{port}"},
            name=name,
            ports={f"{LISTEN_PORT}/tcp": ("127.0.0.1", local_port)},
        )

    def wait_ready(self, stop: threading.Event, timeout: float = 30) -> None:
        """Until the relay accepts connections; EngineError when it stopped or never did."""
        container = self._container
        assert container is not None
        deadline = time.monotonic() + timeout
        try:
            while not stop.is_set():
                container.reload()
                if container.status in ("exited", "dead"):
                    logs = container.logs().decode(errors="replace").strip()
                    raise EngineError(f"the inlet relay stopped at once:\n{logs[-1000:]}")
                if READY in container.logs().decode(errors="replace"):
                    return
                if time.monotonic() > deadline:
                    raise EngineError("the inlet relay did not start")
                time.sleep(0.1)
        except docker.errors.DockerException as e:
            raise EngineError(f"the inlet relay went away: {e}") from None

    def alive(self) -> bool | None:
        """True while running, False once gone or stopped, None when Docker did not say."""
        if self._container is None:
            return False
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return False
        except docker.errors.DockerException:
            return None
        return bool(self._container.status == "running")

    def remove(self) -> None:
        remove_quietly(self._container)
        self._container = None
