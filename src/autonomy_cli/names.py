"""How things are named: the one home of every naming rule of the CLI.

=====================================  ===============================================
name                                   rule
=====================================  ===============================================
pod instances (:func:`instance_names`)  ``<pod>`` for one clone, else ``<pod>-0`` ..
                                       ``<pod>-(N-1)``
a container's service / file stem      ``<instance>--<container>``: unambiguous, since
(:func:`service_name`)                 pod and container names cannot hold ``--``
Compose project, Docker network        ``autonomy-<zone>`` (one per zone)
a project's local image                ``autonomy-<zone>-<image>`` (from ``images/<image>``)
the probe identity                     ``<cluster>-<zone>-probe``
an inlet relay container               ``autonomy-<zone>-inlet-<local port>``
a pod instance's volume                ``autonomy-<zone>-<instance>--<volume>``: one per
(:func:`volume_name`)                  instance, the same at every deploy
the base images                        :data:`BASE_IMAGE`, :data:`BASE_DEV_IMAGE`
the MCP proxy image                    :data:`MCP_IMAGE`
=====================================  ===============================================

Node names (``<cluster>-<zone>-<instance>-<container>``) are the runtime's rule:
:func:`autonomy.transport.roster.node_name`.
"""

from __future__ import annotations

__all__ = [
    "BASE_DEV_IMAGE",
    "BASE_IMAGE",
    "MCP_IMAGE",
    "image_tag",
    "instance_names",
    "network_name",
    "probe_name",
    "project_name",
    "relay_name",
    "service_name",
    "volume_name",
]

#: What user Dockerfiles say ``FROM``; built locally (autonomy_cli.docker.image).
BASE_IMAGE = "ghcr.io/build-trust/autonomy-python"
#: The same plus pip, uv, bash, a C toolchain and user ``nonroot``: the first stage of
#: a Dockerfile that adds requirements (built locally when a Dockerfile names it).
BASE_DEV_IMAGE = f"{BASE_IMAGE}-dev"
#: The stdio-to-SSE proxy of MCP servers that ``autonomy.yaml`` names as a registry
#: image; built locally too (autonomy_cli.docker.mcpimage).
MCP_IMAGE = "ghcr.io/build-trust/mcp-proxy"


def instance_names(pod: str, clones: int) -> list[str]:
    """``[pod]`` for one clone, else ``[pod-0, ..., pod-(clones-1)]``."""
    return [pod] if clones == 1 else [f"{pod}-{k}" for k in range(clones)]


def service_name(instance: str, container: str) -> str:
    """``<instance>--<container>``: a container's Compose service, and the stem of its files."""
    return f"{instance}--{container}"


def project_name(zone: str) -> str:
    """The Compose project of a zone."""
    return f"autonomy-{zone}"


def network_name(zone: str) -> str:
    """The Docker network of a zone (one per zone; zones cannot reach each other)."""
    return f"autonomy-{zone}"


def image_tag(zone: str, image: str) -> str:
    """The tag of a project image built from ``images/<image>``."""
    return f"autonomy-{zone}-{image}"


def probe_name(cluster: str, zone: str) -> str:
    """The identity ``zone deploy`` pings the nodes with (roster role ``probe``)."""
    return f"{cluster}-{zone}-probe"


def relay_name(zone: str, local_port: int) -> str:
    """The container of the inlet relay that serves ``127.0.0.1:<local_port>``."""
    return f"autonomy-{zone}-inlet-{local_port}"


def volume_name(zone: str, instance: str, volume: str) -> str:
    """The Docker volume of pod instance ``instance`` for its pod's volume ``volume``."""
    return f"autonomy-{zone}-{instance}--{volume}"
