"""A fake container engine for unit tests of deploy() and the dev loop: it satisfies
autonomy_cli.zones.engine.Engine, records what it was asked, and keeps a zone's
containers as views in memory (no Docker)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from autonomy_cli import labels as L
from autonomy_cli.compose import network_labels
from autonomy_cli.docker.containers import ContainerView
from autonomy_cli.docker.engine import NodeCheck
from autonomy_cli.docker.image import BaseImageResult
from autonomy_cli.docker.pullcheck import mcp_refs
from autonomy_cli.logs.source import ContainerInfo, ListStream, LogStream
from autonomy_cli.names import service_name
from autonomy_cli.plan import ZonePlan
from autonomy_cli.settings import BaseSource

__all__ = ["FakeEngine"]


class _Probe:
    way = "host"

    def __init__(self, nodes: list[str]) -> None:
        self.nodes = nodes
        self.closed = False

    def poll(self, compose_done: bool) -> dict[str, Any] | None:
        return {"answered": {n: {"ms": 1.0, "workers": 1.0} for n in self.nodes}, "silent": []}

    def close(self) -> None:
        self.closed = True


class _NoLogs:
    def list(self, zone: str) -> list[ContainerInfo]:
        return []

    def open(self, info: ContainerInfo, *, since: int | None, tail: int | None, follow: bool) -> LogStream:
        return ListStream([])


class FakeEngine:
    """Records calls in :attr:`calls` (name, detail); containers live in :attr:`views`."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.views: dict[str, ContainerView] = {}  # service name -> container
        self.images: dict[str, str] = {}
        self.http_answers = True  # what wait_http says
        self._ids = itertools.count(1)

    # -- helpers

    def _new_id(self) -> str:
        return f"c{next(self._ids)}"

    def _app(self, plan: ZonePlan, instance: str, container: str) -> ContainerView:
        inst = next(i for i in plan.instances if i.name == instance)
        node = next(n for n in inst.nodes if n.container == container)
        labels = L.ContainerLabels(
            cluster=plan.cluster,
            zone=plan.zone,
            pod=inst.pod,
            instance=inst.name,
            clone=inst.clone,
            role="app",
            container=node.container,
            node=node.name if node.is_node else "",
            infra=inst.name,
        )
        return ContainerView(self._new_id(), f"x-{service_name(instance, container)}", "running", labels, "running")

    def services(self, kind: str) -> list[Any]:
        return [detail for name, detail in self.calls if name == kind]

    # -- the Engine protocol

    def containers(self, zone: str, *, all: bool = True) -> list[ContainerView]:
        return [v for v in self.views.values() if v.labels.zone == zone]

    def public_port(self, start: int, zone: str, avoid: Iterable[int] = ()) -> int:
        return next(p for p in itertools.count(start) if p not in set(avoid))

    def preflight(self, plan: ZonePlan, host_memory: int) -> list[str]:
        return []

    def ensure_base_image(self, source: BaseSource, on_step: Callable[[str], None] | None = None) -> BaseImageResult:
        return BaseImageResult(way="cached", image_id="base", base_hash="0" * 64, source="offline")

    def image_id(self, tag: str) -> str | None:
        return self.images.get(tag)

    def gateway_host(self) -> str:
        return "172.17.0.1"

    def wait_http(self, url: str, timeout: float) -> bool:
        self.calls.append(("wait_http", (url, timeout)))
        return self.http_answers

    def free_port(self, start: int, host: str = "127.0.0.1", avoid: Iterable[int] = ()) -> int:
        self.calls.append(("free_port", (start, host)))
        return next(p for p in itertools.count(start) if p not in set(avoid))

    def ensure_model_image(self, source: BaseSource, on_step: Callable[[str], None] | None = None) -> str:
        self.calls.append(("model_image", source))
        return "autonomy-local/smollm2:0123456789abcdef"

    def ensure_mcp_image(self, plan: ZonePlan, on_step: Callable[[str], None] | None = None) -> str | None:
        refs = mcp_refs(plan)
        if refs:
            self.calls.append(("mcp_image", tuple(refs)))
        return "cached" if refs else None

    def check_images(self, plan: ZonePlan) -> list[str]:
        self.calls.append(("check_images", tuple(b.tag for b in plan.builds)))
        return []

    def build(
        self, plan: ZonePlan, on_line: Callable[[str, str], None] | None = None, *, no_cache: bool = False
    ) -> dict[str, str]:
        self.calls.append(("build", sorted(b.tag for b in plan.builds)))
        for b in plan.builds:
            self.images[b.tag] = f"sha256:{b.tag}:{next(self._ids)}"
        return {b.tag: self.images[b.tag] for b in plan.builds}

    def ensure_network(self, plan: ZonePlan, labels: dict[str, str] | None = None) -> None:
        self.calls.append(("network", {**network_labels(plan), **(labels or {})}))

    def probe_way(self, zone: str, setting: str = "auto") -> str:
        return "host"

    def start_probe(
        self, plan: ZonePlan, nodes: list[str], timeout: float, old_apps: Iterable[str] = (), way: str = "auto"
    ) -> _Probe:
        self.calls.append(("probe", sorted(nodes)))
        return _Probe(nodes)

    def up(
        self,
        plan: ZonePlan,
        compose_text: str,
        on_network: Callable[[], None] | None = None,
        while_up: Callable[[], None] | None = None,
    ) -> None:
        self.calls.append(("up", plan.zone))
        self.views = {k: v for k, v in self.views.items() if v.labels.zone != plan.zone}
        for inst in plan.instances:
            labels = L.ContainerLabels(
                cluster=plan.cluster, zone=plan.zone, pod=inst.pod, instance=inst.name, clone=inst.clone, role="infra"
            )
            published = {p.container_port: p.host_port for p in inst.ports}
            self.views[inst.name] = ContainerView(
                self._new_id(), f"x-{inst.name}", "running", labels, "running", published=published
            )
            for n in inst.nodes:
                self.views[service_name(inst.name, n.container)] = self._app(plan, inst.name, n.container)
        gw = plan.gateway
        if gw is not None:  # the zone's own containers: gateway (and offline model)
            labels = L.ContainerLabels(cluster=plan.cluster, zone=plan.zone, role="gateway", container="gateway")
            self.views["autonomy.gateway"] = ContainerView(
                self._new_id(), "x-gateway", "running", dataclasses.replace(labels, listen=gw.listen), "running"
            )
            if gw.model is not None:
                labels = L.ContainerLabels(cluster=plan.cluster, zone=plan.zone, role="model", container="model")
                self.views["autonomy.model"] = ContainerView(
                    self._new_id(), "x-model", "running", labels, "running", published={8080: gw.model.host_port}
                )
        if on_network is not None:
            on_network()
        if while_up is not None:
            while_up()

    def up_services(self, plan: ZonePlan, compose_text: str, services: Iterable[str]) -> None:
        services = list(services)
        self.calls.append(("up_services", sorted(services)))
        for s in services:
            instance, _, container = s.partition("--")
            self.views[s] = self._app(plan, instance, container)

    def heal_pods(self, zone: str) -> list[str]:
        return []

    def finish_probe(
        self,
        plan: ZonePlan,
        probe: Any,
        timeout: float,
        baseline: dict[str, int],
        on_tick: Callable[[float], None] | None = None,
    ) -> NodeCheck:
        verdict = probe.poll(compose_done=True) if probe is not None else {"answered": {}, "silent": []}
        return NodeCheck(answered=verdict["answered"], containers=tuple(self.containers(plan.zone)))

    def remove_probes(self, zone: str) -> None:
        pass

    def restart_counts(self, zone: str, containers: Iterable[ContainerView] | None = None) -> dict[str, int]:
        return {}

    def states(self, zone: str, containers: Iterable[ContainerView] | None = None) -> list[ContainerView]:
        return list(self.containers(zone) if containers is None else containers)

    def delete(self, zone: str, state_dir: Path) -> dict[str, int]:
        n = len(self.containers(zone))
        self.calls.append(("delete", zone))
        self.views = {k: v for k, v in self.views.items() if v.labels.zone != zone}
        return {"containers": n, "networks": 1 if n else 0, "volumes": 0}

    def remove_images(self, zone: str) -> int:
        return 0

    def count(self, zone: str) -> dict[str, int]:
        return {"containers": len(self.containers(zone)), "networks": 0, "volumes": 0, "images": 0}

    def dev_owners(self, zone: str) -> set[str]:
        return {v.labels.dev for v in self.containers(zone)}

    def log_source(self) -> _NoLogs:
        return _NoLogs()

    def ask_nodes(self, zone: str, request: dict[str, Any], identity: Any) -> str:
        return '{"http": {}, "ping": {}}'
