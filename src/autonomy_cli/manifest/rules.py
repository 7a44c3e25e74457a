"""Rules across items of autonomy.yaml (unique names, one public pod, distinct inlet ports,
distinct pod instance and node names, mounts of declared volumes only, a key written once
under its several spellings), checked on the raw YAML data so that they are reported even
when other parts of the file are broken."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from ..errors import Problem
from ..names import instance_names
from .base import NAME_RE, yaml_keys
from .limits import MAX_CLONES
from .model import Manifest, Pod
from .portals import Portals, parse_port

__all__ = ["cross_checks"]


def cross_checks(data: dict[Any, Any]) -> list[Problem]:
    """Rules across items, checked on the raw data so they show up next to other errors."""
    problems = _spelled_once("", data, Manifest)
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
        good_name = isinstance(name, str) and NAME_RE.match(name) is not None
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
        problems += _pod_checks(f"pods[{i}]", pod, pods)
        portals_key, portals = _spelled(pod, Pod, "portals")
        outlets_key, outlets = _spelled(portals, Portals, "outlets")
        if isinstance(outlets, list):
            for k, outlet in enumerate(outlets):
                raw = outlet.get("inlet_from") if isinstance(outlet, dict) else None
                try:
                    port = parse_port(raw)
                except ValueError:
                    continue
                where = f"pods[{i}].{portals_key}.{outlets_key}[{k}]"
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


def _spelled(data: Any, model: type[BaseModel], field: str) -> tuple[str, Any]:
    """(the key the user wrote for ``field``, its value); (``field``, None) when absent."""
    if isinstance(data, dict):
        for key, name in yaml_keys(model).items():
            if name == field and key in data:
                return key, data[key]
    return field, None


def _spelled_once(where: str, data: Any, model: type[BaseModel]) -> list[Problem]:
    """A key written under two of its spellings (``portal`` and ``portals``) is an error."""
    if not isinstance(data, dict):
        return []
    first: dict[str, str] = {}
    problems: list[Problem] = []
    spellings = yaml_keys(model)
    for key in data:
        field = spellings.get(key) if isinstance(key, str) else None
        if field is None:
            continue
        if field in first:
            path = f"{where}.{key}" if where else key
            problems.append(Problem(path, f"'{key}' and '{first[field]}' are the same key; write it once"))
        else:
            first[field] = key
    return problems


def _pod_checks(where: str, pod: dict[Any, Any], pods: list[Any]) -> list[Problem]:
    """Spellings, volumes and mounts, and outlets' pod_name, within one pod."""
    problems = _spelled_once(where, pod, Pod)
    portals_key, portals = _spelled(pod, Pod, "portals")
    problems += _spelled_once(f"{where}.{portals_key}", portals, Portals)
    outlets_key, outlets = _spelled(portals, Portals, "outlets")
    names = {p.get("name") for p in pods if isinstance(p, dict) and isinstance(p.get("name"), str)}
    for k, outlet in enumerate(outlets if isinstance(outlets, list) else []):
        target = outlet.get("pod_name") if isinstance(outlet, dict) else None
        if isinstance(target, str) and target not in names:
            problems.append(
                Problem(
                    f"{where}.{portals_key}.{outlets_key}[{k}].pod_name",
                    f"there is no pod '{target}' in this zone",
                )
            )
    declared: dict[str, int] = {}
    volumes = pod.get("volumes")
    for k, volume in enumerate(volumes if isinstance(volumes, list) else []):
        name = volume.get("name") if isinstance(volume, dict) else None
        if not isinstance(name, str):
            continue
        if name in declared:
            problems.append(
                Problem(
                    f"{where}.volumes[{k}].name", f"volume '{name}' is already declared by volumes[{declared[name]}]"
                )
            )
        else:
            declared[name] = k
    containers = pod.get("containers")
    for j, c in enumerate(containers if isinstance(containers, list) else []):
        mounts = c.get("volumeMounts") if isinstance(c, dict) else None
        paths: dict[str, int] = {}
        for k, mount in enumerate(mounts if isinstance(mounts, list) else []):
            if not isinstance(mount, dict):
                continue
            at = f"{where}.containers[{j}].volumeMounts[{k}]"
            name, path = mount.get("name"), mount.get("mountPath")
            if isinstance(name, str) and name not in declared:
                known = f"; the pod declares {', '.join(declared)}" if declared else "; the pod declares no volumes"
                problems.append(Problem(f"{at}.name", f"no volume '{name}' in this pod's volumes{known}"))
            if isinstance(path, str):
                clean = path.rstrip("/") or "/"
                if clean in paths:
                    problems.append(
                        Problem(f"{at}.mountPath", f"{path} is already mounted by volumeMounts[{paths[clean]}]")
                    )
                paths.setdefault(clean, k)
    return problems
