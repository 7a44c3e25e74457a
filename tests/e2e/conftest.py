"""Shared fixtures of the e2e tests: they need a real Docker engine.

Where Docker is unreachable the tests skip with the reason, unless
``AUTONOMY_REQUIRE_DOCKER=1`` (set by ``.ci/run``): then a missing engine is a failure.
Everything a test creates carries the label ``computer.autonomy.test=1``.
"""

from __future__ import annotations

import os

import docker.errors
import pytest
from devtools import ZONE_LABEL, connect_engine
from prebuild import Prebuild

from clirun import LABEL, run_autonomy

TEST_LABEL = LABEL + "test"


@pytest.fixture(scope="session")
def _engine(request):
    """The engine's client and the images being built on the side (see docker_client)."""
    client = connect_engine()
    if os.environ.get("AUTONOMY_E2E_COLD") == "1":
        _remove_our_images(client)
    from autonomy_cli.docker.image import ensure_base_image

    ensure_base_image(client)  # every test needs it; then the others, on the side
    # only the images this run's tests need (NEEDS_IMAGES of their modules)
    needed = {
        name for item in request.session.items for name in getattr(getattr(item, "module", None), "NEEDS_IMAGES", ())
    }
    prebuild = Prebuild(needed)
    prebuild.start()
    try:
        yield client, prebuild
    finally:
        prebuild.join()
        client.close()


@pytest.fixture(scope="session")
def docker_client(_engine):
    """A ``docker.DockerClient`` talking to a live engine that has the base image; skips
    (or fails, see above).

    With AUTONOMY_E2E_COLD=1 (CI) the engine is first cleared of our images, whichever
    e2e test comes first, so that the first build of the base image starts from nothing."""
    return _engine[0]


@pytest.fixture(scope="session")
def prebuilt(_engine) -> Prebuild:
    """The images built on the side (tests/e2e/prebuild.py): ``prebuilt.wait("model")``."""
    return _engine[1]


@pytest.fixture(scope="module", autouse=True)
def _needed_images(request):
    """A module with ``NEEDS_IMAGES = ("mcp", ...)`` starts once those images are built."""
    names = getattr(request.module, "NEEDS_IMAGES", ())
    if names:
        request.getfixturevalue("prebuilt").wait(*names)


@pytest.fixture(scope="session")
def autonomy_home(tmp_path_factory):
    """A fresh AUTONOMY_HOME for the whole e2e session (a cluster of its own)."""
    return tmp_path_factory.mktemp("autonomy-home")


OUR_IMAGES = ("ghcr.io/build-trust/autonomy-python", "ghcr.io/build-trust/mcp-proxy", "autonomy-local/rootfs")


def _ours(client) -> list:
    """Our images and their descendants (a base image's builder stages stay behind as
    untagged children of a rootfs), newest first so that children go before parents."""
    images = client.images.list(all=True)
    ours = {img.id for img in images if any(t.startswith(OUR_IMAGES) for t in img.tags) or img.labels.get(ZONE_LABEL)}
    grew = True
    while grew:
        before = len(ours)
        ours |= {img.id for img in images if img.attrs.get("Parent") in ours}
        grew = len(ours) > before
    return [img for img in sorted(images, key=lambda i: i.attrs.get("Created", ""), reverse=True) if img.id in ours]


def _remove_our_images(client) -> None:
    """Remove :func:`_ours`. The engine may refuse one whose parent went first
    ("unrecognized image ID"): it is tried again in the next round, from a fresh list."""
    refused: list[str] = []
    for _ in range(4):
        left = _ours(client)
        if not left:
            return
        refused = []
        for img in left:
            try:
                client.images.remove(img.id, force=True)
            except docker.errors.NotFound:
                pass  # went with a child removed before it
            except docker.errors.APIError as e:
                refused.append(f"{img.id[:19]} {img.tags}: {e.explanation}")
    left = _ours(client)
    if left:
        why = "; ".join(refused or [img.id for img in left])
        pytest.fail(f"AUTONOMY_E2E_COLD=1 but our images could not all be removed: {why}", pytrace=False)


@pytest.fixture(scope="session")
def cold_engine(docker_client):
    """The engine; cold (without our images) at the session's start under AUTONOMY_E2E_COLD=1."""
    return docker_client


@pytest.fixture(scope="session")
def cli(autonomy_home, cold_engine):
    """Run the ``autonomy`` command as a user would; returns the CompletedProcess."""

    def run(*args: str, cwd=None, timeout: float = 600, env: dict[str, str] | None = None):
        full = dict(os.environ, AUTONOMY_HOME=str(autonomy_home), COLUMNS="200", NO_COLOR="1")
        full.setdefault("AUTONOMY_OFFLINE_MODEL", "0")  # test_gateway.py and test_zone_agents.py ask for the model
        full.update(env or {})
        return run_autonomy(args, env=full, cwd=cwd, timeout=timeout)

    return run
