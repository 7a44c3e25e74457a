"""The Docker engine, as the CLI needs it: :class:`DockerEngine` builds, starts, watches,
lists and removes zones.

Last stage of the pipeline::

    ZonePlan + rendered Compose file --engine--> images, containers, a network

It uses the Docker SDK for what it reads and builds (images, containers, ports, logs) and
the Compose tool (:mod:`.compose_cli`) for what Compose is good at (``up`` with
``--remove-orphans`` applies a new file in place: changed image -> recreated, removed pod
-> removed). Every object carries ``computer.autonomy.*`` labels, and listing and
deleting read those (:mod:`.sweep`). :class:`DockerEngine` is what the services of
autonomy_cli.zones call; it satisfies their ``Engine`` protocol (tests use a fake).

Library code: raises :class:`~autonomy_cli.errors.EngineError` and its children, never
prints; progress goes to callbacks.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

from .. import labels as L
from ..compose import network_labels
from ..errors import DeployFailed, EngineError, PreflightError
from ..names import network_name
from ..plan import ZonePlan, memory_check
from ..settings import BaseSource
from ..sizes import HELPER_MEMORY
from . import sweep
from .build import build_images, image_id
from .client import connect
from .compose_cli import check_finished, run_compose, start_compose
from .containers import ContainerView, view
from .helper import ProbeIdentity, run_helper, run_to_end
from .image import BaseImageResult, ensure_base_image
from .logsource import DockerSource
from .mcpimage import ensure_mcp_image
from .model import ensure_model_image
from .ports import answers_http, bridge_gateway, free_port_from, pick_public_port, port_free, port_holder
from .pullcheck import check_images, mcp_refs
from .readiness import ContainerProbe, HostProbe, Probe, host_reaches
from .relay import Relay, network_exists, remove_relay, target_running
from .sweep import ZoneSummary

__all__ = ["DockerEngine", "NodeCheck", "ZoneSummary"]


@dataclass(frozen=True)
class NodeCheck:
    """What the probe saw: nodes that answered an encrypted ping, and how fast."""

    answered: dict[str, dict[str, float]] = field(default_factory=dict)
    silent: tuple[str, ...] = ()
    #: the zone's containers as the last liveness check saw them (all alive)
    containers: tuple[ContainerView, ...] = ()


class DockerEngine:
    """Docker, as the CLI needs it (connected at the first use)."""

    def __init__(self) -> None:
        self._client: docker.DockerClient | None = None

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    # ------------------------------------------------------------------ checks

    def preflight(self, plan: ZonePlan, host_memory: int) -> list[str]:
        """Raise PreflightError for what stops the zone from starting; return warnings."""
        problems: list[str] = []
        warnings: list[str] = []
        for inst in plan.instances:
            for p in inst.ports:
                if p.purpose == "public" or p.host_port is None:
                    continue  # chosen free by pick_public_port, or not published
                if not port_free(p.host_port):
                    holder = port_holder(p.host_port, self.client)
                    if f"of zone {plan.zone!r}" not in holder:
                        problems.append(
                            f"port 127.0.0.1:{p.host_port} (pod {inst.pod}, portal to {p.target}) is held by {holder}"
                        )
        too_big, heavy = memory_check(plan, host_memory)
        problems += too_big
        warnings += heavy
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

    def ensure_base_image(self, source: BaseSource, on_step: Callable[[str], None] | None = None) -> BaseImageResult:
        return ensure_base_image(self.client, source=source, on_step=on_step)

    def image_id(self, tag: str) -> str | None:
        return image_id(self.client, tag)

    def ensure_mcp_image(self, plan: ZonePlan, on_step: Callable[[str], None] | None = None) -> str | None:
        """Build the MCP proxy image when ``plan`` uses it (see :mod:`.mcpimage`); returns
        what was done ("cached", "present", "built"), or None when the zone does not use it."""
        refs = mcp_refs(plan)
        if not refs:
            return None
        return ensure_mcp_image(self.client, on_step=on_step, tags=refs).way

    def check_images(self, plan: ZonePlan) -> list[str]:
        """Pull what ``plan`` needs from a registry, or fail in seconds (see :mod:`.pullcheck`)."""
        return check_images(self.client, plan)

    def build(
        self, plan: ZonePlan, on_line: Callable[[str, str], None] | None = None, *, no_cache: bool = False
    ) -> dict[str, str]:
        """Build each local image of the zone (see :mod:`.build`); returns tag -> image id."""
        return build_images(self.client, plan, on_line, no_cache=no_cache)

    # ------------------------------------------------------------------ model gateway

    def gateway_host(self) -> str:
        """The default bridge network's gateway address, where the zone's gateway listens."""
        return bridge_gateway(self.client)

    def wait_http(self, url: str, timeout: float) -> bool:
        """True once ``url`` (on this host, e.g. the zone's gateway) answers 200 within ``timeout`` s."""
        return answers_http(url, timeout)

    def free_port(self, start: int, host: str = "127.0.0.1", avoid: Iterable[int] = ()) -> int:
        return free_port_from(start, host, avoid)

    def ensure_model_image(self, source: BaseSource, on_step: Callable[[str], None] | None = None) -> str:
        """The offline model's image, built once (see :mod:`.model`); returns its tag."""
        return ensure_model_image(self.client, on_step=on_step, source=source).tag

    # ------------------------------------------------------------------ zones

    def public_port(self, start: int, zone: str, avoid: Iterable[int] = ()) -> int:
        """The first port from ``start`` that is free, or already this zone's own."""
        return pick_public_port(start, zone, self.client, avoid)

    def ensure_network(self, plan: ZonePlan, labels: Mapping[str, str] | None = None) -> None:
        """Create the zone's bridge network (labelled) unless it exists; Compose treats it
        as external. A network of that name that is not this zone's is an error."""
        name = network_name(plan.zone)
        try:
            try:
                found = self.client.api.inspect_network(name)
            except docker.errors.NotFound:
                found = None
            if found is not None and found.get("Name") == name:
                owner = L.ContainerLabels.read(found.get("Labels")).zone
                if owner != plan.zone:
                    raise EngineError(
                        f"a Docker network named {name} exists and is not zone {plan.zone}'s; remove it first"
                    )
                return
            self.client.api.create_network(
                name,
                driver="bridge",
                labels={**network_labels(plan), **dict(labels or {})},
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
        proc = start_compose(plan.zone, plan.compose_file, "up", "-d", "--no-build", "--remove-orphans")
        out: dict[str, str] = {}
        drain = threading.Thread(
            target=lambda: out.update(zip(("stdout", "stderr"), proc.communicate(), strict=True)), daemon=True
        )
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
        check_finished(proc, "up", out.get("stdout", ""), out.get("stderr", ""))

    def up_services(self, plan: ZonePlan, compose_text: str, services: Iterable[str]) -> None:
        """``up -d --no-deps <services>``: recreate these services only (their pods' infra stays)."""
        plan.compose_file.write_text(compose_text)
        run_compose(plan.zone, plan.compose_file, "up", "-d", "--no-build", "--no-deps", *services, what="up --no-deps")

    def containers(self, zone: str, *, all: bool = True) -> list[ContainerView]:
        try:
            found = self.client.containers.list(all=all, filters={"label": L.zone_filter(zone)})
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot list containers: {e}") from None
        return [view(c) for c in found]

    def states(self, zone: str, containers: Iterable[ContainerView] | None = None) -> list[ContainerView]:
        """The zone's containers (or ``containers``, already listed) by pod, clone, infra first."""
        found = self.containers(zone) if containers is None else containers
        return sorted(found, key=lambda s: (s.pod, s.clone, s.role != L.Role.INFRA, s.container))

    def heal_pods(self, zone: str) -> list[str]:
        """compose#8918: restart app containers that started before their pod's infra."""
        healed = []
        found = self.containers(zone)
        infra_started = {c.instance: c.started_at for c in found if c.role == L.Role.INFRA and c.running}
        for c in found:
            inst = c.labels.infra
            if c.role != L.Role.APP or inst not in infra_started or not c.running:
                continue
            if c.started_at < infra_started[inst]:
                try:
                    self.client.containers.get(c.id).restart(timeout=10)
                except docker.errors.DockerException as e:
                    raise EngineError(f"cannot restart {c.name}: {e}") from None
                healed.append(c.name)
        return healed

    def logs(self, container: str, tail: int = 20) -> list[str]:
        """The last ``tail`` lines of a container (by name or id); [] when it cannot say."""
        try:
            c = self.client.containers.get(container)
            return c.logs(tail=tail).decode(errors="replace").rstrip().splitlines()  # type: ignore[no-any-return]
        except docker.errors.DockerException:
            return []

    def probe_way(self, zone: str, setting: str = "auto") -> str:
        """ "host" or "container": how readiness pings reach the zone (see start_probe)."""
        if setting in ("host", "container"):
            return setting
        return "host" if host_reaches(self.client, network_name(zone)) else "container"

    def start_probe(
        self, plan: ZonePlan, nodes: list[str], timeout: float, old_apps: Iterable[str] = (), way: str = "auto"
    ) -> Probe:
        """Start pinging ``nodes`` (see :mod:`.readiness`): from this host when
        ``way`` is "host", or "auto" and the host reaches the zone's network; else from a
        container. ``old_apps``: ids of app containers that ran before this deploy."""
        if self.probe_way(plan.zone, way) == "host":
            return HostProbe(self.client, plan, nodes, timeout, old_apps)
        try:
            return ContainerProbe(self.client, plan, nodes, timeout)
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

    def restart_counts(self, zone: str, containers: Iterable[ContainerView] | None = None) -> dict[str, int]:
        """Each container's restart count now (to tell new crashes from old ones)."""
        found = self.containers(zone) if containers is None else containers
        return {c.name: c.restarts for c in found}

    def _check_alive(self, zone: str, baseline: dict[str, int]) -> list[ContainerView]:
        found = self.containers(zone)
        for c in found:
            code = c.exit_code
            restarts = c.restarts - baseline.get(c.name, 0)
            if c.status in ("exited", "dead"):
                raise DeployFailed(c.name, f"stopped (exit code {code})", self.logs(c.id, 20))
            if c.restarting or restarts > 0:
                raise DeployFailed(c.name, f"crashed and was restarted (last exit code {code})", self.logs(c.id, 20))
        return found

    # ------------------------------------------------------------------ listing, removing

    def list_zones(self) -> list[ZoneSummary]:
        return sweep.list_zones(self.client)

    def count(self, zone: str) -> dict[str, int]:
        """The zone's containers, networks, volumes and images, counted by their labels."""
        return sweep.count(self.client, zone, images=True)

    def dev_owners(self, zone: str) -> set[str]:
        return sweep.dev_owners(self.client, zone)

    def delete(self, zone: str, state_dir: Path) -> dict[str, int]:
        return sweep.delete(self.client, zone, state_dir)

    def remove_probes(self, zone: str) -> None:
        sweep.remove_probes(self.client, zone)

    def remove_images(self, zone: str) -> int:
        return sweep.remove_images(self.client, zone)

    # ------------------------------------------------------------------ day two

    def log_source(self) -> DockerSource:
        """The zone's log streams (autonomy_cli.logs reads them)."""
        return DockerSource(self.client)

    def ask_nodes(self, zone: str, request: dict[str, Any], identity: ProbeIdentity | None) -> str:
        """Run the status helper (``autonomy.clusters.pod_status``) once; its JSON line."""
        import json

        helper = run_helper(
            self.client,
            zone,
            "autonomy.clusters.pod_status",
            [json.dumps(request)],
            what="the status helper",
            memory=HELPER_MEMORY,
            identity=identity,
            labels={L.ROLE: L.Role.STATUS.value},
        )
        return run_to_end(helper, what="the status helper").splitlines()[-1]

    def network_exists(self, zone: str) -> bool:
        return network_exists(self.client, zone)

    def target_running(self, zone: str, instance: str) -> bool:
        return target_running(self.client, zone, instance)

    def start_relay(self, zone: str, instance: str, port: int, local_port: int) -> Relay:
        return Relay(self.client, zone, instance, port, local_port)

    def remove_relay(self, zone: str, local_port: int) -> None:
        remove_relay(self.client, zone, local_port)

    def port_holder(self, port: int) -> str:
        return port_holder(port, self.client)
