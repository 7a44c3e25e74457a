"""The -dev image and the SDK's two-stage Dockerfile: ``autonomy zone deploy`` builds
ghcr.io/build-trust/autonomy-python-dev when a Dockerfile names it, pip in it installs a
requirement from the package index (through this host's index settings and CA bundle),
and the app, on the base image with the venv copied over, imports it at run time."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker.errors
import pytest
from test_zones import Zone, wait_log

from autonomy_cli.names import BASE_DEV_IMAGE, BASE_IMAGE
from clirun import LABEL

pytestmark = pytest.mark.e2e
NEEDS_IMAGES = ("dev",)  # built on the side: tests/e2e/prebuild.py

# the SDK's documented pattern, unchanged
TWO_STAGE = """\
FROM ghcr.io/build-trust/autonomy-python-dev:latest AS dev
COPY requirements.txt ./
RUN pip install -r requirements.txt
FROM ghcr.io/build-trust/autonomy-python:latest
COPY --from=dev /app/venv venv
COPY . .
ENTRYPOINT ["python", "main.py"]
"""

MAIN = """\
import humanize, anthropic
from autonomy import Node


async def main(node):
    print("humanized:", humanize.intcomma(1234567), humanize.__file__, flush=True)


Node.start(main)
"""


def _project(root: Path, zone: str, requirements: str) -> Path:
    (root / "images" / "main").mkdir(parents=True)
    (root / "autonomy.yaml").write_text(
        f"name: {zone}\npods:\n  - name: main-pod\n    containers:\n      - name: main\n        image: main\n"
    )
    (root / "images" / "main" / "Dockerfile").write_text(TWO_STAGE)
    (root / "images" / "main" / "requirements.txt").write_text(requirements)
    (root / "images" / "main" / "main.py").write_text(MAIN)
    return root


@pytest.mark.timeout(900)  # builds the -dev image from its root filesystem
def test_two_stage_project_installs_a_requirement_and_runs(cli, cold_engine, tmp_path):
    client = cold_engine
    zone = "twostage"
    project = _project(tmp_path / zone, zone, "humanize\n")
    with Zone(cli, client, project, zone) as z:
        assert "answered in" in z.deploy_output, z.deploy_output
        logs = wait_log(client, zone, "main-pod", "main", "humanized: 1,234,567")
        assert "/app/venv/lib/python3." in logs, logs  # installed into the venv by pip in -dev

    dev = client.images.get(f"{BASE_DEV_IMAGE}:latest")
    assert dev.id == client.images.get(BASE_DEV_IMAGE).id
    config = dev.attrs["Config"]
    assert config["WorkingDir"] == "/app"
    assert "PYTHONUNBUFFERED=1" in config["Env"]
    script = (
        'set -e; test "$(command -v pip)" = /app/venv/bin/pip; uv --version; bash --version >/dev/null;'
        " cc --version >/dev/null; id nonroot; python -c 'import anthropic, autonomy, sys; print(sys.prefix)'"
    )
    out = client.containers.run(BASE_DEV_IMAGE, ["bash", "-c", script], remove=True, labels={f"{LABEL}test": "1"})
    assert b"uid=65532(nonroot)" in out and out.strip().endswith(b"/app/venv"), out


def test_a_failing_pip_fails_the_deploy_and_leaves_nothing(cli, cold_engine, tmp_path):
    client = cold_engine
    zone = "twobad"
    missing = f"no-such-package-{uuid.uuid4().hex[:10]}"
    project = _project(tmp_path / zone, zone, f"{missing}\n")
    try:
        r = cli("zone", "deploy", "--dir", str(project))
        out = r.stdout + r.stderr
        assert r.returncode != 0, out
        assert "Traceback" not in out, out
        assert missing in out, out  # pip's own words about what it could not find
        assert client.containers.list(all=True, filters={"label": f"{LABEL}zone={zone}"}) == []
    finally:
        cli("zone", "delete", zone, "-y", "--images")
        for tag in (f"autonomy-{zone}-main",):
            try:
                client.images.remove(tag, force=True)
            except docker.errors.ImageNotFound:
                pass
    assert client.images.get(BASE_IMAGE) is not None
