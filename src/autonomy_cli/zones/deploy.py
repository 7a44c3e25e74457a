"""``zone deploy`` as a library function: build, start, wait for every node, report.

:func:`deploy` does what ``autonomy zone deploy`` does, step by step::

    autonomy.yaml -> manifest -> plan -> base image -> model gateway -> project images
        -> materialize -> compose.render -> engine.up -> heal pods -> encrypted ping of every node

and returns a :class:`DeployResult` (what was built and recreated, which nodes answered,
the zone's URLs). With ``only_pods`` it rebuilds only the images those pods use and
recreates only those pods' app services (``up -d --no-deps <services>``), leaving every
other container of the zone running untouched: the ``autonomy dev`` loop uses this when
a file under ``images/<image>/`` changes.

Library code: never prints. Progress goes to ``on_event(event)``; each is an
:class:`~autonomy_cli.zones.events.Event` (a text and its kind). Docker is reached only
through the :class:`~autonomy_cli.zones.engine.Engine` given (or a DockerEngine).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import cluster as cluster_mod
from .. import compose as compose_mod
from .. import labels as L
from ..docker.containers import ContainerView
from ..docker.kinds import node_contexts, uses_models
from ..docker.readiness import Probe
from ..errors import EngineError, UsageError
from ..gateway import GatewaySettings, gateway_plan
from ..manifest import Manifest
from ..manifest import load as load_manifest
from ..materialize import materialize
from ..names import BASE_IMAGE, MCP_IMAGE, service_name
from ..plan import HTTP_PORT, ZonePlan
from ..plan import plan as make_plan
from ..settings import CliSettings
from .engine import Engine
from .events import Event, EventKind
from .gateway import describe as describe_gateway
from .gateway import gateway_settings

__all__ = ["DeployResult", "Event", "EventKind", "current_public_port", "deploy", "plan_for"]


@dataclass(frozen=True)
class DeployResult:
    """What one :func:`deploy` did."""

    plan: ZonePlan
    base_image: str  # "cached", "online" or "offline"
    built: dict[str, str]  # tag -> image id, for the images built in this run
    changed_images: tuple[str, ...]  # tags whose image id changed in this run
    services: tuple[str, ...] | None  # Compose services applied; None: the whole file
    recreated: tuple[str, ...]  # pod instances with a container that is new since before
    answered: dict[str, dict[str, float]]  # node -> {"ms": ..., "workers": ...}
    silent: tuple[str, ...]  # nodes that did not answer within the wait
    not_nodes: tuple[str, ...]  # Compose services of the containers that are services, not waited for
    healed: tuple[str, ...]  # app containers restarted because their infra had restarted
    states: tuple[ContainerView, ...]
    urls: tuple[str, ...]  # the zone's HTTP endpoint(s)
    portals: tuple[str, ...]  # "127.0.0.1:32102 -> pod:7000"
    enrolled: str | None  # cluster id, when this deploy enrolled the machine
    wait: float
    probe: str = "none"  # where the readiness pings left from: "host", "container" or "none"
    elapsed: float = 0.0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def zone(self) -> str:
        return self.plan.zone


#: how long a deploy waits for the model gateway to answer ``/health`` (seconds)
GATEWAY_WAIT = 30.0


def _host_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def current_public_port(containers: Iterable[ContainerView]) -> int | None:
    """The host port a zone's public pod publishes 8000 on, given the zone's containers."""
    for c in containers:
        if c.role == L.Role.INFRA and HTTP_PORT in c.published:
            return c.published[HTTP_PORT]
    return None


def plan_for(
    project: Path,
    settings: CliSettings,
    cluster_id: str,
    public_port: int,
    manifest: Manifest | None = None,
    *,
    config: Path | None = None,
    secrets: Path | None = None,
    gateway: GatewaySettings | None = None,
) -> ZonePlan:
    """The zone's plan for ``project`` (the manifest is loaded unless given, from ``config``
    and ``secrets`` when those name the files: see :func:`autonomy_cli.manifest.load`);
    with the model gateway's ``gateway`` settings, when given."""
    manifest = manifest if manifest is not None else load_manifest(project, config=config, secrets=secrets)
    return make_plan(
        manifest,
        cluster_id,
        project,
        settings.zone_dir(manifest.name),
        host_cpus=float(os.cpu_count() or 1),
        public_port=public_port,
        node_contexts=node_contexts(project, (c.image.context for pod in manifest.pods for c in pod.containers)),
        gateway=gateway,
    )


def _with_labels(compose: dict[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """Add ``labels`` to every service of a rendered Compose dict (the network is the
    engine's: it gets them from :meth:`Engine.up`)."""
    if not labels:
        return compose
    for item in compose.get("services", {}).values():
        item.setdefault("labels", {}).update({k: str(v).replace("$", "$$") for k, v in labels.items()})
    return compose


def _resolve_pods(manifest: Manifest, only_pods: Iterable[str]) -> set[str]:
    names = {p.name for p in manifest.pods}
    wanted = set(only_pods)
    unknown = sorted(wanted - names)
    if unknown:
        raise UsageError(f"no pod {', '.join(unknown)} in zone {manifest.name} (pods: {', '.join(sorted(names))})")
    return wanted


def _app_ids(containers: Iterable[ContainerView]) -> dict[str, str]:
    """container id -> pod instance, for a zone's app containers."""
    return {c.id: c.instance for c in containers if c.role == L.Role.APP}


def deploy(
    project_dir: Path,
    settings: CliSettings,
    *,
    on_event: Callable[[Event], None],
    only_pods: Iterable[str] | None = None,
    wait: float | None = None,
    labels: Mapping[str, str] | None = None,
    engine: Engine | None = None,
    config: Path | None = None,
    secrets: Path | None = None,
    no_cache: bool = False,
) -> DeployResult:
    """Deploy (or update in place) the zone of ``project_dir``; see the module docstring.

    ``only_pods``: pod names; rebuild only the images used by these pods and recreate
    only their app containers (``up -d --no-deps``); other pods keep running untouched,
    even when they use an image rebuilt here (they get it at the next full deploy). When
    the zone is not running yet, the whole zone is deployed. ``wait``: seconds to wait for
    every node to answer (default: ``settings.deploy_wait``). ``labels``: extra labels on
    every container and the network (``autonomy dev`` marks its zones with them).
    ``config``, ``secrets``: the manifest and secrets files to read instead of those in
    ``project_dir`` (``zone deploy --config FILE --secrets FILE``).
    ``no_cache``: rebuild the project's images without Docker's layer cache.

    Raises :class:`~autonomy_cli.errors.CliError` (ManifestError, BuildError,
    DeployFailed, ...); nothing is printed.
    """
    t0 = time.monotonic()
    project = Path(project_dir).resolve()
    if not project.is_dir():
        raise UsageError(f"{project}: not a folder")
    manifest = load_manifest(project, config=config, secrets=secrets)  # bad input stops here, before Docker is touched
    pods = _resolve_pods(manifest, only_pods) if only_pods is not None else None
    c, created = cluster_mod.enroll(settings.home)
    if created:
        on_event(Event(f"Enrolled cluster {c.id} (identity in {settings.home})"))
    if engine is None:
        from ..docker.engine import DockerEngine

        engine = DockerEngine()
    existing = engine.containers(manifest.name)  # one listing serves every "before" question
    before = _app_ids(existing)
    if pods is not None and not before:
        pods = None  # nothing runs yet: a partial deploy is a whole one
    warnings: list[str] = []

    def warn(text: str) -> None:
        warnings.append(text)
        on_event(Event(text, EventKind.WARNING))

    outlet_ports = [o.inlet_from for pod in manifest.pods for o in pod.outlets if o.inlet_from is not None]
    public_port = settings.public_port
    if manifest.public_pod is not None:
        current = current_public_port(existing)
        if (
            current is not None
            and settings.public_port <= current < settings.public_port + 200
            and current not in outlet_ports
        ):
            public_port = current  # keep the zone's endpoint where it is
        else:
            public_port = engine.public_port(settings.public_port, manifest.name, avoid=outlet_ports)
            if public_port != settings.public_port:
                on_event(Event(f"port {settings.public_port} is taken; the zone's HTTP endpoint uses {public_port}"))
    p = plan_for(project, settings, c.id, public_port, manifest)
    for w in p.warnings:
        warn(w)
    for w in engine.preflight(p, _host_memory()):
        warn(w)

    on_event(Event(f"Base image {BASE_IMAGE} ...", EventKind.STEP))
    base = engine.ensure_base_image(settings.base_source, on_step=lambda m: on_event(Event(m, EventKind.PROGRESS)))
    on_event(Event(f"base image: {base.way}" + (f" ({base.source})" if base.way != "cached" else "")))
    if p.zone_nodes():  # a zone with a node gets the model gateway (autonomy_cli.gateway)
        on_event(Event("Model gateway ...", EventKind.STEP))
        taken = [*outlet_ports, *([p.public_port] if p.public_port is not None else [])]
        settings_gw = gateway_settings(
            manifest,
            settings,
            engine,
            existing,
            avoid=taken,
            on_step=lambda m: on_event(Event(m, EventKind.PROGRESS)),
            uses_models=uses_models(project, (c.image.context for pod in manifest.pods for c in pod.containers)),
        )
        p = dataclasses.replace(p, gateway=gateway_plan(settings_gw, p.files))

    if pods is None:
        builds = p.builds
        services: tuple[str, ...] | None = None
    else:
        tags = {n.image for inst in p.instances if inst.pod in pods for n in inst.nodes if n.build_context is not None}
        builds = tuple(b for b in p.builds if b.tag in tags)
        services = tuple(
            service_name(inst.name, n.container) for inst in p.instances if inst.pod in pods for n in inst.nodes
        )
    # the MCP proxy is built here, as the base image is (docker/mcpimage.py)
    mcp = engine.ensure_mcp_image(
        dataclasses.replace(p, builds=builds), on_step=lambda m: on_event(Event(m, EventKind.PROGRESS))
    )
    if mcp is not None:
        on_event(Event(f"MCP proxy image {MCP_IMAGE}: {mcp}"))
    # every image from a registry is here or pulled now, before anything of the zone exists
    on_event(Event("Checking the images the zone needs ...", EventKind.STEP))
    pulled = engine.check_images(dataclasses.replace(p, builds=builds))
    if pulled:
        on_event(Event(f"pulled {', '.join(pulled)}"))
    old_ids = {b.tag: engine.image_id(b.tag) for b in builds}
    on_event(Event("Building images ...", EventKind.STEP))
    built = engine.build(
        dataclasses.replace(p, builds=builds),
        on_line=lambda tag, line: on_event(Event(f"{tag}: {line[:100]}", EventKind.PROGRESS)),
        no_cache=no_cache,
    )
    changed = tuple(tag for tag, iid in built.items() if old_ids.get(tag) != iid)
    on_event(
        Event(
            f"{len(builds)} image(s) ready: {', '.join(b.tag for b in builds) or '-'}"
            + (f" (changed: {', '.join(changed)})" if changed else (" (none changed)" if builds else ""))
        )
    )

    materialize(p)
    compose_text = compose_mod.dump(_with_labels(compose_mod.render(p), labels or {}))
    mine = [n for n in p.nodes() if pods is None or n.pod in pods]
    nodes = [n.name for n in mine if n.is_node]  # only nodes are waited for: docker/kinds.py
    service_names = tuple(service_name(n.instance, n.container) for n in mine if not n.is_node)
    deadline = wait if wait is not None else settings.deploy_wait
    baseline = engine.restart_counts(p.zone, existing)
    probe: list[Probe] = []
    engine.ensure_network(p, dict(labels or {}))
    way = engine.probe_way(p.zone, settings.probe) if nodes else "none"

    def start_probe() -> None:
        probe.append(engine.start_probe(p, nodes, deadline, old_apps=before, way=way))

    def follow_probe() -> None:
        try:
            probe[0].poll(compose_done=False)
        except EngineError:
            pass  # raised again, after Compose, by finish_probe

    # the probe starts before Compose's containers when it cannot be fooled by an old
    # container answering for its successor: from the host (it knows which containers
    # are new), or on a zone with no app container yet
    early = bool(nodes) and services is None and (way == "host" or not before)
    try:
        on_event(
            Event(
                f"Starting zone {p.zone} ..." if services is None else f"Recreating {', '.join(services)} ...",
                EventKind.STEP,
            )
        )
        if services is None:
            engine.up(
                p,
                compose_text,
                on_network=start_probe if early else None,
                while_up=follow_probe if early else None,
            )
        else:
            engine.up_services(p, compose_text, services)
        if nodes and not probe:
            start_probe()
        healed = engine.heal_pods(p.zone)
        if healed:
            on_event(Event(f"restarted {', '.join(healed)}: their pod's infra container had restarted"))
        if service_names:
            on_event(
                Event(
                    f"{len(service_names)} service(s), not waited for (no Node.start in their image): "
                    + ", ".join(service_names)
                )
            )
        if nodes:
            on_event(Event(f"Waiting for {len(nodes)} node(s) to answer an encrypted ping ...", EventKind.STEP))
        check = engine.finish_probe(
            p,
            probe[0] if probe else None,
            deadline,
            baseline,
            on_tick=lambda t: on_event(
                Event(f"Waiting for {len(nodes)} node(s) to answer an encrypted ping ... {t:.0f} s", EventKind.PROGRESS)
            ),
        )
    finally:
        for started in probe:
            started.close()  # done already, unless the deploy failed on the way
        engine.remove_probes(p.zone)
    after = _app_ids(check.containers)
    recreated = tuple(sorted({inst for cid, inst in after.items() if cid not in before}))
    if nodes:
        source = "this host" if way == "host" else "a container on the zone's network"
        on_event(Event(f"{len(check.answered)} of {len(nodes)} node(s) answered an encrypted ping from {source}"))
    for silent in check.silent:
        warn(f"node {silent} did not answer within {deadline:g} s (is Node.start called?)")
    if p.gateway is not None:
        # Compose may have just recreated it: an app's first model call must not race it
        health = f"http://{p.gateway.listen}/health"
        if not engine.wait_http(health, GATEWAY_WAIT):
            warn(f"the model gateway did not answer {health} within {GATEWAY_WAIT:g} s; see its logs")
        for line in describe_gateway(p.gateway):
            on_event(Event(line))
    urls = (f"http://127.0.0.1:{p.public_port}",) if p.public_port is not None else ()
    portals = tuple(
        f"127.0.0.1:{port.host_port} -> {inst.name}:{port.to_port}"
        for inst in p.instances
        for port in inst.ports
        if port.purpose == "outlet" and port.host_port is not None
    )
    return DeployResult(
        plan=p,
        base_image=base.way,
        built=built,
        changed_images=changed,
        services=services,
        recreated=recreated,
        answered=dict(check.answered),
        silent=tuple(check.silent),
        not_nodes=service_names,
        healed=tuple(healed),
        states=tuple(engine.states(p.zone, check.containers)),
        urls=urls,
        portals=portals,
        enrolled=c.id if created else None,
        wait=deadline,
        probe=way,
        elapsed=time.monotonic() - t0,
        warnings=tuple(warnings),
    )
