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


def run(
    *args: str, home: Path, cwd: Path | None = None, stdin: int | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full = {
        **inherited,
        "AUTONOMY_HOME": str(home),
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",
        "COLUMNS": "200",
        **env,
    }
    return run_autonomy(args, env=full, cwd=cwd, timeout=60, stdin=stdin)


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


# --------------------------------------------------------------------------- global options

ANSI = "\x1b["


def test_output_json_before_the_command_prints_json(tmp_path: Path) -> None:
    home = tmp_path / "home"
    enrolled = run("--output", "json", "cluster", "enroll", "--no-input", home=home)
    assert enrolled.returncode == 0 and enrolled.stdout == "", enrolled.stdout  # info: on stderr
    shown = json.loads(run("--output", "json", "cluster", "show", home=home).stdout)
    assert len(shown["id"]) == 32 and shown["zones"] == []
    assert json.loads(run("cluster", "show", "--json", home=home).stdout) == shown  # --json still works
    bad = run("--output", "yaml", "cluster", "show", home=home)
    assert bad.returncode == 2 and "expected plain or json" in bad.stderr


def test_quiet_leaves_out_info_lines_but_not_data_or_errors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    loud = run("zone", "render", "--dir", str(ROOT / "examples" / "hello"), home=home)
    quiet = run("-q", "zone", "render", "--dir", str(ROOT / "examples" / "hello"), home=home)
    assert loud.returncode == quiet.returncode == 0
    assert "not enrolled yet" in loud.stderr and quiet.stderr == ""
    assert quiet.stdout == loud.stdout and "services:" in quiet.stdout  # the data
    enrolled = run("-q", "cluster", "enroll", "--no-input", home=home)
    assert enrolled.returncode == 0 and enrolled.stdout == "" and (home / "cluster.key").exists()
    assert "public key" in run("--quiet", "cluster", "show", home=home).stdout
    failed = run("-q", "zone", "delete", "Not-A-Zone", home=home)
    assert failed.returncode == 2 and "is not a zone name" in failed.stderr
    both = run("-q", "-v", "cluster", "show", home=home)
    assert both.returncode == 2 and "choose one" in both.stderr


@pytest.mark.parametrize(("args", "env"), [(("--no-color",), {}), ((), {"NO_COLOR": "1"})])
def test_no_color_means_no_escape_codes(tmp_path: Path, args: tuple[str, ...], env: dict[str, str]) -> None:
    home = tmp_path / "home"
    forced = {"FORCE_COLOR": "1", "TERM": "xterm-256color"}
    coloured = run("zone", "delete", "Not-A-Zone", home=home, **forced)
    assert coloured.returncode == 2 and ANSI in coloured.stderr  # it can fail: colours are there by default
    plain = run(*args, "zone", "delete", "Not-A-Zone", home=home, **forced, **env)
    assert plain.returncode == 2 and "is not a zone name" in plain.stderr and ANSI not in plain.stderr
    run("cluster", "enroll", "--no-input", home=home)
    assert ANSI in run("cluster", "show", "--json", home=home, **forced).stdout
    assert ANSI not in run(*args, "cluster", "show", "--json", home=home, **forced, **env).stdout


def test_zone_delete_with_stdin_closed_never_hangs_and_needs_yes(tmp_path: Path) -> None:
    for args in (("zone", "delete", "hello"), ("--no-input", "zone", "delete", "hello")):
        r = run(*args, home=tmp_path / "home", stdin=subprocess.DEVNULL)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "zone hello: not deleted" in r.stderr and "add -y/--yes" in r.stderr
        assert "everything of it?" not in r.stdout + r.stderr
    both = run("zone", "delete", "hello", "--all", "-y", home=tmp_path / "home", stdin=subprocess.DEVNULL)
    assert both.returncode == 2 and "--all" in both.stderr and "Traceback" not in both.stderr
    sure = run("zone", "delete", "hello", "-y", home=tmp_path / "home", stdin=subprocess.DEVNULL)
    assert sure.returncode == 1 and "Docker is not reachable" in sure.stderr  # it went ahead
