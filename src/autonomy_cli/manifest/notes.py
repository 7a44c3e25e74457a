"""Warnings, not errors: what a manifest asks that works here but not in the cloud.

The cloud refuses zone, pod and container names over :data:`CLOUD_NAME_MAX` characters
and several pods when none is named :data:`MAIN_POD`; a laptop does not need either
rule, so breaking one is a warning. Keys the cloud reads that mean nothing here
(``imagePullPolicy``, inlets, a volume's ``size``) are accepted with a warning too.
"""

from __future__ import annotations

from .model import Manifest
from .volumes import format_size

__all__ = ["CLOUD_NAME_MAX", "MAIN_POD", "notes"]

CLOUD_NAME_MAX = 10
"""The cloud refuses zone, pod and container names longer than this."""
MAIN_POD = "main-pod"
"""With several pods, the cloud wants one of them named so."""


def notes(manifest: Manifest) -> tuple[str, ...]:
    """What ``manifest`` asks that works here but not, or differently, in the cloud."""
    found: list[str] = []
    long = [f"pod '{p.name}'" for p in manifest.pods if len(p.name) > CLOUD_NAME_MAX] + [
        f"container '{c.name}' (pod {p.name})"
        for p in manifest.pods
        for c in p.containers
        if len(c.name) > CLOUD_NAME_MAX
    ]
    if long:
        found.append(f"the cloud refuses names over {CLOUD_NAME_MAX} characters: {', '.join(long)}")
    if len(manifest.pods) > 1 and all(p.name != MAIN_POD for p in manifest.pods):
        found.append(f"the cloud refuses several pods when none is named '{MAIN_POD}'")
    pulls = sorted({c.name for p in manifest.pods for c in p.containers if c.image_pull_policy is not None})
    if pulls:
        found.append(
            f"imagePullPolicy (containers {', '.join(pulls)}) is for the cloud: here local images are "
            "always built and other images pulled only when missing"
        )
    for p in manifest.pods:
        if p.inlets:
            froms = ", ".join(str(i.from_) for i in p.inlets)
            found.append(
                f"pod {p.name}: inlets (port {froms}) connect to outlets outside the zone in the cloud; "
                "a local zone has none, so they do nothing here"
            )
    sized = [f"{p.name}/{v.name} ({format_size(v.size)})" for p in manifest.pods for v in p.volumes]
    if sized:
        found.append(f"volumes {', '.join(sized)} are Docker volumes here: their size is not enforced")
    return tuple(found)
