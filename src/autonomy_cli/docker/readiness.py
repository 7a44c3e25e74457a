"""Readiness: is every node of a zone up? An encrypted ping from the zone's probe identity.

``zone deploy`` waits until every node it started answers a CurveZMQ ping sent with the
zone's *probe* key (a roster entry every node admits, see :mod:`autonomy.probe`). Two
ways to send it, one interface (:class:`Probe`):

* :class:`HostProbe` (default where it works): the pings leave from this process. It
  needs the host to reach the zone's bridge network, which holds when the network's
  gateway address belongs to this host (Docker Engine on Linux; not Docker Desktop, not
  rootless Docker, not a remote engine): :func:`host_reaches`. Each node is pinged at
  its pod's address as soon as its app container runs, while Compose still starts the
  others; no container is started for the probe.
* :class:`ContainerProbe`: a short-lived container on the zone's network runs
  ``python -m autonomy.probe``; its verdict is read from its log stream.

A node whose app container was already running before this deploy is pinged only once
Compose has returned: an old container must not answer for its successor.

Library code: raises :class:`~autonomy_cli.errors.EngineError`; never prints. The probes
get the Docker client, not the engine: the engine starts them.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

import docker
import docker.errors
from docker.models.containers import Container

from .. import labels as L
from ..errors import EngineError
from ..names import network_name
from ..plan import ZonePlan
from ..sizes import HELPER_MEMORY
from .helper import ProbeIdentity, remove_quietly, run_helper

if TYPE_CHECKING:
    import asyncio

__all__ = ["ContainerProbe", "HostProbe", "Probe", "host_reaches", "identity"]


def identity(plan: ZonePlan) -> ProbeIdentity:
    """The zone's probe identity, as the plan places its files."""
    return ProbeIdentity(plan.probe_name, plan.cluster, plan.roster_file, plan.probe_key_file)


class Probe(Protocol):
    """A readiness probe under way."""

    #: "host" or "container"
    way: str

    def poll(self, compose_done: bool) -> dict[str, Any] | None:
        """The verdict (``{"answered": {...}, "silent": [...]}``) once there is one, else None.

        Called often (every 50-100 ms) while Compose runs and after; ``compose_done`` says
        whether Compose has returned. Raises EngineError when the probe itself failed.
        """
        ...

    def close(self) -> None:
        """Stop the probe and remove what it started (safe to call twice)."""
        ...


def host_reaches(client: docker.DockerClient, network: str) -> bool:
    """True when this host routes to the containers of ``network`` directly: the network's
    gateway address is one of this host's own (a bind to it succeeds)."""
    try:
        attrs = client.api.inspect_network(network)
    except docker.errors.DockerException:
        return False
    for config in (attrs.get("IPAM") or {}).get("Config") or []:
        gateway = str(config.get("Gateway") or "")
        try:
            if not gateway or ipaddress.ip_address(gateway).version != 4:
                continue
        except ValueError:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((gateway, 0))
            except OSError:
                return False
            return True
    return False


class _Capture(logging.Handler):
    """Keeps the runtime's warnings of a host probe (shown only if the probe fails)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) < 50:
            self.lines.append(record.getMessage())


class HostProbe:
    """Pings from this process; the engine's view of the zone tells each node's address."""

    way = "host"

    def __init__(
        self,
        client: docker.DockerClient,
        plan: ZonePlan,
        nodes: Iterable[str],
        timeout: float,
        old_apps: Iterable[str],
    ) -> None:
        from autonomy.probe import probe_settings

        self._client = client
        self._zone = plan.zone
        self._network = network_name(plan.zone)
        self._old_apps = set(old_apps)
        self._ports = {n.name: n.port for n in plan.nodes()}
        self._nodes = list(nodes)
        self.endpoints: dict[str, str] = {}
        self._refreshed = 0.0
        self._result: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._closed = False
        self._capture = _Capture()
        self._settings = probe_settings(
            plan.probe_name, plan.cluster, plan.zone, str(plan.roster_file), str(plan.probe_key_file)
        )
        self._timeout = timeout
        self._thread = threading.Thread(target=self._run, name=f"probe {plan.zone}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import asyncio  # here, in the probe's thread, while Compose starts the zone

        from autonomy.probe import ping_all

        log = logging.getLogger("autonomy")
        log.addHandler(self._capture)
        propagate, log.propagate = log.propagate, False  # the runtime's log is not the CLI's output
        try:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._task = loop.create_task(
                ping_all(self._settings, self._nodes, self._timeout, endpoints=self.endpoints)
            )
            if self._closed:
                self._task.cancel()
            self._result = loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as e:  # reported by poll()
            self._error = e
        finally:
            log.removeHandler(self._capture)
            log.propagate = propagate
            if self._loop is not None:
                self._loop.close()

    def _refresh(self, compose_done: bool) -> None:
        """Publish the address of each node whose app container runs (see module doc)."""
        try:
            running = self._client.api.containers(filters={"label": L.zone_filter(self._zone)})
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot list containers: {e}") from None
        ips: dict[str, str] = {}
        apps: list[tuple[str, str, str]] = []  # (id, node, infra instance)
        for c in running:
            labels = L.ContainerLabels.read(c.get("Labels"))
            if labels.role == L.Role.INFRA:
                net = ((c.get("NetworkSettings") or {}).get("Networks") or {}).get(self._network) or {}
                if net.get("IPAddress"):
                    ips[labels.instance] = net["IPAddress"]
            elif labels.node in self._ports:
                apps.append((c["Id"], labels.node, labels.infra))
        for cid, node, infra in apps:
            if node in self.endpoints or infra not in ips:
                continue
            if compose_done or cid not in self._old_apps:
                self.endpoints[node] = f"tcp://{ips[infra]}:{self._ports[node]}"

    def poll(self, compose_done: bool) -> dict[str, Any] | None:
        if not self._thread.is_alive():
            if self._result is not None:
                return self._result
            detail = "\n".join(self._capture.lines[-20:])
            raise EngineError(f"the readiness probe failed: {self._error!r}" + (f"\n{detail}" if detail else ""))
        now = time.monotonic()
        if len(self.endpoints) < len(self._nodes) and now - self._refreshed >= 0.1:
            self._refreshed = now
            self._refresh(compose_done)
        return None

    def close(self) -> None:
        self._closed = True
        loop, task = self._loop, self._task
        if self._thread.is_alive() and loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed meanwhile
                pass
            self._thread.join(5)


class ContainerProbe:
    """``python -m autonomy.probe`` in a container on the zone's network."""

    way = "container"

    def __init__(self, client: docker.DockerClient, plan: ZonePlan, nodes: Iterable[str], timeout: float) -> None:
        self._container: Container | None = run_helper(
            client,
            plan.zone,
            "autonomy.probe",
            ["--wait", str(timeout), "--names", ",".join(nodes)],
            what="the readiness probe",
            memory=HELPER_MEMORY,
            identity=identity(plan),
            labels={L.CLUSTER: plan.cluster},
        )
        self._verdict: list[dict[str, Any]] = []
        self._ended = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Follow the probe's stdout until it prints its JSON verdict (or ends without one)."""
        buf = b""
        try:
            assert self._container is not None
            for chunk in self._container.logs(stream=True, follow=True, stdout=True, stderr=False):
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    try:
                        data = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(data, dict) and "answered" in data and "silent" in data:
                        self._verdict.append(data)
                        return
        except docker.errors.DockerException:
            pass
        finally:
            self._ended.set()

    def poll(self, compose_done: bool) -> dict[str, Any] | None:
        if not self._ended.is_set():
            return None
        if self._verdict:
            return self._verdict[0]
        lines: list[str] = []
        if self._container is not None:
            try:
                lines = self._container.logs(tail=20).decode(errors="replace").rstrip().splitlines()
            except docker.errors.DockerException:
                pass
        raise EngineError("the readiness probe failed:\n" + "\n".join(lines))

    def close(self) -> None:
        remove_quietly(self._container)
        self._container = None
