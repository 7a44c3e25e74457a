"""Render a :class:`~autonomy_cli.plan.ZonePlan` as a Docker Compose file (a plain dict).

Third stage of the pipeline. :func:`render` is a pure function of the plan,
golden-tested in ``tests/cli/test_compose_golden.py``; :func:`dump` turns the dict into
stable YAML text. It starts from ``docker-compose.base.yml`` (package data): the policy
every zone shares (restart policy, log rotation, stop grace period, the infra entrypoint,
the fixed environment, the read-only mounts, the zone network); this module adds what
the plan decides. The output is valid for docker-compose 1.29 (Compose Specification
without a ``version`` key) and for Compose v2.

The mapping, for a zone ``hello`` with pod ``main-pod`` (container ``main``)::

    networks:
      zone:                      # the zone's own bridge network, autonomy-hello (external:
                                 # created by the engine with the zone's labels)
    services:
      main-pod:                  # infra: owns the pod's network namespace (the "pause" container)
        hostname: main-pod       # other pods reach this pod by its instance name
        image: ghcr.io/build-trust/autonomy-python   (never pulled: built locally)
        ports: ["127.0.0.1:32100:8000"]              (public pod / portal outlets only)
        command: [--forward, 61000=127.0.0.1:7000]   (per outlet: see below)
      main-pod--main:            # one service per container: <instance>--<container>
        network_mode: service:main-pod               # shares localhost with its pod
        image: autonomy-hello-main  (+ build: images/main, on the first service using it)
        environment: CLUSTER, ZONE, NODE, AUTONOMY_ROSTER, AUTONOMY_KEY, AUTONOMY_HTTP_PORT, user env
        env_file: <state>/secrets/main-pod--main.env # secret values only ever live there
        volumes: roster.json and this node's key file, read-only; the pod's volumes it mounts
                                 # (a *service*, a container that is no node, gets no
                                 # roster, key nor NODE: see autonomy_cli.docker.kinds)
      autonomy.gateway:          # the model gateway, for a zone with a node (autonomy_cli.gateway)
        network_mode: host       # reaches the host's 127.0.0.1 (Ollama) and the internet
        entrypoint: [python, -m, autonomy.clusters.gateway, --listen, 172.17.0.1:32190]
        env_file: <state>/secrets/gateway.env        # its token and the provider keys
      autonomy.model:            # the offline model, when no provider is configured
        ports: ["127.0.0.1:32290:8080"]
    volumes:
      autonomy-hello-main-pod--data:   # a pod instance's named volume (kept across deploys,
                                       # removed by `zone delete`), labelled like the pod

With a gateway, every app container gets ``AUTONOMY_USE_EXTERNAL_APIS_GATEWAY``,
``AUTONOMY_EXTERNAL_APIS_GATEWAY_URL`` (``http://host.docker.internal:<port>``) and, in
``<state>/secrets/gateway-client.env``, the token as its API key; each infra container maps
``host.docker.internal`` to Docker's ``host-gateway`` (a container that joins another's
network namespace shares its ``/etc/hosts`` and may not set its own).

A portal outlet ``{to: localhost:7000, inlet_from: 32102}`` is published as
``127.0.0.1:32102:61000`` on the infra container, whose program listens on
``0.0.0.0:61000`` in the pod's namespace and connects each connection to
``127.0.0.1:7000`` there (``autonomy.clusters.infra``): a Docker port publish alone
reaches only sockets bound to the pod's external address, never a server bound to the
pod's 127.0.0.1 (the SDK's Repl is one).

Every service (and the network, see :func:`network_labels`) carries
``computer.autonomy.*`` labels (:mod:`autonomy_cli.labels`):
Docker itself is the record of what is deployed. ``cpus``/``mem_limit`` come from the
pod's size (already clamped by the planner); published ports bind to 127.0.0.1 only.
Every ``$`` coming from user text is doubled, so Compose never interpolates it.

A pod lives and dies as one unit (compose#8918)
-----------------------------------------------
A container joined with ``network_mode: service:<infra>`` shares the infra container's
network namespace *as it was when the container started*. If the infra container
restarts (crash, ``docker restart``, daemon restart), it gets a fresh namespace and the
pod's other containers are left with only a dead loopback: no error, no exit, just
silence. Compose does not handle this. What this file provides:

* every app container has ``restart: unless-stopped`` (the base file) and a label
  ``computer.autonomy.infra: <instance>`` naming the infra service it belongs to, and
  every infra container has ``computer.autonomy.role: infra``;
* after a daemon restart the app containers may start before their infra container;
  they then fail to start and their restart policy retries until the infra is up.

What the engine (and anything that watches a zone) must do:

1. After ``up``, and whenever it sees a Docker ``start`` event for a container labelled
   ``computer.autonomy.role=infra`` of a zone, restart (``docker restart``, not
   recreate) every running container labelled ``computer.autonomy.zone=<zone>`` and
   ``computer.autonomy.infra=<instance>`` whose ``State.StartedAt`` is earlier than the
   infra container's. Restart keeps the container id, and the app rejoins the infra's
   current namespace because the join is by container id.
2. ``zone deploy`` on an already running zone does the same check once, so a pod broken
   while nobody watched is healed by the next deploy.
3. The runtime heals its own containers without the engine (``AUTONOMY_POD_WATCHDOG=1``
   in every app container): a node that sees its namespace hold nothing but ``lo``
   (``/sys/class/net``) exits with code 3; ``restart: unless-stopped`` then starts it
   again inside the infra's current namespace. Containers that are not nodes (an MCP
   server) still need (1).
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from typing import Any

import yaml

from . import labels as L
from .gateway import CA_MOUNT, GATEWAY_SERVICE, HOST_ALIAS, MODEL_PORT, MODEL_SERVICE, GatewayPlan
from .names import BASE_IMAGE, network_name, project_name, service_name
from .plan import HTTP_PORT, InstancePlan, NodePlan, ZonePlan
from .sizes import GATEWAY, INFRA, MODEL

__all__ = [
    "BASE_FILE",
    "FORWARD_FLAG",
    "KEY_MOUNT",
    "NETWORK_KEY",
    "ROSTER_MOUNT",
    "base_policy",
    "dump",
    "network_labels",
    "network_name",
    "project_name",
    "render",
    "service_name",
]

BASE_FILE = "docker-compose.base.yml"
_HEADER = "# Rendered by `autonomy zone deploy` from autonomy.yaml. Do not edit: it is rewritten on every deploy.\n"
# the order of keys in a rendered service (policy keys from the base file among them)
_INFRA_ORDER = (
    "image",
    "pull_policy",
    "hostname",
    "entrypoint",
    "command",
    "networks",
    "network_mode",
    "extra_hosts",
    "depends_on",
    "environment",
    "env_file",
    "ports",
)
#: the infra program's option for one outlet: ``--forward <private port>=<host>:<port>``
FORWARD_FLAG = "--forward"
_APP_ORDER = ("image", "build", "pull_policy", "network_mode", "depends_on", "command", "environment", "env_file")
_TAIL_ORDER = ("volumes", "cpus", "mem_limit", "restart", "stop_grace_period", "logging", "labels")


@functools.cache
def base_policy() -> dict[str, Any]:
    """``docker-compose.base.yml``, parsed (read once; callers get copies through render)."""
    text = (importlib.resources.files("autonomy_cli") / BASE_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{BASE_FILE}: expected a mapping")
    return {str(k): v for k, v in data.items()}


ROSTER_MOUNT: str = base_policy()["x-mounts"]["roster"]
KEY_MOUNT: str = base_policy()["x-mounts"]["key"]
NETWORK_KEY: str = next(iter(base_policy()["networks"]))


def network_labels(plan: ZonePlan) -> dict[str, str]:
    """The labels of the zone's network (created by the engine, external to Compose)."""
    return _labels(plan)


def _labels(plan: ZonePlan, inst: InstancePlan | None = None, node: NodePlan | None = None) -> dict[str, str]:
    labels = {L.CLUSTER: plan.cluster, L.ZONE: plan.zone}
    if inst is not None:
        labels.update({L.POD: inst.pod, L.INSTANCE: inst.name, L.CLONE: str(inst.clone), L.SIZE: inst.size})
        if node is None:
            labels[L.ROLE] = L.Role.INFRA.value
        else:
            labels.update({L.ROLE: L.Role.APP.value, L.CONTAINER: node.container})
            if node.is_node:  # a service has no node label: that is how it is told apart
                labels[L.NODE] = node.name
            labels[L.INFRA] = inst.name
    return labels


def _ordered(service: dict[str, Any], head: tuple[str, ...]) -> dict[str, Any]:
    order = [*head, *(k for k in _TAIL_ORDER if k not in head)]
    out = {k: service[k] for k in order if k in service}
    out.update({k: v for k, v in service.items() if k not in out})
    return out


def _infra(plan: ZonePlan, inst: InstancePlan) -> dict[str, Any]:
    service: dict[str, Any] = copy.deepcopy(base_policy()["services"]["infra"])
    service.update({"image": BASE_IMAGE, "hostname": inst.name})
    forwards = [f"{p.container_port}={p.target}" for p in inst.ports if p.purpose == "outlet"]
    if forwards:  # the infra process forwards each outlet from inside the pod
        service["command"] = [arg for f in forwards for arg in (FORWARD_FLAG, f)]
    if plan.gateway is not None:  # the pod's /etc/hosts is its infra container's
        service["extra_hosts"] = [f"{HOST_ALIAS}:host-gateway"]
    published = [p for p in inst.ports if p.host_port is not None]
    if published:
        service["ports"] = [f"{p.host_ip}:{p.host_port}:{p.container_port}" for p in published]
    labels = _labels(plan, inst)
    if forwards:  # where `zone inlet --to <pod>:<to>` finds an outlet's forwarder
        labels[L.OUTLETS] = ",".join(f"{p.to_port}={p.container_port}" for p in inst.ports if p.purpose == "outlet")
    service.update({"cpus": min(INFRA.cpus, inst.cpus), "mem_limit": INFRA.memory, "labels": labels})
    return _ordered(service, _INFRA_ORDER)


def _zone_labels(plan: ZonePlan, role: L.Role) -> dict[str, str]:
    """A container of the zone that belongs to no pod: the gateway, the offline model."""
    return {L.CLUSTER: plan.cluster, L.ZONE: plan.zone, L.ROLE: role.value, L.CONTAINER: role.value}


def _gateway(plan: ZonePlan, gw: GatewayPlan) -> dict[str, Any]:
    service: dict[str, Any] = copy.deepcopy(base_policy()["services"]["gateway"])
    service["image"] = BASE_IMAGE
    service["entrypoint"] = [*service["entrypoint"], "--listen", gw.listen]
    if gw.model is not None:
        service["depends_on"] = [MODEL_SERVICE]
    service["environment"] = gw.gateway_env()
    service["env_file"] = [str(gw.env_file)]  # the token and the provider keys live there only
    if gw.ca_file is not None:
        service["volumes"] = [f"{gw.ca_file}:{CA_MOUNT}:ro"]
    labels = {**_zone_labels(plan, L.Role.GATEWAY), L.LISTEN: gw.listen}
    service.update({"cpus": GATEWAY.cpus, "mem_limit": GATEWAY.memory, "labels": labels})
    return _ordered(service, _INFRA_ORDER)


def _model(plan: ZonePlan, gw: GatewayPlan) -> dict[str, Any]:
    assert gw.model is not None
    service: dict[str, Any] = copy.deepcopy(base_policy()["services"]["model"])
    service["image"] = gw.model.image
    service["ports"] = [f"127.0.0.1:{gw.model.host_port}:{MODEL_PORT}"]
    service.update({"cpus": MODEL.cpus, "mem_limit": MODEL.memory, "labels": _zone_labels(plan, L.Role.MODEL)})
    return _ordered(service, _INFRA_ORDER)


def _app(plan: ZonePlan, inst: InstancePlan, node: NodePlan, *, build: bool) -> dict[str, Any]:
    service: dict[str, Any] = copy.deepcopy(base_policy()["services"]["app"])
    service["image"] = node.image
    if build:
        assert node.build_context is not None
        service["build"] = {"context": str(node.build_context)}
    elif node.build_context is not None:
        service["pull_policy"] = "never"  # built by another service of this file
    service["network_mode"] = f"service:{inst.name}"
    service["depends_on"] = [inst.name]
    if node.args:  # appended to the image's ENTRYPOINT; [] and none both keep its CMD
        service["command"] = list(node.args)
    environment = {"CLUSTER": plan.cluster, "ZONE": plan.zone}
    if node.is_node:
        environment["NODE"] = node.name
        environment.update(service.get("environment") or {})
    else:  # a service: no identity, no roster (least privilege); see docker/kinds.py
        environment.update(base_policy()["x-service-environment"])
    env_files = []
    if plan.gateway is not None:  # before the user's own: a value they set wins
        environment.update(plan.gateway.app_env())
        env_files.append(str(plan.gateway.client_env_file))
    environment.update(dict(node.env))
    service["environment"] = environment
    if node.secrets_file is not None:
        env_files.append(str(node.secrets_file))
    if env_files:  # a later file wins over an earlier one
        service["env_file"] = env_files
    service["volumes"] = (
        [f"{plan.roster_file}:{ROSTER_MOUNT}:ro", f"{node.key_file}:{KEY_MOUNT}:ro"] if node.is_node else []
    )
    for m in node.mounts:  # the long syntax: a path may hold what the short one splits on
        mount: dict[str, Any] = {"type": "volume", "source": m.source, "target": m.target}
        if m.read_only:
            mount["read_only"] = True
        service["volumes"].append(mount)
    if not service["volumes"]:
        del service["volumes"]
    service.update({"cpus": inst.cpus, "mem_limit": inst.memory, "labels": _labels(plan, inst, node)})
    return _ordered(service, _APP_ORDER)


def _escape(value: Any) -> Any:
    """Double every ``$`` in string values (not keys): Compose must not interpolate them."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def render(plan: ZonePlan) -> dict[str, Any]:
    """The zone's Compose file as a plain dict (pure: same plan, same dict)."""
    assert base_policy()["services"]["app"]["environment"]["AUTONOMY_HTTP_PORT"] == str(HTTP_PORT)
    services: dict[str, Any] = {}
    built: set[str] = set()
    for inst in plan.instances:
        services[inst.name] = _infra(plan, inst)
        for node in inst.nodes:
            build = node.build_context is not None and node.image not in built
            if build:
                built.add(node.image)
            services[service_name(inst.name, node.container)] = _app(plan, inst, node, build=build)
    if plan.gateway is not None:
        if plan.gateway.model is not None:
            services[MODEL_SERVICE] = _model(plan, plan.gateway)
        services[GATEWAY_SERVICE] = _gateway(plan, plan.gateway)
    # the engine creates the network (labelled, before Compose starts) so that the
    # readiness probe can join it while Compose is still starting: see DockerEngine.up
    network = {"name": network_name(plan.zone), **base_policy()["networks"][NETWORK_KEY]}
    volumes = {
        v.name: {"name": v.name, "labels": {k: x for k, x in _labels(plan, inst).items() if k != L.ROLE}}
        for inst in plan.instances
        for v in inst.volumes
    }  # labelled like its pod, without a role: a volume is neither infra nor app
    body: dict[str, Any] = {"services": services, "networks": {NETWORK_KEY: network}}
    if volumes:
        body["volumes"] = volumes
    rendered: dict[str, Any] = _escape(body)
    return rendered


def dump(compose: dict[str, Any]) -> str:
    """Stable YAML text for a rendered Compose dict (keys in render order)."""
    body = yaml.safe_dump(compose, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
    return _HEADER + body
