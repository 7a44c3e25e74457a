"""Host ports: is one free on 127.0.0.1 (or another of the host's addresses), who holds
it, which one to use; and the default bridge network's gateway address, where the zone's
model gateway listens; waiting for a service on the host to answer HTTP."""

from __future__ import annotations

import ipaddress
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import docker
import docker.errors

from .. import labels as L
from ..errors import EngineError, PreflightError

__all__ = ["answers_http", "bridge_gateway", "free_port_from", "pick_public_port", "port_free", "port_holder"]

#: how many ports from a starting one are tried
SPAN = 200


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listener could bind ``host:port`` now, as Docker's port proxy would.

    ``SO_REUSEADDR`` as every server sets it: connections of a server that just went
    (TIME_WAIT, up to a minute) do not hold the port, only a listener does."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    return inodes


def port_holder(port: int, client: docker.DockerClient | None = None) -> str:
    """Who holds 127.0.0.1:<port>: a container of ours or another's, or a process."""
    if client is not None:
        try:
            for c in client.containers.list():
                for bindings in (c.attrs.get("NetworkSettings", {}).get("Ports") or {}).values():
                    for b in bindings or []:
                        if b.get("HostPort") == str(port):
                            zone = L.ContainerLabels.read(c.labels).zone
                            return f"container {c.name}" + (f" of zone {zone!r}" if zone else "")
        except docker.errors.DockerException:
            pass
    inodes = _listening_inodes(port)
    if inodes:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        comm = Path(f"/proc/{pid}/comm").read_text().strip()
                        return f"process {comm} (pid {pid})"
            except OSError:
                continue
    return "another program"


def pick_public_port(start: int, zone: str, client: docker.DockerClient | None, avoid: Iterable[int] = ()) -> int:
    """The first port from ``start`` that is free, or already this zone's own."""
    avoid = set(avoid)
    for port in range(start, min(start + SPAN, 65536)):
        if port in avoid:
            continue
        if port_free(port):
            return port
        if client is not None and f"of zone {zone!r}" in port_holder(port, client):
            return port
    raise PreflightError([f"no free port for the zone's HTTP endpoint in {start}..{start + SPAN - 1}"])


def free_port_from(start: int, host: str = "127.0.0.1", avoid: Iterable[int] = ()) -> int:
    """The first free port from ``start`` on ``host`` (not one of ``avoid``)."""
    avoid = set(avoid)
    for port in range(start, min(start + SPAN, 65536)):
        if port not in avoid and port_free(port, host):
            return port
    raise PreflightError([f"no free port in {host}:{start}..{start + SPAN - 1}"])


def bridge_gateway(client: docker.DockerClient) -> str:
    """The address of Docker's default bridge network on this host (``172.17.0.1``): what
    ``host-gateway`` means in a container's ``extra_hosts``. The engine's IPAM config
    names it, or (an engine that names only the subnet) it is the subnet's first address."""
    try:
        configs = (client.api.inspect_network("bridge").get("IPAM") or {}).get("Config") or []
    except docker.errors.DockerException as e:
        raise EngineError(f"cannot inspect Docker's default bridge network: {e}") from None
    for config in configs:  # IPv4 only: ``host-gateway`` (what the apps resolve) is the IPv4 one
        try:
            gateway = ipaddress.ip_address(config.get("Gateway") or "")
        except ValueError:
            continue
        if gateway.version == 4:
            return str(gateway)
    for config in configs:
        try:
            net = ipaddress.ip_network(config.get("Subnet") or "", strict=False)
        except ValueError:
            continue
        if net.version == 4:
            return str(next(net.hosts()))
    raise EngineError("Docker's default bridge network has no IPv4 gateway address (is it disabled?)")


def answers_http(url: str, timeout: float, *, interval: float = 0.2) -> bool:
    """True once a GET of ``url`` answers 200, polling for up to ``timeout`` seconds; False
    when it never did. Only for addresses of this host (no proxy is used)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=2) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
