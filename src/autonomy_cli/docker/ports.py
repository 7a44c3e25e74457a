"""Host ports: is one free on 127.0.0.1, who holds it, which one to use."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path

import docker
import docker.errors

from .. import labels as L
from ..errors import PreflightError

__all__ = ["free_port_from", "pick_public_port", "port_free", "port_holder"]

#: how many ports from a starting one are tried
SPAN = 200


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
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


def free_port_from(start: int) -> int:
    """The first free port from ``start``."""
    for port in range(start, min(start + SPAN, 65536)):
        if port_free(port):
            return port
    raise PreflightError([f"no free port in 127.0.0.1:{start}..{start + SPAN - 1}"])
