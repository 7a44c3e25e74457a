"""Pod sizes and the limits of the CLI's own containers: the one home of every size.

``regular`` = 0.25 CPU / 256 MiB and ``big`` = 4 CPU / 2 GiB per container of a pod (the
planner clamps CPUs to the host's). Infra containers (one per pod instance) and the
throwaway containers the CLI starts on a zone's network get small fixed limits.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BIG", "GATEWAY", "HELPER_MEMORY", "INFRA", "MODEL", "REGULAR", "RELAY_MEMORY", "SIZES", "Size", "gib"]

MiB = 1024 * 1024


def gib(size: int) -> str:
    """Bytes as GiB with one decimal, for messages (``2**31`` -> ``"2.0 GiB"``)."""
    return f"{size / 2**30:.1f} GiB"


@dataclass(frozen=True)
class Size:
    """A pod size: CPUs and memory (bytes) for each container of the pod."""

    name: str
    cpus: float
    memory: int


REGULAR = Size("regular", 0.25, 256 * MiB)
BIG = Size("big", 4.0, 2048 * MiB)
#: the sizes autonomy.yaml may name (manifest.model checks ``size`` against these keys)
SIZES: dict[str, Size] = {REGULAR.name: REGULAR, BIG.name: BIG}
#: an infra container: it only sleeps (CPUs are at most its pod's)
INFRA = Size("infra", 0.05, 32 * MiB)
#: the zone's model gateway: a standard-library proxy, one per zone
GATEWAY = Size("gateway", 0.5, 128 * MiB)
#: the offline model's server: SmolLM2-135M (about 100 MB of weights) and its context
MODEL = Size("model", 1.0, 1024 * MiB)
#: a readiness probe or the status helper (docker's mem_limit text)
HELPER_MEMORY = "128m"
#: an inlet relay
RELAY_MEMORY = "64m"
