"""Pod volumes on a real Docker engine: a file on a volume outlives a redeploy that
recreates the container, env ``{name, value}`` items reach the app as one variable, and
``zone delete`` removes the volume."""

from __future__ import annotations

import time

import docker.errors
import pytest
from devtools import copy_project, images_of, leftovers, run_cli

from clirun import LABEL

pytestmark = pytest.mark.e2e


def _check_line(container, timeout: float = 90) -> str:
    """The app's VOLUME-CHECK line (it prints one per start; the last one)."""
    deadline = time.monotonic() + timeout
    while True:
        container.reload()
        lines = [line for line in container.logs().decode().splitlines() if "VOLUME-CHECK" in line]
        if lines:
            return lines[-1]
        assert time.monotonic() < deadline, container.logs().decode()[-3000:]
        time.sleep(0.5)


def test_volume_survives_redeploy_and_delete_removes_it(cold_engine, autonomy_home, tmp_path):
    client, zone = cold_engine, "dvvol"
    project = copy_project("volumes", tmp_path, zone)
    volume = f"autonomy-{zone}-main-pod--data"
    app = {"label": [f"{LABEL}zone={zone}", f"{LABEL}container=main"]}
    try:
        r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "size is not enforced" in r.stderr
        (first,) = client.containers.list(filters=app)
        line = _check_line(first)
        assert "greeting=hello-1 boots=hello-1 " in line, line
        assert "name-var=<unset>" in line, line  # {name, value} is one variable, not two
        assert client.volumes.get(volume).attrs["Labels"][f"{LABEL}zone"] == zone

        # a changed env value recreates the container; the volume and its file stay
        manifest = project / "autonomy.yaml"
        manifest.write_text(manifest.read_text().replace("value: hello-1", "value: hello-2"))
        r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        (second,) = client.containers.list(filters=app)
        assert second.id != first.id, "the container was not recreated"
        line = _check_line(second)
        assert "greeting=hello-2 boots=hello-1,hello-2 " in line, line

        r = run_cli(autonomy_home, "zone", "delete", zone, "-y")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "1 volume(s)" in r.stdout, r.stdout
        with pytest.raises(docker.errors.NotFound):
            client.volumes.get(volume)
    finally:
        r = run_cli(autonomy_home, "zone", "delete", zone, "-y", "--images")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(client, zone) == []
        assert images_of(client, zone) == []
