"""The `autonomy` command's face: exit codes, messages, no tracebacks (no Docker needed).

Every invalid manifest of test_manifest.INVALID goes through `autonomy zone deploy` and
`zone render`: exit code 2, the YAML path in the message, no traceback, and nothing
started (validation happens before Docker is touched; DOCKER_HOST points nowhere).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from test_manifest import INVALID

from clirun import run_autonomy

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, home: Path, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        **os.environ,
        "AUTONOMY_HOME": str(home),
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",
        "COLUMNS": "200",
        **env,
    }
    return run_autonomy(args, env=full, cwd=cwd, timeout=60)


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_manifest_exit_2_with_yaml_path(tmp_path: Path, text: str, expected: str) -> None:
    project = tmp_path / "project"
    (project / "images" / "main").mkdir(parents=True)
    (project / "images" / "main" / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    (project / "autonomy.yaml").write_text(text)
    r = run("zone", "deploy", "--dir", str(project), home=tmp_path / "home")
    assert r.returncode == 2, r.stdout + r.stderr
    assert expected in r.stderr, r.stderr
    assert "autonomy.yaml:" in r.stderr or "secrets.yaml:" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert not (tmp_path / "home" / "zones").exists()  # nothing half-deployed


def test_render_prints_compose_without_writing_anything(tmp_path: Path) -> None:
    r = run("zone", "render", "--dir", str(ROOT / "examples" / "distribute"), home=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    assert "runner-pod-4--runner:" in r.stdout and "network_mode: service:runner-pod-4" in r.stdout
    assert "127.0.0.1:32100:8000" in r.stdout
    assert not (tmp_path / "home").exists()


def test_cluster_enroll_then_show(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run("cluster", "show", home=home).returncode == 1
    first = run("cluster", "enroll", "--no-input", home=home)
    assert first.returncode == 0 and "Enrolled cluster" in first.stdout
    again = run("cluster", "enroll", "--no-input", home=home)
    assert "Already enrolled" in again.stdout
    shown = json.loads(run("cluster", "show", "--json", home=home).stdout)
    assert len(shown["id"]) == 32 and shown["id"] in first.stdout
    assert oct((home / "cluster.key").stat().st_mode & 0o777) == "0o600"


def test_unreachable_docker_is_a_clear_error(tmp_path: Path) -> None:
    r = run("zone", "deploy", "--dir", str(ROOT / "examples" / "hello"), home=tmp_path / "home")
    assert r.returncode == 1
    assert "Docker is not reachable" in r.stderr and "Traceback" not in r.stderr


def test_bad_zone_name_for_delete(tmp_path: Path) -> None:
    r = run("zone", "delete", "Not-A-Zone", home=tmp_path / "home")
    assert r.returncode == 2 and "is not a zone name" in r.stderr


def test_bad_setting_exit_2(tmp_path: Path) -> None:
    r = run("zone", "list", home=tmp_path / "home", AUTONOMY_BASE_SOURCE="sometimes")
    assert r.returncode == 2 and "AUTONOMY_BASE_SOURCE" in r.stderr
    r = run("zone", "list", home=tmp_path / "home", AUTONOMY_PROBE="radar")
    assert r.returncode == 2 and "AUTONOMY_PROBE: expected auto, host or container, got 'radar'" in r.stderr
    assert "Traceback" not in r.stderr
