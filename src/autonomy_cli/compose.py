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
      main-pod--main:            # one service per container: <instance>--<container>
        network_mode: service:main-pod               # shares localhost with its pod
        image: autonomy-hello-main  (+ build: images/main, on the first service using it)
        environment: CLUSTER, ZONE, NODE, AUTONOMY_ROSTER, AUTONOMY_KEY, AUTONOMY_HTTP_PORT, user env
        env_file: <state>/secrets/main-pod--main.env # secret values only ever live there
        volumes: roster.json and this node's key file, read-only

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
from .names import BASE_IMAGE, network_name, project_name, service_name
from .plan import HTTP_PORT, InstancePlan, NodePlan, ZonePlan
from .sizes import INFRA

__all__ = [
    "BASE_FILE",
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
_INFRA_ORDER = ("image", "pull_policy", "hostname", "entrypoint", "networks", "ports", "cpus", "mem_limit")
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
            labels.update(
                {L.ROLE: L.Role.APP.value, L.CONTAINER: node.container, L.NODE: node.name, L.INFRA: inst.name}
            )
    return labels


def _ordered(service: dict[str, Any], head: tuple[str, ...]) -> dict[str, Any]:
    order = [*head, *(k for k in _TAIL_ORDER if k not in head)]
    out = {k: service[k] for k in order if k in service}
    out.update({k: v for k, v in service.items() if k not in out})
    return out


def _infra(plan: ZonePlan, inst: InstancePlan) -> dict[str, Any]:
    service: dict[str, Any] = copy.deepcopy(base_policy()["services"]["infra"])
    service.update({"image": BASE_IMAGE, "hostname": inst.name})
    if inst.ports:
        service["ports"] = [f"{p.host_ip}:{p.host_port}:{p.container_port}" for p in inst.ports]
    service.update({"cpus": min(INFRA.cpus, inst.cpus), "mem_limit": INFRA.memory, "labels": _labels(plan, inst)})
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
    environment = {"CLUSTER": plan.cluster, "ZONE": plan.zone, "NODE": node.name}
    environment.update(service.get("environment") or {})
    environment.update(dict(node.env))
    service["environment"] = environment
    if node.secrets_file is not None:
        service["env_file"] = [str(node.secrets_file)]
    service["volumes"] = [f"{plan.roster_file}:{ROSTER_MOUNT}:ro", f"{node.key_file}:{KEY_MOUNT}:ro"]
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
    # the engine creates the network (labelled, before Compose starts) so that the
    # readiness probe can join it while Compose is still starting: see DockerEngine.up
    network = {"name": network_name(plan.zone), **base_policy()["networks"][NETWORK_KEY]}
    rendered: dict[str, Any] = _escape({"services": services, "networks": {NETWORK_KEY: network}})
    return rendered


def dump(compose: dict[str, Any]) -> str:
    """Stable YAML text for a rendered Compose dict (keys in render order)."""
    body = yaml.safe_dump(compose, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)
    return _HEADER + body
