"""Turn a validated :class:`~autonomy_cli.manifest.Manifest` into a :class:`ZonePlan`.

Second stage of the pipeline::

    Manifest --plan()--> ZonePlan --compose.render()--> compose dict
                            \\--materialize()--> roster.json, keys/*.key, secrets/*.env

:func:`plan` is pure: it reads nothing and writes nothing. It decides

* the pod instances: a pod with ``clones: 1`` has one instance named like the pod; with
  ``clones: N > 1`` the instances are ``<pod>-0`` .. ``<pod>-(N-1)``, each its own network
  namespace, hostname and node(s);
* one node identity per (instance, container): full name
  ``<cluster>-<zone>-<instance>-<container>`` (the container's ``NODE``), ZeroMQ port
  ``5555 + <container index in the pod>``, endpoint ``tcp://<instance>:<port>``;
* which containers are *nodes* (``NodePlan.kind``): those built locally from a context in
  ``node_contexts`` (:mod:`autonomy_cli.docker.kinds`; ``None``: every local build). The
  rest are *services*: no key, no roster entry, not waited for;
* resources: the pod's size (:mod:`autonomy_cli.sizes`) per container, CPUs clamped to
  ``host_cpus`` with *one* warning (Docker refuses more); labels keep the intended size;
* published ports, all on 127.0.0.1: the public pod's 8000 on ``public_port`` (moved up
  past any inlet port the zone uses), and each outlet with an ``inlet_from`` on its pod
  (``pod_name``, default: the pod listing it), to a private port (``OUTLET_BASE_PORT +
  <index>``) where the pod's infra container forwards to ``to`` from inside the pod; on a
  cloned pod, clone 0 only (a host port binds once). An outlet without ``inlet_from`` gets
  its forwarder too, unpublished, for ``zone inlet --to <pod>:<to>`` to reach;
* volumes: one named volume per (pod instance, declared volume), the same at every
  deploy (:func:`~autonomy_cli.names.volume_name`), and each container's mounts;
* the images built locally (:func:`~autonomy_cli.names.image_tag`), and the state dir's files;
* the model gateway, for a zone with a node (:mod:`autonomy_cli.gateway`);
* the warnings: the manifest's notes (:mod:`autonomy_cli.manifest.notes`) and the plan's own.

:func:`memory_check` is a deploy's pre-flight; writing files is :mod:`autonomy_cli.materialize`'s.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from autonomy.transport.roster import node_name

from . import names
from .errors import PlanError
from .gateway import GatewayPlan, GatewaySettings, gateway_plan
from .layout import ZoneFiles
from .manifest import Manifest, secret_value_problem
from .manifest import notes as manifest_notes
from .sizes import BIG, REGULAR, SIZES, Size, gib

__all__ = [
    "BIG",
    "HTTP_PORT",
    "NODE_BASE_PORT",
    "OUTLET_BASE_PORT",
    "REGULAR",
    "SIZES",
    "ImageBuild",
    "InstancePlan",
    "MountPlan",
    "NodePlan",
    "PublishedPort",
    "Size",
    "VolumePlan",
    "ZonePlan",
    "memory_check",
    "plan",
]

NODE_BASE_PORT = 5555
HTTP_PORT = 8000
#: the first private port of a pod's outlet forwarders (inside the pod's namespace):
#: above Linux's ephemeral range (32768-60999), so no outgoing connection holds it
OUTLET_BASE_PORT = 61000
_CLUSTER_RE = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True)
class PublishedPort:
    """``127.0.0.1:<host_port>`` on this machine -> ``<container_port>`` inside a pod.

    For an outlet, ``container_port`` is the private port of the pod's forwarder, which
    connects to ``to_host:to_port`` from inside the pod (``127.0.0.1`` for ``localhost``).
    An outlet without ``inlet_from`` has ``host_port`` None: its forwarder runs, and
    ``zone inlet --to <pod>:<to>`` reaches it, but nothing is published on this machine.
    """

    host_port: int | None
    container_port: int
    purpose: str  # "public" | "outlet"
    host_ip: str = "127.0.0.1"
    to_host: str = ""
    to_port: int = 0

    @property
    def target(self) -> str:
        """Where a connection to the host port ends up, inside the pod: ``127.0.0.1:7000``."""
        return f"{self.to_host}:{self.to_port}" if self.to_host else str(self.container_port)


@dataclass(frozen=True)
class VolumePlan:
    """A Docker named volume of one pod instance (its Compose key is its name)."""

    name: str  # autonomy-<zone>-<instance>--<volume>
    volume: str  # as declared in the pod
    size: int  # bytes, as declared (a local volume is not capped)


@dataclass(frozen=True)
class MountPlan:
    """Volume ``source`` (a :class:`VolumePlan` name) at ``target`` in one container."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class NodePlan:
    """One container of one pod instance, with its node identity (no key material)."""

    name: str  # full node name, the container's NODE
    pod: str
    instance: str
    clone: int
    container: str
    index: int  # position of the container in its pod
    port: int
    image: str  # what to run: a local tag or a registry reference
    build_context: Path | None  # absolute images/<image> when built locally
    env: tuple[tuple[str, str], ...]  # non-secret user variables, in order
    secret_env: tuple[tuple[str, str], ...] = field(repr=False)
    args: tuple[str, ...] | None
    key_file: Path
    secrets_file: Path | None  # set only when secret_env is not empty
    kind: str = "node"  # "node" (calls Node.start: key, roster, readiness) | "service"
    mounts: tuple[MountPlan, ...] = ()

    @property
    def is_node(self) -> bool:
        return self.kind == "node"

    @property
    def endpoint(self) -> str:
        return f"tcp://{self.instance}:{self.port}"


@dataclass(frozen=True)
class InstancePlan:
    """One pod instance: one network namespace (hostname ``name``) and its containers."""

    name: str
    pod: str
    clone: int
    size: str  # intended size, as written
    cpus: float  # per container, after clamping to the host
    memory: int  # bytes per container
    ports: tuple[PublishedPort, ...]
    nodes: tuple[NodePlan, ...]
    volumes: tuple[VolumePlan, ...] = ()


@dataclass(frozen=True)
class ImageBuild:
    """A local image to build once: ``tag`` from the folder ``context``."""

    tag: str
    context: Path


@dataclass(frozen=True)
class ZonePlan:
    """Everything later stages need to know about one zone; pure data."""

    cluster: str
    zone: str
    project_dir: Path
    state_dir: Path
    instances: tuple[InstancePlan, ...]
    builds: tuple[ImageBuild, ...]
    public_port: int | None  # host port of the zone's HTTP endpoint, if a pod is public
    warnings: tuple[str, ...] = ()
    gateway: GatewayPlan | None = None  # the model gateway: a zone with nodes has one

    @property
    def files(self) -> ZoneFiles:
        """The layout of the zone's state folder."""
        return ZoneFiles(self.state_dir)

    roster_file = property(lambda self: self.files.roster_file)
    keys_dir = property(lambda self: self.files.keys_dir)
    secrets_dir = property(lambda self: self.files.secrets_dir)

    @property
    def probe_name(self) -> str:
        """The identity ``zone deploy`` pings the nodes with (roster role ``probe``)."""
        return names.probe_name(self.cluster, self.zone)

    @property
    def probe_key_file(self) -> Path:
        return self.files.probe_key_file

    @property
    def compose_file(self) -> Path:
        """Where the engine writes the rendered Compose file."""
        return self.files.compose_file

    def nodes(self) -> tuple[NodePlan, ...]:
        """Every container of the zone, nodes and services (see ``NodePlan.kind``)."""
        return tuple(n for inst in self.instances for n in inst.nodes)

    def zone_nodes(self) -> tuple[NodePlan, ...]:
        """The containers that are nodes: they get a key, a roster entry, a readiness ping."""
        return tuple(n for n in self.nodes() if n.is_node)


def plan(
    manifest: Manifest,
    cluster_id: str,
    project_dir: Path,
    state_dir: Path,
    *,
    host_cpus: float,
    public_port: int = 32100,
    node_contexts: Collection[str] | None = None,
    gateway: GatewaySettings | None = None,
) -> ZonePlan:
    """Expand pods x clones into instances and nodes; decide ports, sizes and images.

    ``project_dir`` is where ``images/`` lives (build contexts become absolute under it);
    ``state_dir`` is the zone's private folder (e.g. ``~/.autonomy/zones/<zone>``).
    ``node_contexts``: the build contexts (as written in the manifest, ``images/<name>``)
    whose containers are nodes; ``None``: every locally built container is one.
    ``gateway``: the model gateway's settings; a zone gets one when it has a node.
    Touches no file. Raises :class:`PlanError` for inputs no manifest can fix.
    """
    if not _CLUSTER_RE.match(cluster_id):
        raise PlanError(f"cluster id must be lowercase letters and digits, got {cluster_id!r}")
    if not host_cpus > 0:
        raise PlanError(f"host_cpus must be positive, got {host_cpus!r}")
    if not 1 <= public_port <= 65535:
        raise PlanError(f"public port must be between 1 and 65535, got {public_port}")
    project_dir = Path(project_dir).absolute()
    state_dir = Path(state_dir).absolute()
    zone = manifest.name

    taken = {o.inlet_from for pod in manifest.pods for o in pod.outlets if o.inlet_from is not None}
    published: dict[str, list[PublishedPort]] = {}  # pod -> the outlets its clone 0 publishes
    unpublished: list[str] = []
    for pod in manifest.pods:
        for o in pod.outlets:
            if o.inlet_from is None:
                unpublished.append(f"{o.pod_name or pod.name}:{o.to}")
            on = published.setdefault(o.pod_name or pod.name, [])
            on.append(
                PublishedPort(o.inlet_from, OUTLET_BASE_PORT + len(on), "outlet", to_host="127.0.0.1", to_port=o.to)
            )
    chosen_public: int | None = None
    if manifest.public_pod is not None:
        chosen_public = public_port
        while chosen_public in taken:
            chosen_public += 1
        if chosen_public > 65535:
            raise PlanError(f"no free port at or above {public_port} for the public pod")

    builds: dict[str, ImageBuild] = {}
    instances: list[InstancePlan] = []
    clamped: list[str] = []
    outlets_on_clone0: list[str] = []
    seen_nodes: set[str] = set()
    for pod in manifest.pods:
        size = SIZES[pod.size]
        cpus = min(size.cpus, float(host_cpus))
        if cpus < size.cpus:
            clamped.append(f"{pod.name} ({size.name}: {size.cpus:g})")
        if pod.clones > 1 and (any(p.host_port for p in published.get(pod.name, ())) or pod.public):
            outlets_on_clone0.append(pod.name)
        for clone, instance in enumerate(names.instance_names(pod.name, pod.clones)):
            ports: list[PublishedPort] = []
            if clone == 0:
                if pod.public:
                    assert chosen_public is not None
                    ports.append(PublishedPort(chosen_public, HTTP_PORT, "public"))
                ports += published.get(pod.name, [])
            volumes = {
                v.name: VolumePlan(names.volume_name(zone, instance, v.name), v.name, v.size) for v in pod.volumes
            }
            nodes: list[NodePlan] = []
            for index, c in enumerate(pod.containers):
                full = node_name(cluster_id, zone, instance, c.name)
                if full in seen_nodes:
                    raise PlanError(f"two containers would both be node {full!r}; rename one of them")
                seen_nodes.add(full)
                context = project_dir / c.image.context if c.image.context is not None else None
                is_node = c.image.context is not None and (node_contexts is None or c.image.context in node_contexts)
                if context is not None:
                    tag = names.image_tag(zone, c.image.name)
                    builds.setdefault(tag, ImageBuild(tag, context))
                    image = tag
                else:
                    image = c.image.name
                secret_env = tuple((e.name, e.value) for e in c.secret_env)
                for name, value in secret_env:
                    why = secret_value_problem(value)
                    if why is not None:  # manifest.load already refuses these
                        raise PlanError(f"secret variable {name} of {instance}/{c.name} {why}")
                files = ZoneFiles(state_dir)
                nodes.append(
                    NodePlan(
                        name=full,
                        pod=pod.name,
                        instance=instance,
                        clone=clone,
                        container=c.name,
                        index=index,
                        port=NODE_BASE_PORT + index,
                        image=image,
                        build_context=context,
                        env=tuple((e.name, e.value) for e in c.plain_env),
                        secret_env=secret_env,
                        args=c.args,
                        key_file=files.key_file(full),
                        secrets_file=files.secrets_file(instance, c.name) if secret_env else None,
                        kind="node" if is_node else "service",
                        mounts=tuple(
                            MountPlan(volumes[m.name].name, m.mount_path, m.read_only) for m in c.volume_mounts
                        ),
                    )
                )
            instances.append(
                InstancePlan(
                    name=instance,
                    pod=pod.name,
                    clone=clone,
                    size=size.name,
                    cpus=cpus,
                    memory=size.memory,
                    ports=tuple(ports),
                    nodes=tuple(nodes),
                    volumes=tuple(volumes.values()),
                )
            )

    warnings = list(manifest_notes(manifest))
    if unpublished:
        warnings.append(
            f"outlets {', '.join(unpublished)} have no inlet_from: nothing on this machine listens for them "
            "(add inlet_from: localhost:<port>, or run `autonomy zone inlet --to <pod>:<port>`)"
        )
    if clamped:
        warnings.append(
            f"this machine has {host_cpus:g} CPUs: pods {', '.join(clamped)} ask for more, "
            f"so each of their containers is limited to {host_cpus:g} CPUs"
        )
    if outlets_on_clone0:
        warnings.append(f"pods {', '.join(outlets_on_clone0)} have clones: their published ports go to clone 0 only")
    notes = (c.image.pull_note for pod in manifest.pods for c in pod.containers)
    warnings += dict.fromkeys(note for note in notes if note is not None)  # each image once, in order
    has_node = any(n.is_node for inst in instances for n in inst.nodes)
    return ZonePlan(
        cluster=cluster_id,
        zone=zone,
        project_dir=project_dir,
        state_dir=state_dir,
        instances=tuple(instances),
        builds=tuple(builds.values()),
        public_port=chosen_public,
        warnings=tuple(warnings),
        gateway=gateway_plan(gateway, ZoneFiles(state_dir)) if gateway is not None and has_node else None,
    )


def memory_check(plan: ZonePlan, host_memory: int) -> tuple[list[str], list[str]]:
    """(problems, warnings) of running ``plan`` on a host with ``host_memory`` bytes (0: unknown).

    A container's memory limit is a cap, not a reservation: Docker starts any number of
    containers whatever their limits add up to, and most use far less than their cap
    (80 regular pods use about 3 GB). So only a container whose own limit is larger than
    the host's memory is a problem; a zone whose limits add up to more than the host has,
    or to most of it, is a warning with the figures.
    """
    if not host_memory:
        return [], []
    problems = [
        f"pod {inst.pod} ({inst.size}) gives each container {gib(inst.memory)} of memory; "
        f"this host has {gib(host_memory)}"
        for inst in plan.instances
        if inst.clone == 0 and inst.nodes and inst.memory > host_memory
    ]
    total = sum(inst.memory * len(inst.nodes) for inst in plan.instances)
    warnings: list[str] = []
    if not problems and total > host_memory * 0.75:
        warnings.append(
            f"the zone's {len(plan.nodes())} containers may use up to {gib(total)} of memory together "
            f"if each reaches its limit; this host has {gib(host_memory)} (limits are caps, not reservations)"
        )
    return problems, warnings
