"""The only stage that touches Docker: build, start, watch, list and remove zones.

Last stage of the pipeline (DESIGN.md §2)::

    ZonePlan + rendered Compose file --engine--> images, containers, a network

It uses the Docker SDK for what it reads and builds (images, containers, ports, logs) and
the Compose tool for what Compose is good at (``up`` with ``--remove-orphans`` applies a
new file in place: changed image -> recreated, removed pod -> removed). Docker is the
record of what is deployed: every object carries ``computer.autonomy.*`` labels, and
:func:`Engine.list_zones` and :func:`Engine.delete` read those, not local files.

Library code: raises :class:`~autonomy_cli.errors.EngineError` and its children, never
prints; progress goes to callbacks.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import docker
import docker.errors
from docker.models.containers import Container

from . import compose as compose_mod
from .errors import BuildError, DeployFailed, EngineError, PreflightError
from .plan import NodePlan, ZonePlan

__all__ = ["Engine", "ZoneSummary", "ContainerState", "NodeCheck", "pick_public_port", "port_holder", "port_free"]

LABEL = "computer.autonomy."
BASE_IMAGE = compose_mod.BASE_IMAGE
#: Containers with this role are inlets (autonomy_cli.inlet): they share the probes' label,
#: and a deploy leaves them be.
INLET_ROLE = "inlet"
_FROM_BASE = ("ghcr.io/build-trust/autonomy-python",)


# --------------------------------------------------------------------------- ports


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
                            zone = c.labels.get(LABEL + "zone")
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
    for port in range(start, min(start + 200, 65536)):
        if port in avoid:
            continue
        if port_free(port):
            return port
        if client is not None and f"of zone {zone!r}" in port_holder(port, client):
            return port
    raise PreflightError([f"no free port for the zone's HTTP endpoint in {start}..{start + 199}"])


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ContainerState:
    name: str
    pod: str
    instance: str
    clone: int
    container: str  # "" for an infra container
    role: str
    state: str  # running, exited, restarting, ...
    status: str  # docker's human text
    node: str
    exit_code: int
    ports: tuple[str, ...]
    started_at: str


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


@dataclass(frozen=True)
class NodeCheck:
    """What the probe saw: nodes that answered an encrypted ping, and how fast."""

    answered: dict[str, dict[str, float]] = field(default_factory=dict)
    silent: tuple[str, ...] = ()


def _state(c: Container) -> ContainerState:
    labels = c.labels
    ports = []
    for cport, bindings in (c.attrs.get("NetworkSettings", {}).get("Ports") or {}).items():
        for b in bindings or []:
            ports.append(f"{b.get('HostIp')}:{b.get('HostPort')}->{cport}")
    state = c.attrs.get("State", {})
    return ContainerState(
        name=c.name,
        pod=labels.get(LABEL + "pod", ""),
        instance=labels.get(LABEL + "instance", ""),
        clone=int(labels.get(LABEL + "clone", "0") or 0),
        container=labels.get(LABEL + "container", ""),
        role=labels.get(LABEL + "role", ""),
        state=state.get("Status", c.status),
        status=c.status,
        node=labels.get(LABEL + "node", ""),
        exit_code=int(state.get("ExitCode", 0) or 0),
        ports=tuple(sorted(ports)),
        started_at=state.get("StartedAt", ""),
    )


def expects_node(node: NodePlan) -> bool:
    """True when the container is built FROM the Autonomy base image (it runs a node)."""
    if node.build_context is None:
        return False
    try:
        text = (node.build_context / "Dockerfile").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "FROM":
            return words[1].split(":")[0].split("@")[0] in _FROM_BASE
    return False


# --------------------------------------------------------------------------- engine


class Engine:
    """Docker, as the CLI needs it."""

    def __init__(self) -> None:
        self._client: docker.DockerClient | None = None
        self._compose: list[str] | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            try:
                client = docker.from_env(timeout=120)
                client.ping()
            except docker.errors.DockerException as e:
                raise EngineError(f"Docker is not reachable: {e}. Is the Docker Engine running?") from None
            self._client = client
        return self._client

    def compose_command(self) -> list[str]:
        """``docker compose`` (v2) when present, else ``docker-compose`` (v1)."""
        if self._compose is None:
            if shutil.which("docker") and subprocess.run(
                ["docker", "compose", "version"], capture_output=True, text=True
            ).returncode == 0:
                self._compose = ["docker", "compose"]
            elif shutil.which("docker-compose"):
                self._compose = ["docker-compose"]
            else:
                raise EngineError("neither `docker compose` nor `docker-compose` is installed")
        return self._compose

    def _compose_run(self, plan_zone: str, compose_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [*self.compose_command(), "-p", compose_mod.project_name(plan_zone), "-f", str(compose_file), *args]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-15:])
            raise EngineError(f"`{' '.join(cmd[:len(self.compose_command())])} {' '.join(args)}` failed:\n{tail}")
        return r

    # ------------------------------------------------------------------ checks

    def preflight(self, plan: ZonePlan, host_memory: int) -> list[str]:
        """Raise PreflightError for what stops the zone from starting; return warnings."""
        problems: list[str] = []
        warnings: list[str] = []
        for inst in plan.instances:
            for p in inst.ports:
                if p.purpose == "public":
                    continue  # chosen free by pick_public_port
                if not port_free(p.host_port):
                    holder = port_holder(p.host_port, self.client)
                    if f"of zone {plan.zone!r}" not in holder:
                        problems.append(
                            f"port 127.0.0.1:{p.host_port} (pod {inst.pod}, portal to {p.container_port}) is held by {holder}"
                        )
        memory = sum(inst.memory * len(inst.nodes) for inst in plan.instances)
        if host_memory and memory > host_memory:
            problems.append(
                f"the zone's containers may use {memory / 2**30:.1f} GiB of memory; this host has {host_memory / 2**30:.1f} GiB"
            )
        elif host_memory and memory > host_memory * 0.75:
            warnings.append(f"the zone may use {memory / 2**30:.1f} GiB of this host's {host_memory / 2**30:.1f} GiB")
        cpus = sum(inst.cpus * len(inst.nodes) for inst in plan.instances)
        host_cpus = os.cpu_count() or 1
        if cpus > host_cpus:
            warnings.append(f"the zone's containers may use {cpus:g} CPUs together; this host has {host_cpus} (they will share)")
        if problems:
            raise PreflightError(problems)
        return warnings

    # ------------------------------------------------------------------ images

    def build(self, plan: ZonePlan, on_line: Callable[[str, str], None] | None = None) -> dict[str, str]:
        """Build each local image of the zone; returns tag -> image id."""
        ids: dict[str, str] = {}
        for b in plan.builds:
            lines: list[str] = []
            try:
                stream = self.client.api.build(
                    path=str(b.context),
                    tag=b.tag,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    labels={LABEL + "cluster": plan.cluster, LABEL + "zone": plan.zone, LABEL + "image": b.tag},
                )
                for chunk in stream:
                    if "error" in chunk:
                        lines.append(str(chunk["error"]).rstrip())
                        raise BuildError(b.tag, str(b.context), lines)
                    text = str(chunk.get("stream", "")).rstrip()
                    for line in text.splitlines():
                        if line.strip():
                            lines.append(line)
                            if on_line is not None:
                                on_line(b.tag, line)
            except docker.errors.APIError as e:
                raise BuildError(b.tag, str(b.context), [*lines, str(e.explanation or e)]) from None
            ids[b.tag] = self.client.images.get(b.tag).id
        return ids

    # ------------------------------------------------------------------ zones

    def up(self, plan: ZonePlan, compose_text: str, on_network: Callable[[], None] | None = None) -> None:
        """Apply the Compose file (``up -d --remove-orphans``). ``on_network`` is called
        once, as soon as the zone's network exists, while the containers still start."""
        plan.compose_file.write_text(compose_text)
        cmd = [*self.compose_command(), "-p", compose_mod.project_name(plan.zone), "-f", str(plan.compose_file)]
        proc = subprocess.Popen(
            [*cmd, "up", "-d", "--no-build", "--remove-orphans"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        network = compose_mod.network_name(plan.zone)
        while on_network is not None and proc.poll() is None:
            if self.client.networks.list(names=[network]):
                on_network()
                on_network = None
            else:
                time.sleep(0.05)
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
            raise EngineError(f"`{' '.join(self.compose_command())} up` failed:\n{tail}")
        if on_network is not None:
            on_network()

    def containers(self, zone: str, *, all: bool = True) -> list[Container]:
        try:
            return self.client.containers.list(all=all, filters={"label": f"{LABEL}zone={zone}"})
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot list containers: {e}") from None

    def states(self, zone: str) -> list[ContainerState]:
        return sorted((_state(c) for c in self.containers(zone)), key=lambda s: (s.pod, s.clone, s.role != "infra", s.container))

    def heal_pods(self, zone: str) -> list[str]:
        """compose#8918: restart app containers that started before their pod's infra."""
        healed = []
        states = {c.name: c for c in self.containers(zone)}
        infra_started = {
            c.labels.get(LABEL + "instance"): c.attrs["State"].get("StartedAt", "")
            for c in states.values()
            if c.labels.get(LABEL + "role") == "infra" and c.status == "running"
        }
        for c in states.values():
            inst = c.labels.get(LABEL + "infra")
            if c.labels.get(LABEL + "role") != "app" or inst not in infra_started or c.status != "running":
                continue
            if c.attrs["State"].get("StartedAt", "") < infra_started[inst]:
                c.restart(timeout=10)
                healed.append(c.name)
        return healed

    def logs(self, container: Container | str, tail: int = 20) -> list[str]:
        try:
            c = self.client.containers.get(container) if isinstance(container, str) else container
            return c.logs(tail=tail).decode(errors="replace").rstrip().splitlines()
        except docker.errors.DockerException:
            return []

    def start_probe(self, plan: ZonePlan, nodes: list[str], timeout: float) -> Container:
        """Start the zone's probe: it pings every named node until all answer or ``timeout``."""
        return self.client.containers.run(
            BASE_IMAGE,
            ["python3", "-m", "autonomy.probe", "--wait", str(timeout), "--names", ",".join(nodes)],
            detach=True,
            network=compose_mod.network_name(plan.zone),
            environment={
                "NODE": plan.probe_name,
                "CLUSTER": plan.cluster,
                "ZONE": plan.zone,
                "AUTONOMY_ROSTER": compose_mod.ROSTER_MOUNT,
                "AUTONOMY_KEY": compose_mod.KEY_MOUNT,
                "AUTONOMY_HTTP_PORT": "0",
            },
            volumes={
                str(plan.roster_file): {"bind": compose_mod.ROSTER_MOUNT, "mode": "ro"},
                str(plan.probe_key_file): {"bind": compose_mod.KEY_MOUNT, "mode": "ro"},
            },
            labels={LABEL + "cluster": plan.cluster, LABEL + "zone-probe": plan.zone},
            mem_limit="128m",
        )

    def finish_probe(
        self,
        plan: ZonePlan,
        probe: Container | None,
        timeout: float,
        baseline: dict[str, int],
        on_tick: Callable[[float], None] | None = None,
    ) -> NodeCheck:
        """Wait for the probe's verdict: which nodes answered an encrypted ping.

        Fails at once (DeployFailed) when any container of the zone stops meanwhile.
        The probe container is removed in every case.
        """
        try:
            self._check_alive(plan.zone, baseline)
            if probe is None:
                return NodeCheck()
            start = time.monotonic()
            checked = start
            while True:
                probe.reload()
                if probe.status in ("exited", "dead"):
                    break
                now = time.monotonic()
                if now - checked > 0.5:
                    self._check_alive(plan.zone, baseline)
                    checked = now
                if on_tick is not None:
                    on_tick(now - start)
                if now - start > timeout + 30:
                    raise EngineError("the readiness probe did not finish")
                time.sleep(0.05)
            out = probe.logs(stdout=True, stderr=False).decode(errors="replace").strip().splitlines()
            try:
                data = json.loads(out[-1])
            except (IndexError, ValueError):
                raise EngineError("the readiness probe failed:\n" + "\n".join(self.logs(probe, 20))) from None
            self._check_alive(plan.zone, baseline)
            return NodeCheck(answered=data["answered"], silent=tuple(data["silent"]))
        finally:
            if probe is not None:
                try:
                    probe.remove(force=True)
                except docker.errors.DockerException:
                    pass

    def restart_counts(self, zone: str) -> dict[str, int]:
        """Each container's restart count now (to tell new crashes from old ones)."""
        return {c.name: int(c.attrs.get("RestartCount", 0) or 0) for c in self.containers(zone)}

    def _check_alive(self, zone: str, baseline: dict[str, int]) -> None:
        for c in self.containers(zone):
            state = c.attrs.get("State", {})
            code = state.get("ExitCode", "?")
            restarts = int(c.attrs.get("RestartCount", 0) or 0) - baseline.get(c.name, 0)
            if c.status in ("exited", "dead"):
                raise DeployFailed(c.name, f"stopped (exit code {code})", self.logs(c, 20))
            if state.get("Restarting") or restarts > 0:
                raise DeployFailed(c.name, f"crashed and was restarted (last exit code {code})", self.logs(c, 20))

    # ------------------------------------------------------------------ listing

    def list_zones(self) -> list[ZoneSummary]:
        try:
            found = self.client.containers.list(all=True, filters={"label": LABEL + "zone"})
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot list containers: {e}") from None
        zones: dict[str, list[Container]] = {}
        for c in found:
            zones.setdefault(c.labels[LABEL + "zone"], []).append(c)
        out = []
        for zone, cs in sorted(zones.items()):
            states = [_state(c) for c in cs]
            urls = sorted({f"http://{p.split('->')[0]}" for s in states for p in s.ports if p.endswith("->8000/tcp")})
            out.append(
                ZoneSummary(
                    zone=zone,
                    cluster=cs[0].labels.get(LABEL + "cluster", ""),
                    instances=len({s.instance for s in states}),
                    containers=sum(1 for s in states if s.role == "app"),
                    running=sum(1 for s in states if s.role == "app" and s.state == "running"),
                    urls=tuple(urls),
                )
            )
        return out

    # ------------------------------------------------------------------ delete

    def delete(self, zone: str, state_dir: Path) -> dict[str, int]:
        """Remove every container, network and volume of the zone, and its local files.

        Idempotent: deleting a zone that is not there removes nothing and is no error.
        """
        client = self.client
        f = {"label": f"{LABEL}zone={zone}"}
        try:
            removed = {
                "containers": len(client.containers.list(all=True, filters=f)),
                "networks": len(client.networks.list(filters=f)),
                "volumes": len(client.volumes.list(filters=f)),
            }
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot list zone {zone!r}: {e}") from None
        compose_file = state_dir / "compose.yaml"
        if compose_file.exists() and removed["containers"]:
            try:
                self._compose_run(zone, compose_file, "down", "--volumes", "--remove-orphans", "--timeout", "10")
            except EngineError:
                pass  # the label sweep below removes what compose could not
        try:  # what compose could not remove (or a zone without its compose file)
            for c in client.containers.list(all=True, filters=f):
                c.remove(force=True, v=True)
            for c in client.containers.list(all=True, filters={"label": f"{LABEL}zone-probe={zone}"}):
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

    def remove_probes(self, zone: str) -> None:
        """Remove the zone's readiness probes (left by an interrupted deploy), not its inlets."""
        try:
            for c in self.client.containers.list(all=True, filters={"label": f"{LABEL}zone-probe={zone}"}):
                if c.labels.get(LABEL + "role") != INLET_ROLE:
                    c.remove(force=True)
        except docker.errors.DockerException:
            pass

    def remove_images(self, zone: str) -> int:
        """Remove the images built for a zone (the base image stays)."""
        n = 0
        for img in self.client.images.list(filters={"label": f"{LABEL}zone={zone}"}):
            try:
                self.client.images.remove(img.id, force=True)
                n += 1
            except docker.errors.DockerException:
                pass
        return n
