"""The connection to the Docker Engine: one place that opens it and says when it cannot."""

from __future__ import annotations

import docker
import docker.errors

from ..errors import EngineError

__all__ = ["DockerClient", "DockerException", "NotFound", "connect"]

DockerClient = docker.DockerClient
DockerException = docker.errors.DockerException
NotFound = docker.errors.NotFound


def connect(timeout: int = 120) -> docker.DockerClient:
    """A client of the local engine (``DOCKER_HOST`` etc.), checked with a ping.

    Raises EngineError when Docker is not reachable."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as e:
        raise EngineError(f"Docker is not reachable: {e}. Is the Docker Engine running?") from None
    return client
