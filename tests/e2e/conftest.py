"""Shared fixtures of the e2e tests: they need a real Docker engine.

Where Docker is unreachable the tests skip with the reason, unless
``AUTONOMY_REQUIRE_DOCKER=1`` (set by ``.ci/run``): then a missing engine is a failure.
Everything a test creates carries the label ``computer.autonomy.test=1``.
"""

from __future__ import annotations

import os

import pytest

from clirun import LABEL, run_autonomy

TEST_LABEL = LABEL + "test"


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


ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
ZONE_LABEL = LABEL + "zone"


@pytest.fixture(scope="session")
def autonomy_home(tmp_path_factory):
    """A fresh AUTONOMY_HOME for the whole e2e session (a cluster of its own)."""
    return tmp_path_factory.mktemp("autonomy-home")


@pytest.fixture(scope="session")
def cold_engine(docker_client):
    """With AUTONOMY_E2E_COLD=1 (CI), start from an engine without our images, so the
    first deploy builds the base image offline from nothing."""
    if os.environ.get("AUTONOMY_E2E_COLD") == "1":
        for img in docker_client.images.list():
            tags = " ".join(img.tags)
            if "build-trust/autonomy-python" in tags or "autonomy-local/rootfs" in tags or img.labels.get(ZONE_LABEL):
                docker_client.images.remove(img.id, force=True)
    return docker_client


@pytest.fixture(scope="session")
def cli(autonomy_home, cold_engine):
    """Run the ``autonomy`` command as a user would; returns the CompletedProcess."""

    def run(*args: str, cwd=None, timeout: float = 600, env: dict[str, str] | None = None):
        env = dict(os.environ, AUTONOMY_HOME=str(autonomy_home), COLUMNS="200", NO_COLOR="1", **(env or {}))
        return run_autonomy(args, env=env, cwd=cwd, timeout=timeout)

    return run


def leftovers(client, zone: str) -> list[str]:
    """Every container, network or volume still labelled with the zone."""
    f = {"label": f"{ZONE_LABEL}={zone}"}
    return (
        [f"container {c.name}" for c in client.containers.list(all=True, filters=f)]
        + [f"network {n.name}" for n in client.networks.list(filters=f)]
        + [f"volume {v.name}" for v in client.volumes.list(filters=f)]
        + [f"probe {c.name}" for c in client.containers.list(all=True, filters={"label": f"{ZONE_LABEL}-probe={zone}"})]
    )
