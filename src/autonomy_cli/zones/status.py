"""``zone status``: per pod instance, its containers' state, node, live workers, last message.

A node's HTTP port 8000 is published only for the public pod, so the nodes are asked from
inside the zone: one short-lived helper container on the zone's network (the base image,
which every deployed zone has) runs ``python -m autonomy.clusters.pod_status``, which
asks ``http://<instance>:8000/health`` and ``/workers`` of every running pod instance at
once and prints one JSON object.

The containers of a pod share one network namespace, so port 8000 of a pod belongs to the
first of its nodes that bound it (``/health`` says which node that is); the pod's other
nodes serve no HTTP. Their live worker count is asked over the zone's encrypted ZeroMQ
with the zone's probe identity, when this machine holds the zone's roster (it deployed
the zone); their last-message time is not known (``None``).

Library code: never prints; raises :class:`~autonomy_cli.errors.EngineError`.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import labels as L
from ..docker.helper import ProbeIdentity
from ..errors import EngineError
from ..layout import ZoneFiles
from .engine import Engine

__all__ = ["InstanceStatus", "NodeStatus", "zone_status"]


@dataclass
class NodeStatus:
    container: str
    state: str  # running, exited, restarting, ...
    status: str  # docker's text
    node: str  # full node name ("" for a container that is not a node)
    restarts: int
    started_at: str
    http: bool = False  # this node holds the pod's port 8000
    workers: int | None = None  # live worker count, None when unknown
    worker_names: list[str] | None = None
    last_message_at: float | None = None  # epoch seconds
    note: str = ""


@dataclass
class InstanceStatus:
    instance: str
    pod: str
    clone: int
    state: str  # the pod's: its infra container's state
    nodes: list[NodeStatus] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for n in d["nodes"]:
            t = n["last_message_at"]
            n["last_message"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t)) if t else None
        return d


def _identity(state_dir: Path | None) -> ProbeIdentity | None:
    """The zone's probe identity, when this machine holds its roster and probe key."""
    if state_dir is None:
        return None
    files = ZoneFiles(state_dir)
    roster, key = files.roster_file, files.probe_key_file
    if not (roster.exists() and key.exists()):
        return None
    try:
        name = json.loads(key.read_text())["name"]
        cluster = json.loads(roster.read_text())["cluster"]
    except (OSError, ValueError, KeyError):
        return None
    return ProbeIdentity(name, cluster, roster, key)


def _ask(engine: Engine, zone: str, instances: dict[str, list[str]], state_dir: Path | None) -> dict[str, Any]:
    identity = _identity(state_dir)
    text = engine.ask_nodes(zone, {"instances": instances, "probe": identity is not None}, identity)
    try:
        answer: dict[str, Any] = json.loads(text)
    except ValueError as e:
        raise EngineError(f"cannot ask the nodes of zone {zone!r}: {e}") from None
    return answer


def zone_status(engine: Engine, zone: str, state_dir: Path | None = None) -> list[InstanceStatus]:
    """The status of every pod instance of ``zone`` (empty when the zone is not there).

    ``state_dir``: the zone's local folder (``settings.zone_dir(zone)``); with its roster
    and probe key, nodes without HTTP are asked for their worker count over ZeroMQ.
    """
    containers = engine.containers(zone)
    instances: dict[str, InstanceStatus] = {}
    for c in sorted(containers, key=lambda c: c.name):
        inst = c.instance
        if not inst:
            continue
        st = instances.setdefault(inst, InstanceStatus(instance=inst, pod=c.pod, clone=c.clone, state="missing"))
        if c.role == L.Role.INFRA:
            st.state = c.state
            continue
        st.nodes.append(
            NodeStatus(
                container=c.container,
                state=c.state,
                status=c.status,
                node=c.node,
                restarts=c.restarts,
                started_at=c.started_at,
            )
        )
    ordered = sorted(instances.values(), key=lambda s: (s.pod, s.clone))
    running = [s.instance for s in ordered if s.state == "running" and any(n.state == "running" for n in s.nodes)]
    if not running:
        return ordered
    answer = _ask(
        engine,
        zone,
        {
            s.instance: [n.node for n in s.nodes if n.state == "running" and n.node]
            for s in ordered
            if s.instance in running
        },
        state_dir,
    )
    for s in ordered:
        got = answer.get("http", {}).get(s.instance)
        holder = None
        if got and "health" in got:
            holder = got["health"].get("node")
        for n in s.nodes:
            if n.state != "running":
                n.note = "not running"
                continue
            if holder and n.node == holder:
                health = got["health"]
                n.http = True
                n.last_message_at = health.get("last_message_at")
                names = [w.get("name", "") for w in (got.get("workers") or {}).get("workers", [])]
                n.worker_names = names if "workers" in got else None
                n.workers = len(names) if "workers" in got else health.get("workers")
                continue
            ping = answer.get("ping", {}).get(n.node)
            if ping is not None:
                n.workers = int(ping.get("workers", 0))
                n.note = f"no HTTP: port 8000 of the pod belongs to {holder}" if holder else "no HTTP"
            elif s.instance in running and got and "error" in got and not holder:
                n.note = "no HTTP answer on port 8000"
            else:
                n.note = "no HTTP (not a node, or port 8000 held by another container of the pod)"
    return ordered
