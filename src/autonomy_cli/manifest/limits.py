"""How big a manifest may be: every bound the CLI puts on what a user's files ask of it.

A project folder may come from anywhere (a cloned repository), so reading it must cost a
bounded amount of time and memory whatever it holds, and a zone must fit on one machine.
Beyond a limit, ``load`` reports a problem (exit code 2) before validating anything else.

===========================  =========  ===============================================
limit                        value      on what
===========================  =========  ===============================================
:data:`MAX_FILE_BYTES`       256 KiB    autonomy.yaml, and secrets.yaml
:data:`MAX_DEPTH`            32         levels of nested lists and mappings
:data:`MAX_NODES`            100,000    YAML values, each alias counted as a copy of
                                        what it names (a "billion laughs" stops early)
:data:`MAX_PODS`             100        pods in ``pods``
:data:`MAX_CLONES`           100        ``clones`` of one pod
:data:`MAX_INSTANCES`        500        pod instances: every pod times its clones
:data:`MAX_CONTAINERS`       32         containers of one pod
:data:`MAX_ITEMS`            512        ``args`` items, or ``env`` variables, of one
                                        container
===========================  =========  ===============================================
"""

from __future__ import annotations

from typing import Any

from ..errors import Problem

__all__ = [
    "MAX_CLONES",
    "MAX_CONTAINERS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INSTANCES",
    "MAX_ITEMS",
    "MAX_NODES",
    "MAX_PODS",
    "check_limits",
    "kib",
]

MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_PODS = 100
MAX_CLONES = 100
MAX_INSTANCES = 500
MAX_CONTAINERS = 32
MAX_ITEMS = 512


def kib(size: int) -> str:
    """``262144`` -> ``"256 KiB"``."""
    return f"{size // 1024} KiB"


def _env_count(env: Any) -> int:
    if isinstance(env, dict):
        return len(env)
    if isinstance(env, list):
        # a Kubernetes pair {name: K, value: V} is one variable
        return sum(
            len(item) if isinstance(item, dict) and item and set(item) != {"name", "value"} else 1 for item in env
        )
    return 0


def check_limits(data: dict[Any, Any]) -> list[Problem]:
    """The limits a parsed autonomy.yaml goes beyond (sizes only: the model checks types)."""
    pods = data.get("pods")
    if not isinstance(pods, list):
        return []
    if len(pods) > MAX_PODS:
        return [Problem("pods", f"at most {MAX_PODS} pods are allowed, got {len(pods)}")]
    problems: list[Problem] = []
    instances = 0
    for i, pod in enumerate(pods):
        if not isinstance(pod, dict):
            continue
        clones = pod.get("clones", 1)
        if isinstance(clones, int) and not isinstance(clones, bool) and 1 <= clones <= MAX_CLONES:
            instances += clones
        containers = pod.get("containers")
        if not isinstance(containers, list):
            continue
        if len(containers) > MAX_CONTAINERS:
            problems.append(
                Problem(
                    f"pods[{i}].containers",
                    f"at most {MAX_CONTAINERS} containers are allowed in a pod, got {len(containers)}",
                )
            )
            continue
        for j, container in enumerate(containers):
            if not isinstance(container, dict):
                continue
            for key, count in (
                ("args", len(a) if isinstance(a := container.get("args"), list) else 0),
                ("env", _env_count(container.get("env"))),
            ):
                if count > MAX_ITEMS:
                    problems.append(
                        Problem(
                            f"pods[{i}].containers[{j}].{key}",
                            f"at most {MAX_ITEMS} items are allowed, got {count}",
                        )
                    )
    if instances > MAX_INSTANCES:
        problems.insert(
            0,
            Problem(
                "pods",
                f"at most {MAX_INSTANCES} pod instances (pods times their clones) are allowed, got {instances}",
            ),
        )
    return problems
