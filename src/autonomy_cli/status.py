"""``zone status``: per pod instance, its containers' state, node, live workers, last message.

A node's HTTP port 8000 is published only for the public pod, so the nodes are asked from
inside the zone: one short-lived helper container on the zone's network (the base image,
which every deployed zone has) asks ``http://<instance>:8000/health`` and ``/workers`` of
every running pod instance at once and prints one JSON object.

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

import docker.errors

from . import compose as compose_mod
from .engine import LABEL, Engine
from .errors import EngineError

__all__ = ["NodeStatus", "InstanceStatus", "zone_status", "HELPER_SCRIPT"]

# Runs inside the helper container: argv[1] is JSON
# {"instances": {instance: [node names of its running containers]}, "probe": bool}.
HELPER_SCRIPT = r"""
import json, subprocess, sys, threading, urllib.request
req = json.loads(sys.argv[1])
out = {"http": {}, "ping": {}}
def ask(inst):
    r = {}
    for path in ("health", "workers"):
        try:
            with urllib.request.urlopen(f"http://{inst}:8000/{path}", timeout=2) as f:
                r[path] = json.loads(f.read())
        except Exception as e:
            r["error"] = f"{type(e).__name__}: {e}"
            break
    out["http"][inst] = r
ts = [threading.Thread(target=ask, args=(i,)) for i in req["instances"]]
for t in ts: t.start()
for t in ts: t.join()
# nodes that do not hold their pod's HTTP port: ask over ZeroMQ (after HTTP, so that the
# ping does not count as a message of the node whose last-message time is shown)
holders = {r.get("health", {}).get("node") for r in out["http"].values()}
rest = [n for names in req["instances"].values() for n in names if n not in holders]
if req["probe"] and rest:
    p = subprocess.run([sys.executable, "-m", "autonomy.probe", "--wait", "2", "--names", ",".join(rest)],
                       capture_output=True, text=True, timeout=20)
    try:
        out["ping"] = json.loads(p.stdout.strip().splitlines()[-1])["answered"]
    except Exception:
        pass
print(json.dumps(out), flush=True)
"""


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


def _ask(engine: Engine, zone: str, instances: dict[str, list[str]], state_dir: Path | None) -> dict[str, Any]:
    client = engine.client
    env = {"AUTONOMY_HTTP_PORT": "0", "ZONE": zone}
    volumes: dict[str, dict[str, str]] = {}
    roster = state_dir / "roster.json" if state_dir else None
    key = state_dir / "keys" / "probe.key" if state_dir else None
    probe = False
    if roster and key and roster.exists() and key.exists():
        try:
            name = json.loads(key.read_text())["name"]
            cluster = json.loads(roster.read_text())["cluster"]
        except (OSError, ValueError, KeyError):
            pass
        else:
            probe = True
            env.update(
                NODE=name, CLUSTER=cluster, AUTONOMY_ROSTER=compose_mod.ROSTER_MOUNT, AUTONOMY_KEY=compose_mod.KEY_MOUNT
            )
            volumes = {
                str(roster): {"bind": compose_mod.ROSTER_MOUNT, "mode": "ro"},
                str(key): {"bind": compose_mod.KEY_MOUNT, "mode": "ro"},
            }
    c = None
    try:
        c = client.containers.run(
            compose_mod.BASE_IMAGE,
            ["python3", "-c", HELPER_SCRIPT, json.dumps({"instances": instances, "probe": probe})],
            detach=True,
            network=compose_mod.network_name(zone),
            environment=env,
            volumes=volumes,
            labels={LABEL + "zone-probe": zone, LABEL + "role": "status"},
            mem_limit="128m",
        )
        result = c.wait(timeout=60)
        text = c.logs(stdout=True, stderr=False).decode(errors="replace").strip()
        if result.get("StatusCode") != 0 or not text:
            err = c.logs(stdout=False, stderr=True).decode(errors="replace").strip()
            raise EngineError(f"the status helper failed:\n{err[-2000:]}")
        return json.loads(text.splitlines()[-1])
    except docker.errors.ImageNotFound:
        raise EngineError(f"image {compose_mod.BASE_IMAGE} is missing: deploy the zone first") from None
    except (docker.errors.DockerException, ValueError) as e:
        raise EngineError(f"cannot ask the nodes of zone {zone!r}: {e}") from None
    finally:
        if c is not None:
            try:
                c.remove(force=True)
            except docker.errors.DockerException:
                pass


def zone_status(engine: Engine, zone: str, state_dir: Path | None = None) -> list[InstanceStatus]:
    """The status of every pod instance of ``zone`` (empty when the zone is not there).

    ``state_dir``: the zone's local folder (``settings.zone_dir(zone)``); with its roster
    and probe key, nodes without HTTP are asked for their worker count over ZeroMQ.
    """
    containers = engine.containers(zone)
    instances: dict[str, InstanceStatus] = {}
    for c in sorted(containers, key=lambda c: c.name):
        labels = c.labels
        inst = labels.get(LABEL + "instance", "")
        if not inst:
            continue
        st = instances.setdefault(
            inst,
            InstanceStatus(
                instance=inst,
                pod=labels.get(LABEL + "pod", ""),
                clone=int(labels.get(LABEL + "clone", "0") or 0),
                state="missing",
            ),
        )
        state = c.attrs.get("State", {})
        if labels.get(LABEL + "role") == "infra":
            st.state = state.get("Status", c.status)
            continue
        st.nodes.append(
            NodeStatus(
                container=labels.get(LABEL + "container", ""),
                state=state.get("Status", c.status),
                status=c.status,
                node=labels.get(LABEL + "node", ""),
                restarts=int(c.attrs.get("RestartCount", 0) or 0),
                started_at=state.get("StartedAt", ""),
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
