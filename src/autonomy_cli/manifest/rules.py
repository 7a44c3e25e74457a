"""Rules across items of autonomy.yaml (unique names, one public pod, distinct inlet ports,
distinct pod instance and node names), checked on the raw YAML data so that they are
reported even when other parts of the file are broken."""

from __future__ import annotations

from typing import Any

from ..errors import Problem
from ..names import instance_names
from .model import _NAME_RE, MAX_CLONES, parse_port

__all__ = ["cross_checks"]


def cross_checks(data: dict[Any, Any]) -> list[Problem]:
    """Rules across items, checked on the raw data so they show up next to other errors."""
    problems: list[Problem] = []
    pods = data.get("pods")
    if not isinstance(pods, list):
        return problems
    pod_names: dict[str, int] = {}
    public_at: int | None = None
    inlets: dict[int, str] = {}
    instance_owner: dict[str, tuple[int, str]] = {}
    node_owner: dict[str, str] = {}
    for i, pod in enumerate(pods):
        if not isinstance(pod, dict):
            continue
        name = pod.get("name")
        good_name = isinstance(name, str) and _NAME_RE.match(name) is not None
        if isinstance(name, str):
            if name in pod_names:
                problems.append(
                    Problem(f"pods[{i}].name", f"pod name '{name}' is already used by pods[{pod_names[name]}]")
                )
                good_name = False
            else:
                pod_names[name] = i
        if pod.get("public") is True:
            if public_at is None:
                public_at = i
            else:
                problems.append(
                    Problem(f"pods[{i}].public", f"only one pod can be public, and pods[{public_at}] already is")
                )
        containers = pod.get("containers")
        container_names: list[str] = []
        if isinstance(containers, list):
            seen: dict[str, int] = {}
            for j, c in enumerate(containers):
                cname = c.get("name") if isinstance(c, dict) else None
                if not isinstance(cname, str):
                    continue
                if cname in seen:
                    problems.append(
                        Problem(
                            f"pods[{i}].containers[{j}].name",
                            f"container name '{cname}' is already used by containers[{seen[cname]}]",
                        )
                    )
                else:
                    seen[cname] = j
                    container_names.append(cname)
        portals = pod.get("portals")
        outlets = portals.get("outlets") if isinstance(portals, dict) else None
        if isinstance(outlets, list):
            for k, outlet in enumerate(outlets):
                raw = outlet.get("inlet_from") if isinstance(outlet, dict) else None
                try:
                    port = parse_port(raw)
                except ValueError:
                    continue
                where = f"pods[{i}].portals.outlets[{k}]"
                if port in inlets:
                    problems.append(Problem(f"{where}.inlet_from", f"port {port} is already used by {inlets[port]}"))
                else:
                    inlets[port] = where
        clones = pod.get("clones", 1)
        if not good_name or isinstance(clones, bool) or not isinstance(clones, int) or not 1 <= clones <= MAX_CLONES:
            continue
        assert isinstance(name, str)
        for k, instance in enumerate(instance_names(name, clones)):
            owner = instance_owner.get(instance)
            if owner is not None:
                what = f"clone {k} of pod '{name}'" if clones > 1 else f"pod '{name}'"
                problems.append(
                    Problem(
                        f"pods[{i}].name",
                        f"{what} would be named '{instance}', like a pod instance of pods[{owner[0]}] ('{owner[1]}')",
                    )
                )
                continue
            instance_owner[instance] = (i, name)
            for cname in container_names:
                node = f"{instance}-{cname}"
                if node in node_owner:
                    problems.append(
                        Problem(
                            f"pods[{i}].containers",
                            f"container '{cname}' of pod instance '{instance}' would get the same node name "
                            f"('...-{node}') as container {node_owner[node]}; rename one of them",
                        )
                    )
                else:
                    node_owner[node] = f"'{cname}' of pod instance '{instance}'"
    return problems
