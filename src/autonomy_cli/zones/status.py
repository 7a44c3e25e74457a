"""``zone status``: per pod instance, its containers' state, node, live workers, last
message, and the node's agents with their figures.

A node's HTTP port 8000 is published only for the public pod, so the nodes are asked from
inside the zone: one short-lived helper container on the zone's network (the base image,
which every deployed zone has) runs ``python -m autonomy.clusters.pod_status``, which
asks ``http://<instance>:8000/health``, ``/workers`` and ``/agents`` of every running pod
instance at once and prints one JSON object. A node whose image predates ``/agents``
answers 404 there: its agents are then unknown (``None``, with a note), the rest is shown.

The containers of a pod share one network namespace, so port 8000 of a pod belongs to the
first of its nodes that bound it (``/health`` says which node that is); the pod's other
nodes serve no HTTP. Their live worker count is asked over the zone's encrypted ZeroMQ
with the zone's probe identity, when this machine holds the zone's roster (it deployed
the zone); their last-message time and their agents are not known (``None``).

The zone's own containers, in no pod (the model gateway and the offline model), are
listed last as the pseudo-pod :data:`ZONE_POD` (instance ``""``), of kind ``gateway`` or
``model``; they are services, so no node is asked about them.

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
from .agents import AgentStatus, parse_agents
from .engine import Engine

__all__ = ["ZONE_POD", "ZONE_SERVICES", "AgentStatus", "InstanceStatus", "NodeStatus", "agents_by_pod", "zone_status"]

#: the pod column of the zone's own containers (never a pod name: those have no parentheses)
ZONE_POD = "(zone)"
#: role -> what tables say of it
ZONE_SERVICES = {L.Role.GATEWAY.value: "service: model gateway", L.Role.MODEL.value: "service: offline model"}


@dataclass
class NodeStatus:
    container: str
    state: str  # running, exited, restarting, ...
    status: str  # docker's text
    node: str  # full node name ("" for a service: a container that is not a node)
    restarts: int
    started_at: str
    kind: str = "node"  # "node" or "service" (autonomy_cli.docker.kinds)
    http: bool = False  # this node holds the pod's port 8000
    workers: int | None = None  # live worker count, None when unknown
    worker_names: list[str] | None = None
    last_message_at: float | None = None  # epoch seconds
    note: str = ""
    agents: list[AgentStatus] | None = None  # the node's agents, None when unknown
    agents_note: str = ""  # why they are unknown, for a node that serves HTTP


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


def _agents(n: NodeStatus, got: dict[str, Any]) -> None:
    """The agents of the node ``n`` that holds its pod's HTTP port, from its pod's answer."""
    if "agents" in got:
        n.agents = parse_agents(got["agents"])
    elif "agents_error" in got:
        why = str(got["agents_error"])
        n.agents_note = (
            "agents not known: the node serves no /agents (an image older than the CLI: redeploy)"
            if why == "HTTP 404"
            else f"agents not known: {why}"
        )
    elif "workers" in got:  # a status helper older than /agents (the zone's image)
        n.agents_note = "agents not known: the zone's image predates agent figures (redeploy)"


def zone_status(engine: Engine, zone: str, state_dir: Path | None = None) -> list[InstanceStatus]:
    """The status of every pod instance of ``zone`` (empty when the zone is not there).

    ``state_dir``: the zone's local folder (``settings.zone_dir(zone)``); with its roster
    and probe key, nodes without HTTP are asked for their worker count over ZeroMQ.
    """
    containers = engine.containers(zone)
    instances: dict[str, InstanceStatus] = {}
    own = InstanceStatus(instance="", pod=ZONE_POD, clone=0, state="running")
    for c in sorted(containers, key=lambda c: c.name):
        if c.role in ZONE_SERVICES:
            own.nodes.append(
                NodeStatus(c.container, c.state, c.status, "", c.restarts, c.started_at, kind=c.role, note="")
            )
            continue
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
                kind="node" if c.node else "service",
            )
        )
    ordered = sorted(instances.values(), key=lambda s: (s.pod, s.clone))
    running = [s.instance for s in ordered if s.state == "running" and any(n.state == "running" for n in s.nodes)]
    tail = [own] if own.nodes else []
    if not running:
        return ordered + tail
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
            if n.kind == "service":
                continue  # not a node: it has no workers to ask about
            if holder and n.node == holder:
                health = got["health"]
                n.http = True
                n.last_message_at = health.get("last_message_at")
                names = [w.get("name", "") for w in (got.get("workers") or {}).get("workers", [])]
                n.worker_names = names if "workers" in got else None
                n.workers = len(names) if "workers" in got else health.get("workers")
                _agents(n, got)
                continue
            ping = answer.get("ping", {}).get(n.node)
            if ping is not None:
                n.workers = int(ping.get("workers", 0))
                n.note = f"no HTTP: port 8000 of the pod belongs to {holder}" if holder else "no HTTP"
            elif s.instance in running and got and "error" in got and not holder:
                n.note = "no HTTP answer on port 8000"
            else:
                n.note = "no HTTP (not a node, or port 8000 held by another container of the pod)"
    return ordered + tail


def agents_by_pod(found: list[InstanceStatus]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``{pod instance: {container: [agent, ...]}}`` of the nodes whose agents are known
    (what the logs server's ``GET /agents`` answers)."""
    by_pod: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for s in found:
        for n in s.nodes:
            if n.agents is not None:
                by_pod.setdefault(s.instance, {})[n.container] = [asdict(a) for a in n.agents]
    return by_pod
