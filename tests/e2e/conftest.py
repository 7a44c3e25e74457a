"""Shared fixtures of the e2e tests: they need a real Docker engine.

Where Docker is unreachable the tests skip with the reason, unless
``AUTONOMY_REQUIRE_DOCKER=1`` (set by ``.ci/run``): then a missing engine is a failure.
Everything a test creates carries the label ``computer.autonomy.test=1``.
"""

from __future__ import annotations

import os

import pytest

TEST_LABEL = "computer.autonomy.test"


def _require_docker() -> bool:
    return os.environ.get("AUTONOMY_REQUIRE_DOCKER", "").strip().lower() in ("1", "true", "yes")


def _no_docker(reason: str) -> None:
    if _require_docker():
        pytest.fail(f"AUTONOMY_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client():
    """A ``docker.DockerClient`` talking to a live engine; skips (or fails, see above)."""
    try:
        import docker
    except ImportError as e:  # pragma: no cover - docker is a dependency
        _no_docker(f"the docker SDK is not installed ({e})")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:
        _no_docker(f"Docker engine unreachable ({type(e).__name__}: {e})")
    try:
        yield client
    finally:
        client.close()
