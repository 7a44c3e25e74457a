"""The runtime suite again, inside the base image: Debian's Python, pyzmq, libzmq, PyNaCl
and cloudpickle instead of the PyPI wheels the host tests use.

One test suite, every backend: tests/runtime runs unchanged in a container of
``ghcr.io/build-trust/autonomy-python``. pytest (pure Python) is copied in from the host;
nothing compiled is, so every socket and key is Debian's.

It needs the engine and the base image, not a zone: it runs on the worker that does not
run the other e2e tests, after that worker's own tests (tests/conftest.py), by which time
the e2e session has built the base image (or is building it: ensure_base_image waits for
that build's lock, then finds it). It does not use the e2e fixtures, whose session
clears a cold engine first.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import shutil
from pathlib import Path

import pytest
from devtools import ROOT, connect_engine

from clirun import LABEL

pytestmark = pytest.mark.e2e
PURE = ("pytest", "pytest-timeout")


def _pure_python_libs(dest: Path) -> None:
    """Copy pytest and its pure-Python dependencies (not pyzmq & co.) into ``dest``."""
    todo, seen = list(PURE), set()
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue  # a backport this Python does not need (tomli, exceptiongroup)
        for top in {f.parts[0] for f in dist.files or []}:
            src, target = Path(dist.locate_file(top)), dest / top
            if top == ".." or top.endswith(".data") or target.exists() or not src.exists():
                continue
            if src.is_dir():
                shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.suffix == ".py":
                shutil.copy2(src, target)
        for req in dist.requires or []:
            requirement, _, marker = req.partition(";")
            if "extra" not in marker:
                todo.append(re.match(r"[A-Za-z0-9_.\-]+", requirement.strip()).group(0))  # type: ignore[union-attr]


@pytest.mark.timeout(1200)  # may wait for the e2e session's base image build; shares the CPU with it
def test_runtime_suite_passes_on_the_base_image(tmp_path):
    from autonomy_cli.docker.image import ensure_base_image
    from autonomy_cli.names import BASE_IMAGE

    docker_client = connect_engine()
    ensure_base_image(docker_client)
    libs = tmp_path / "libs"
    libs.mkdir()
    _pure_python_libs(libs)
    container = docker_client.containers.run(
        BASE_IMAGE,
        ["python3", "-m", "pytest", "tests/runtime", "-q", "-p", "no:cacheprovider", "-o", "addopts="],
        working_dir="/src",
        environment={"PYTHONPATH": "/libs", "PYTHONDONTWRITEBYTECODE": "1"},
        volumes={str(ROOT): {"bind": "/src", "mode": "ro"}, str(libs): {"bind": "/libs", "mode": "ro"}},
        labels={f"{LABEL}test": "1"},
        detach=True,
        mem_limit="2g",
    )
    try:
        result = container.wait(timeout=600)
        out = container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)
        docker_client.close()
    assert result["StatusCode"] == 0, out[-6000:]
    assert re.search(r"\d+ passed", out), out[-2000:]
    assert "failed" not in out.splitlines()[-1], out[-3000:]
