"""The log streams of a zone's containers, from the local engine, for autonomy_cli.logs."""

from __future__ import annotations

from typing import Any

import docker
import docker.errors

from .. import labels as L
from ..errors import EngineError
from ..logs.source import ContainerInfo, ListStream, LogStream

__all__ = ["DockerSource"]


class DockerSource:
    """The local Docker engine (through the docker SDK)."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def list(self, zone: str) -> list[ContainerInfo]:
        try:
            found = self.client.api.containers(
                all=True, filters={"label": [L.zone_filter(zone), f"{L.ROLE}={L.Role.APP.value}"]}
            )
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot list the containers of zone {zone!r}: {e}") from None
        return [
            ContainerInfo(
                id=c["Id"],
                name=(c.get("Names") or ["/" + c["Id"][:12]])[0].lstrip("/"),
                running=c.get("State") == "running",
                labels=dict(c.get("Labels") or {}),
            )
            for c in found
        ]

    def open(self, info: ContainerInfo, *, since: int | None, tail: int | None, follow: bool) -> LogStream:
        kwargs: dict[str, Any] = {
            "stdout": True,
            "stderr": True,
            "timestamps": True,
            "tail": "all" if tail is None else tail,
        }
        if since is not None and since > 0:
            kwargs["since"] = int(since)
        try:
            if follow:
                return self.client.api.logs(info.id, stream=True, follow=True, **kwargs)  # type: ignore[no-any-return]
            return ListStream([self.client.api.logs(info.id, stream=False, follow=False, **kwargs)])
        except docker.errors.NotFound:
            return ListStream([])  # removed meanwhile
        except docker.errors.DockerException as e:
            raise EngineError(f"cannot read the logs of {info.name}: {e}") from None
