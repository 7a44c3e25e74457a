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

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from . import compose as compose_mod
from .errors import BuildError, DeployFailed, EngineError, PreflightError
from .plan import NodePlan, ZonePlan
from .readiness import ContainerProbe, HostProbe, Probe, host_reaches

__all__ = ["Engine", "ZoneSummary", "ContainerState", "NodeCheck", "pick_public_port", "port_holder", "port_free"]

LABEL = "computer.autonomy."
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
    #: the zone's containers as the last liveness check saw them (all alive)
    containers: tuple[Container, ...] = ()


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
    found = _from_lines(text)
    return bool(found) and found[0][0].split(":")[0].split("@")[0] in _FROM_BASE


def _from_lines(dockerfile: str) -> list[tuple[str, str]]:
    """(image, stage alias) of each FROM instruction of a Dockerfile."""
    found = []
    for line in dockerfile.splitlines():
        words = [w for w in line.split() if not w.startswith("--")]
        if len(words) >= 2 and words[0].upper() == "FROM":
            alias = words[3] if len(words) >= 4 and words[2].upper() == "AS" else ""
            found.append((words[1], alias))
    return found


def _labelled_dockerfile(context: Path, labels: dict[str, str], folder: Path) -> Path | None:
    """A copy of ``context``'s Dockerfile, in ``folder``, ending with one LABEL instruction;
    None when the context has no readable Dockerfile (Docker then says what is wrong)."""
    try:
        text = (context / "Dockerfile").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    line = "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    path = folder / "Dockerfile"
    path.write_text(text.rstrip("\n") + "\n" + line + "\n")
    return path


def _context_files(context: Path) -> bytes:
    """A digest of the files Docker would be sent for ``context`` (.dockerignore applied)."""
    import docker.utils.build as dbuild

    exclude: list[str] = []
    ignore = context / ".dockerignore"
    if ignore.exists():
        exclude = [
            ln.strip() for ln in ignore.read_text().splitlines() if ln.strip() and not ln.strip().startswith("#")
        ]
    h = hashlib.sha256()
    for rel in sorted(dbuild.exclude_paths(str(context), exclude, dockerfile="Dockerfile")):
        path = context / rel
        st = path.lstat()
        h.update(rel.encode(errors="surrogateescape") + b"\0" + oct(st.st_mode).encode() + b"\0")
        if path.is_symlink():
            h.update(os.readlink(path).encode(errors="surrogateescape"))
        elif path.is_file():
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        h.update(b"\0")
    return h.digest()


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
            if (
                shutil.which("docker")
                and subprocess.run(["docker", "compose", "version"], capture_output=True, text=True).returncode == 0
            ):
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
            raise EngineError(f"`{' '.join(cmd[: len(self.compose_command())])} {' '.join(args)}` failed:\n{tail}")
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
            warnings.append(
                f"the zone's containers may use {cpus:g} CPUs together; this host has {host_cpus} (they will share)"
            )
        if problems:
            raise PreflightError(problems)
        return warnings

    # ------------------------------------------------------------------ images

    def build(self, plan: ZonePlan, on_line: Callable[[str, str], None] | None = None) -> dict[str, str]:
        """Build each local image of the zone; returns tag -> image id.

        An image is not sent to Docker again when its tag already carries the digest of
        what would be built (the context's files, the ids of the images it is FROM, its
        labels): Docker's build cache would answer the same, only slower.
        """
        ids: dict[str, str] = {}
        for b in plan.builds:
            lines: list[str] = []
            labels = {LABEL + "cluster": plan.cluster, LABEL + "zone": plan.zone, LABEL + "image": b.tag}
            digest = self._context_digest(b.context, labels)
            if digest is not None:
                current = self._image_attrs(b.tag)
                if (
                    current is not None
                    and (current.get("Config") or {}).get("Labels", {}).get(LABEL + "context") == digest
                ):
                    ids[b.tag] = current["Id"]
                    if on_line is not None:
                        on_line(b.tag, "up to date (same context, same base)")
                    continue
                labels[LABEL + "context"] = digest
            try:
                with tempfile.TemporaryDirectory(prefix="autonomy-build-") as tmp:
                    # the labels go on as one LABEL instruction appended to the user's
                    # Dockerfile (sent beside the context, which is left as it is): the
                    # API's `labels` would add one build step, one container, per label
                    dockerfile = _labelled_dockerfile(b.context, labels, Path(tmp))
                    stream = self.client.api.build(
                        path=str(b.context),
                        dockerfile=str(dockerfile) if dockerfile is not None else None,
                        tag=b.tag,
                        rm=True,
                        forcerm=True,
                        decode=True,
                        labels=labels if dockerfile is None else None,
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

    def _image_attrs(self, ref: str) -> dict[str, Any] | None:
        try:
            attrs: dict[str, Any] = self.client.api.inspect_image(ref)
            return attrs
        except docker.errors.ImageNotFound:
            return None
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot read image {ref}: {e}") from None

    def _context_digest(self, context: Path, labels: dict[str, str]) -> str | None:
        """What a build of ``context`` depends on, hashed; None when that cannot be known
        (a FROM image that is not here, or named through a build argument)."""
        try:
            text = (context / "Dockerfile").read_text()
        except OSError:
            return None
        parents: list[str] = []
        stages: set[str] = set()
        for ref, alias in _from_lines(text):
            if "$" in ref:
                return None
            if ref.lower() != "scratch" and ref not in stages:
                attrs = self._image_attrs(ref)
                if attrs is None:
                    return None
                parents.append(f"{ref}={attrs['Id']}")
            if alias:
                stages.add(alias)
        try:
            files = _context_files(context)
        except OSError:
            return None
        h = hashlib.sha256()
        for item in (*parents, *(f"{k}={v}" for k, v in sorted(labels.items()))):
            h.update(item.encode() + b"\0")
        h.update(files)
        return h.hexdigest()

    # ------------------------------------------------------------------ zones

    def ensure_network(self, plan: ZonePlan, labels: Mapping[str, str] | None = None) -> None:
        """Create the zone's bridge network (labelled) unless it exists; Compose treats it
        as external. A network of that name that is not this zone's is an error."""
        name = compose_mod.network_name(plan.zone)
        try:
            try:
                found = self.client.api.inspect_network(name)
            except docker.errors.NotFound:
                found = None
            if found is not None and found.get("Name") == name:
                owner = (found.get("Labels") or {}).get(LABEL + "zone")
                if owner != plan.zone:
                    raise EngineError(
                        f"a Docker network named {name} exists and is not zone {plan.zone}'s; remove it first"
                    )
                return
            self.client.api.create_network(
                name,
                driver="bridge",
                labels={**compose_mod.network_labels(plan), **dict(labels or {})},
                check_duplicate=True,
            )
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot create network {name}: {e}") from None

    def up(
        self,
        plan: ZonePlan,
        compose_text: str,
        on_network: Callable[[], None] | None = None,
        while_up: Callable[[], None] | None = None,
    ) -> None:
        """Apply the Compose file (``up -d --remove-orphans``) on the zone's network, which
        must exist (:meth:`ensure_network`). ``on_network`` is called once, and
        ``while_up`` every 50 ms, while Compose starts the containers (the readiness probe
        starts and follows them meanwhile)."""
        plan.compose_file.write_text(compose_text)
        cmd = [*self.compose_command(), "-p", compose_mod.project_name(plan.zone), "-f", str(plan.compose_file)]
        proc = subprocess.Popen(
            [*cmd, "up", "-d", "--no-build", "--remove-orphans"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out: dict[str, str] = {}
        drain = threading.Thread(target=lambda: out.update(zip(("stdout", "stderr"), proc.communicate())), daemon=True)
        drain.start()
        try:
            if on_network is not None:
                on_network()
            while while_up is not None and drain.is_alive():
                while_up()
                drain.join(0.05)
        except BaseException:
            proc.kill()
            drain.join()
            raise
        drain.join()
        stdout, stderr = out.get("stdout", ""), out.get("stderr", "")
        if proc.returncode != 0:
            tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
            raise EngineError(f"`{' '.join(self.compose_command())} up` failed:\n{tail}")

    def containers(self, zone: str, *, all: bool = True) -> list[Container]:
        try:
            return self.client.containers.list(all=all, filters={"label": f"{LABEL}zone={zone}"})
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot list containers: {e}") from None

    def states(self, zone: str, containers: Iterable[Container] | None = None) -> list[ContainerState]:
        """The zone's containers (or ``containers``, already listed) by pod, clone, infra first."""
        found = self.containers(zone) if containers is None else containers
        return sorted((_state(c) for c in found), key=lambda s: (s.pod, s.clone, s.role != "infra", s.container))

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

    def probe_way(self, zone: str, setting: str = "auto") -> str:
        """ "host" or "container": how readiness pings reach the zone (see start_probe)."""
        if setting in ("host", "container"):
            return setting
        return "host" if host_reaches(self.client, compose_mod.network_name(zone)) else "container"

    def start_probe(
        self, plan: ZonePlan, nodes: list[str], timeout: float, old_apps: Iterable[str] = (), way: str = "auto"
    ) -> Probe:
        """Start pinging ``nodes`` (see :mod:`autonomy_cli.readiness`): from this host when
        ``way`` is "host", or "auto" and the host reaches the zone's network; else from a
        container. ``old_apps``: ids of app containers that ran before this deploy."""
        if self.probe_way(plan.zone, way) == "host":
            return HostProbe(self, plan, nodes, timeout, old_apps)
        try:
            return ContainerProbe(self, plan, nodes, timeout)
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot start the readiness probe: {e}") from None

    def finish_probe(
        self,
        plan: ZonePlan,
        probe: Probe | None,
        timeout: float,
        baseline: dict[str, int],
        on_tick: Callable[[float], None] | None = None,
    ) -> NodeCheck:
        """Wait for the probe's verdict: which nodes answered an encrypted ping.

        Fails at once (DeployFailed) when any container of the zone stops meanwhile. The
        probe is closed (its container removed) in every case.
        """
        try:
            if probe is None:
                return NodeCheck(containers=tuple(self._check_alive(plan.zone, baseline)))
            self._check_alive(plan.zone, baseline)
            start = time.monotonic()
            checked = start
            while (verdict := probe.poll(compose_done=True)) is None:
                time.sleep(0.02)
                now = time.monotonic()
                if now - checked > 0.5:
                    self._check_alive(plan.zone, baseline)
                    checked = now
                if on_tick is not None:
                    on_tick(now - start)
                if now - start > timeout + 30:
                    raise EngineError("the readiness probe did not finish")
            seen = self._check_alive(plan.zone, baseline)
            return NodeCheck(answered=verdict["answered"], silent=tuple(verdict["silent"]), containers=tuple(seen))
        finally:
            if probe is not None:
                probe.close()

    def restart_counts(self, zone: str, containers: Iterable[Container] | None = None) -> dict[str, int]:
        """Each container's restart count now (to tell new crashes from old ones)."""
        found = self.containers(zone) if containers is None else containers
        return {c.name: int(c.attrs.get("RestartCount", 0) or 0) for c in found}

    def _check_alive(self, zone: str, baseline: dict[str, int]) -> list[Container]:
        found = self.containers(zone)
        for c in found:
            state = c.attrs.get("State", {})
            code = state.get("ExitCode", "?")
            restarts = int(c.attrs.get("RestartCount", 0) or 0) - baseline.get(c.name, 0)
            if c.status in ("exited", "dead"):
                raise DeployFailed(c.name, f"stopped (exit code {code})", self.logs(c, 20))
            if state.get("Restarting") or restarts > 0:
                raise DeployFailed(c.name, f"crashed and was restarted (last exit code {code})", self.logs(c, 20))
        return found

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
