"""Shared by every test folder: tests/clirun.py (the one CLI launcher) is importable by name.

How a whole run is laid out (``python -m pytest``; pyproject.toml asks pytest-xdist for
two workers):

* every e2e test (tests/e2e: a real Docker engine) is in the scope ``docker``, so one
  worker runs them one after the other, as they share the engine, its ports and the
  zone names; the other worker runs the rest (the CLI's and the runtime's tests, which
  never touch Docker) meanwhile;
* the e2e tests come first, so that their worker starts on them at once; among them
  the modules that need an image built on the side (``NEEDS_IMAGES``, see
  tests/e2e/prebuild.py) come last, when the image is most likely there;
* the e2e tests that need the engine but no zone (``BESIDE``: the runtime suite inside
  the base image) come last of all: the worker that is done with the others runs them;
* the first e2e test waits for the base image to be built (minutes on a cold engine):
  it gets the time for it.
"""

from __future__ import annotations

from typing import Any

import pytest

#: how e2e node ids start (relative to the repository's root, where pyproject.toml is)
E2E_PREFIX = "tests/e2e/"
#: e2e tests that need the engine but no zone: a scope of their own, run after the other
#: worker's tests (their modules say why they are safe there)
BESIDE = ("tests/e2e/test_runtime_in_image.py",)
#: how long the first e2e test may take: it waits for the base image (tests/e2e/conftest.py)
FIRST_E2E_TIMEOUT = 1200


def _scope(nodeid: str) -> str:
    """``"docker"`` for the e2e tests run in order on one worker, ``"beside"`` for
    :data:`BESIDE`, ``""`` for every other test."""
    if nodeid.startswith(BESIDE):
        return "beside"
    return "docker" if nodeid.startswith(E2E_PREFIX) else ""


def _needs_images(item: pytest.Item) -> bool:
    return bool(getattr(getattr(item, "module", None), "NEEDS_IMAGES", ()))


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent without it
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Every e2e test in one scope, run in order by one worker; every other test a scope
    of its own, for whichever worker is free. (``--dist loadgroup`` would say the same
    with markers, but pytest-xdist 3.8 cannot rename node ids under pytest 9.2.)"""
    from xdist.scheduler import LoadScopeScheduling

    class DockerApart(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return "docker" if _scope(nodeid) == "docker" else nodeid

    return DockerApart(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    e2e = [item for item in items if _scope(item.nodeid) == "docker"]
    beside = [item for item in items if _scope(item.nodeid) == "beside"]
    rest = [item for item in items if _scope(item.nodeid) == ""]
    e2e.sort(key=_needs_images)  # stable: the modules keep their order otherwise
    items[:] = e2e + rest + beside
    if e2e:
        first = e2e[0]
        mark = first.get_closest_marker("timeout")
        if mark is None or (mark.args and mark.args[0] < FIRST_E2E_TIMEOUT):
            first.add_marker(pytest.mark.timeout(FIRST_E2E_TIMEOUT))
