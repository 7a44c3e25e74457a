"""The ``computer.autonomy.*`` labels: the one home of their keys, and their one reader.

Docker is the record of what is deployed: every container, network, volume and image the
CLI creates carries labels under :data:`PREFIX`. Writers build label dicts from the keys
here; every module that reads labels back goes through :class:`ContainerLabels`::

    labels = ContainerLabels.read(container_attrs["Config"]["Labels"])
    labels.zone, labels.instance, labels.role, labels.clone   # typed, "" / 0 when absent

=================  =====================================================================
key                on
=================  =====================================================================
``cluster``        everything: the cluster id
``zone``           everything of a zone (containers, network, volumes, project images)
``pod``            pod containers: the pod's name
``instance``       pod containers: the pod instance (``<pod>`` or ``<pod>-<clone>``)
``clone``          pod containers: the clone number
``size``           pod containers: the pod's size (regular, big)
``role``           containers: ``infra``, ``app``, ``gateway``, ``model``, ``inlet``,
                   ``status`` (:class:`Role`)
``container``      app containers: the container's name in autonomy.yaml
``node``           app containers: the full node name
``infra``          app containers: the instance whose infra container holds the namespace
``zone-probe``     throwaway containers on a zone's network (probe, status, inlet relay)
``inlet``          inlet relays: ``127.0.0.1:<port>-><instance>:<port>``
``listen``         the model gateway: the ``<address>:<port>`` it listens on
``outlets``        infra containers with portal outlets: ``<to>=<forwarder port>`` each,
                   comma-separated (``7000=61000,8000=61001``), for ``zone inlet``
``dev``            what ``autonomy dev`` deployed: ``<host>:<pid>``
``image``          project images: their tag; ``context``: the digest of what was built
``base-hash``      the base image (and ``base-source``, ``managed``, ``rootfs-hash``,
                   ``site-packages`` on it and its root filesystems)
=================  =====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BASE_HASH",
    "BASE_SOURCE",
    "CLONE",
    "CLUSTER",
    "CONTAINER",
    "CONTEXT",
    "DEV",
    "IMAGE",
    "INFRA",
    "INLET",
    "INSTANCE",
    "LISTEN",
    "OUTLETS",
    "MANAGED",
    "NODE",
    "POD",
    "PREFIX",
    "ROLE",
    "ROOTFS_HASH",
    "SITE_PACKAGES",
    "SIZE",
    "ZONE",
    "ZONE_PROBE",
    "ContainerLabels",
    "Role",
    "is_zone",
    "probe_filter",
    "zone_filter",
]

PREFIX = "computer.autonomy."
CLUSTER = PREFIX + "cluster"
ZONE = PREFIX + "zone"
POD = PREFIX + "pod"
INSTANCE = PREFIX + "instance"
CLONE = PREFIX + "clone"
SIZE = PREFIX + "size"
ROLE = PREFIX + "role"
CONTAINER = PREFIX + "container"
NODE = PREFIX + "node"
INFRA = PREFIX + "infra"
ZONE_PROBE = PREFIX + "zone-probe"
INLET = PREFIX + "inlet"
LISTEN = PREFIX + "listen"
OUTLETS = PREFIX + "outlets"
DEV = PREFIX + "dev"
IMAGE = PREFIX + "image"
CONTEXT = PREFIX + "context"
BASE_HASH = PREFIX + "base-hash"
BASE_SOURCE = PREFIX + "base-source"
MANAGED = PREFIX + "managed"
ROOTFS_HASH = PREFIX + "rootfs-hash"
SITE_PACKAGES = PREFIX + "site-packages"


class Role(StrEnum):
    """What a container of a zone is for (the ``role`` label)."""

    INFRA = "infra"  # owns a pod instance's network namespace
    APP = "app"  # one container of autonomy.yaml
    GATEWAY = "gateway"  # the zone's model gateway (autonomy_cli.gateway)
    MODEL = "model"  # the zone's offline model server
    INLET = "inlet"  # a relay of `zone inlet`; a deploy leaves it be
    STATUS = "status"  # the helper of `zone status`


def zone_filter(zone: str) -> str:
    """Docker's label filter for everything of ``zone``."""
    return f"{ZONE}={zone}"


def probe_filter(zone: str) -> str:
    """Docker's label filter for the throwaway containers on ``zone``'s network."""
    return f"{ZONE_PROBE}={zone}"


def is_zone(labels: Mapping[str, str] | None) -> bool:
    """True when the labels mark something of a zone."""
    return bool((labels or {}).get(ZONE))


@dataclass(frozen=True)
class ContainerLabels:
    """A container's ``computer.autonomy.*`` labels, read once, typed."""

    cluster: str = ""
    zone: str = ""
    pod: str = ""
    instance: str = ""
    clone: int = 0
    size: str = ""
    role: str = ""
    container: str = ""
    node: str = ""
    infra: str = ""
    zone_probe: str = ""
    dev: str = ""
    listen: str = ""
    outlets: str = ""

    @classmethod
    def read(cls, labels: Mapping[str, str] | None) -> ContainerLabels:
        """Read a container's labels (Docker's ``Config.Labels``; ``None`` reads as empty)."""
        got = labels or {}
        clone = got.get(CLONE, "0") or "0"
        return cls(
            cluster=got.get(CLUSTER, ""),
            zone=got.get(ZONE, ""),
            pod=got.get(POD, ""),
            instance=got.get(INSTANCE, ""),
            clone=int(clone) if clone.isdigit() else 0,
            size=got.get(SIZE, ""),
            role=got.get(ROLE, ""),
            container=got.get(CONTAINER, ""),
            node=got.get(NODE, ""),
            infra=got.get(INFRA, ""),
            zone_probe=got.get(ZONE_PROBE, ""),
            dev=got.get(DEV, ""),
            listen=got.get(LISTEN, ""),
            outlets=got.get(OUTLETS, ""),
        )
