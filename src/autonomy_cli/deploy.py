"""``zone deploy`` as a library function: build, start, wait for every node, report.

:func:`deploy` does what ``autonomy zone deploy`` does, step by step (DESIGN.md §2)::

    autonomy.yaml -> manifest -> plan -> base image -> project images -> materialize
        -> compose.render -> engine.up -> heal pods -> encrypted ping of every node

and returns a :class:`DeployResult` (what was built and recreated, which nodes answered,
the zone's URLs). With ``only_pods`` it rebuilds only the images those pods use and
recreates only those pods' app services (``up -d --no-deps <services>``), leaving every
other container of the zone running untouched: the ``autonomy dev`` loop uses this when
a file under ``images/<image>/`` changes.

Library code: never prints. Progress goes to ``on_event(text)``; each text is an
:class:`Event`, a ``str`` with a ``kind`` ("step": a new phase, "progress": a transient
update of the current phase, "info": a line worth keeping, "warning").
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
from docker.models.containers import Container

from . import cluster as cluster_mod
from . import compose as compose_mod
from .engine import LABEL, ContainerState, Engine, expects_node, pick_public_port
from .errors import EngineError, UsageError
from .manifest import Manifest
from .manifest import load as load_manifest
from .plan import HTTP_PORT, ZonePlan, materialize
from .plan import plan as make_plan
from .readiness import Probe
from .settings import CliSettings

__all__ = ["DeployResult", "Event", "deploy", "plan_for", "current_public_port"]


class Event(str):
    """A progress message; ``kind`` is "step", "progress", "info" or "warning"."""

    kind: str

    def __new__(cls, text: str, kind: str = "info") -> Event:
        e = super().__new__(cls, text)
        e.kind = kind
        return e


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
    healed: tuple[str, ...]  # app containers restarted because their infra had restarted
    states: tuple[ContainerState, ...]
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


def _host_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def current_public_port(containers: Iterable[Container]) -> int | None:
    """The host port a zone's public pod publishes 8000 on, given the zone's containers."""
    for c in containers:
        if c.labels.get(LABEL + "role") != "infra":
            continue
        for cport, bindings in (c.attrs.get("HostConfig", {}).get("PortBindings") or {}).items():
            if cport == f"{HTTP_PORT}/tcp":
                for b in bindings or []:
                    if str(b.get("HostPort", "")).isdigit():
                        return int(b["HostPort"])
    return None


def plan_for(
    project: Path, settings: CliSettings, cluster_id: str, public_port: int, manifest: Manifest | None = None
) -> ZonePlan:
    """The zone's plan for ``project`` (the manifest is loaded unless given)."""
    manifest = manifest if manifest is not None else load_manifest(project)
    return make_plan(
        manifest,
        cluster_id,
        project,
        settings.zone_dir(manifest.name),
        host_cpus=float(os.cpu_count() or 1),
        public_port=public_port,
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


def _app_ids(containers: Iterable[Container]) -> dict[str, str]:
    """container id -> pod instance, for a zone's app containers."""
    return {c.id: c.labels.get(LABEL + "instance", "") for c in containers if c.labels.get(LABEL + "role") == "app"}


def _image_id(engine: Engine, tag: str) -> str | None:
    try:
        return engine.client.images.get(tag).id
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.DockerException as e:
        raise EngineError(f"cannot read image {tag}: {e}") from None


def deploy(
    project_dir: Path,
    settings: CliSettings,
    *,
    on_event: Callable[[str], None],
    only_pods: Iterable[str] | None = None,
    wait: float | None = None,
    labels: Mapping[str, str] | None = None,
    engine: Engine | None = None,
) -> DeployResult:
    """Deploy (or update in place) the zone of ``project_dir``; see the module docstring.

    ``only_pods``: pod names; rebuild only the images used by these pods and recreate
    only their app containers (``up -d --no-deps``); other pods keep running untouched,
    even when they use an image rebuilt here (they get it at the next full deploy). When
    the zone is not running yet, the whole zone is deployed. ``wait``: seconds to wait for
    every node to answer (default: ``settings.deploy_wait``). ``labels``: extra labels on
    every container and the network (``autonomy dev`` marks its zones with them).

    Raises :class:`~autonomy_cli.errors.CliError` (ManifestError, BuildError,
    DeployFailed, ...); nothing is printed.
    """
    from .image import ensure_base_image

    t0 = time.monotonic()
    project = Path(project_dir).resolve()
    if not project.is_dir():
        raise UsageError(f"{project}: not a folder")
    manifest = load_manifest(project)  # bad input stops here, before Docker is touched
    pods = _resolve_pods(manifest, only_pods) if only_pods is not None else None
    c, created = cluster_mod.enroll(settings.home)
    if created:
        on_event(Event(f"Enrolled cluster {c.id} (identity in {settings.home})"))
    engine = engine or Engine()
    client = engine.client
    existing = engine.containers(manifest.name)  # one listing serves every "before" question
    before = _app_ids(existing)
    if pods is not None and not before:
        pods = None  # nothing runs yet: a partial deploy is a whole one
    warnings: list[str] = []

    def warn(text: str) -> None:
        warnings.append(text)
        on_event(Event(text, "warning"))

    outlet_ports = [o.inlet_from for pod in manifest.pods for o in pod.outlets]
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
            public_port = pick_public_port(settings.public_port, manifest.name, client, avoid=outlet_ports)
            if public_port != settings.public_port:
                on_event(Event(f"port {settings.public_port} is taken; the zone's HTTP endpoint uses {public_port}"))
    p = plan_for(project, settings, c.id, public_port, manifest)
    for w in p.warnings:
        warn(w)
    for w in engine.preflight(p, _host_memory()):
        warn(w)

    on_event(Event(f"Base image {compose_mod.BASE_IMAGE} ...", "step"))
    base = ensure_base_image(client, source=settings.base_source, on_step=lambda m: on_event(Event(m, "progress")))
    on_event(Event(f"base image: {base.way}" + (f" ({base.source})" if base.way != "cached" else "")))

    if pods is None:
        builds = p.builds
        services: tuple[str, ...] | None = None
    else:
        tags = {n.image for inst in p.instances if inst.pod in pods for n in inst.nodes if n.build_context is not None}
        builds = tuple(b for b in p.builds if b.tag in tags)
        services = tuple(
            compose_mod.service_name(inst.name, n.container)
            for inst in p.instances
            if inst.pod in pods
            for n in inst.nodes
        )
    old_ids = {b.tag: _image_id(engine, b.tag) for b in builds}
    on_event(Event("Building images ...", "step"))
    built = engine.build(
        dataclasses.replace(p, builds=builds),
        on_line=lambda tag, line: on_event(Event(f"{tag}: {line[:100]}", "progress")),
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
    targets = [n for n in p.nodes() if expects_node(n) and (pods is None or n.pod in pods)]
    nodes = [n.name for n in targets]
    deadline = wait if wait is not None else settings.deploy_wait
    baseline = engine.restart_counts(p.zone, existing)
    probe: list[Probe] = []
    engine.ensure_network(p, labels or {})
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
                f"Starting zone {p.zone} ..." if services is None else f"Recreating {', '.join(services)} ...", "step"
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
            _up_services(engine, p, compose_text, services)
        if nodes and not probe:
            start_probe()
        healed = engine.heal_pods(p.zone)
        if healed:
            on_event(Event(f"restarted {', '.join(healed)}: their pod's infra container had restarted"))
        on_event(Event(f"Waiting for {len(nodes)} node(s) to answer an encrypted ping ...", "step"))
        check = engine.finish_probe(
            p,
            probe[0] if probe else None,
            deadline,
            baseline,
            on_tick=lambda t: on_event(
                Event(f"Waiting for {len(nodes)} node(s) to answer an encrypted ping ... {t:.0f} s", "progress")
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
    urls = (f"http://127.0.0.1:{p.public_port}",) if p.public_port is not None else ()
    portals = tuple(
        f"127.0.0.1:{port.host_port} -> {inst.name}:{port.container_port}"
        for inst in p.instances
        for port in inst.ports
        if port.purpose == "outlet"
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


def _up_services(engine: Engine, p: ZonePlan, compose_text: str, services: tuple[str, ...]) -> None:
    """``up -d --no-deps <services>``: recreate these services only (their pods' infra stays)."""
    p.compose_file.write_text(compose_text)
    cmd = [
        *engine.compose_command(),
        "-p",
        compose_mod.project_name(p.zone),
        "-f",
        str(p.compose_file),
        "up",
        "-d",
        "--no-build",
        "--no-deps",
        *services,
    ]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-15:])
        raise EngineError(f"`{' '.join(engine.compose_command())} up --no-deps` failed:\n{tail}")
