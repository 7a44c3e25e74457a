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
  ``5555 + <container index in the pod>``, endpoint ``tcp://<instance>:<port>``. Every
  container gets one, whether or not it calls ``Node.start()`` (an MCP server simply
  never answers; discovery only reports live nodes);
* resources: the pod's size (:mod:`autonomy_cli.sizes`) per container.
  Docker refuses more CPUs than the host has, so CPUs are clamped to ``host_cpus`` and
  *one* warning says which pods were clamped; the intended size is kept for labels;
* published ports, all on 127.0.0.1: the public pod's 8000 on ``public_port`` (moved up
  past any inlet port the zone itself uses), and each portal outlet. Host ports cannot be
  bound twice, so on a cloned pod they go to clone 0 only;
* which images are built locally (:func:`~autonomy_cli.names.image_tag` from
  ``images/<image>``), each once;
* where the zone's private files live under ``state_dir`` (:mod:`autonomy_cli.layout`).

Writing the files is :func:`autonomy_cli.materialize.materialize`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from autonomy.transport.roster import node_name

from . import names
from .errors import PlanError
from .layout import ZoneFiles
from .manifest import Manifest, secret_value_problem
from .sizes import BIG, REGULAR, SIZES, Size

__all__ = [
    "BIG",
    "HTTP_PORT",
    "NODE_BASE_PORT",
    "REGULAR",
    "SIZES",
    "ImageBuild",
    "InstancePlan",
    "NodePlan",
    "PublishedPort",
    "Size",
    "ZonePlan",
    "plan",
]

NODE_BASE_PORT = 5555
HTTP_PORT = 8000
_CLUSTER_RE = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True)
class PublishedPort:
    """``127.0.0.1:<host_port>`` on this machine -> ``<container_port>`` inside a pod."""

    host_port: int
    container_port: int
    purpose: str  # "public" | "outlet"
    host_ip: str = "127.0.0.1"


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

    @property
    def files(self) -> ZoneFiles:
        """The layout of the zone's state folder."""
        return ZoneFiles(self.state_dir)

    @property
    def roster_file(self) -> Path:
        return self.files.roster_file

    @property
    def keys_dir(self) -> Path:
        return self.files.keys_dir

    @property
    def secrets_dir(self) -> Path:
        return self.files.secrets_dir

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
        return tuple(n for inst in self.instances for n in inst.nodes)


def plan(
    manifest: Manifest,
    cluster_id: str,
    project_dir: Path,
    state_dir: Path,
    *,
    host_cpus: float,
    public_port: int = 32100,
) -> ZonePlan:
    """Expand pods x clones into instances and nodes; decide ports, sizes and images.

    ``project_dir`` is where ``images/`` lives (build contexts become absolute under it);
    ``state_dir`` is the zone's private folder (e.g. ``~/.autonomy/zones/<zone>``).
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

    taken = {o.inlet_from for pod in manifest.pods for o in pod.outlets}
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
        if pod.clones > 1 and (pod.outlets or pod.public):
            outlets_on_clone0.append(pod.name)
        for clone, instance in enumerate(names.instance_names(pod.name, pod.clones)):
            ports: list[PublishedPort] = []
            if clone == 0:
                if pod.public:
                    assert chosen_public is not None
                    ports.append(PublishedPort(chosen_public, HTTP_PORT, "public"))
                ports += [PublishedPort(o.inlet_from, o.to, "outlet") for o in pod.outlets]
            nodes: list[NodePlan] = []
            for index, c in enumerate(pod.containers):
                full = node_name(cluster_id, zone, instance, c.name)
                if full in seen_nodes:
                    raise PlanError(f"two containers would both be node {full!r}; rename one of them")
                seen_nodes.add(full)
                context = project_dir / c.image.context if c.image.context is not None else None
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
                )
            )

    warnings: list[str] = []
    if clamped:
        warnings.append(
            f"this machine has {host_cpus:g} CPUs: pods {', '.join(clamped)} ask for more, "
            f"so each of their containers is limited to {host_cpus:g} CPUs"
        )
    if outlets_on_clone0:
        warnings.append(f"pods {', '.join(outlets_on_clone0)} have clones: their published ports go to clone 0 only")
    notes = (c.image.pull_note for pod in manifest.pods for c in pod.containers)
    warnings += dict.fromkeys(note for note in notes if note is not None)  # each image once, in order
    return ZonePlan(
        cluster=cluster_id,
        zone=zone,
        project_dir=project_dir,
        state_dir=state_dir,
        instances=tuple(instances),
        builds=tuple(builds.values()),
        public_port=chosen_public,
        warnings=tuple(warnings),
    )
