"""The Compose command line: the one place that knows how to call Compose.

``docker compose`` (v2) when the plugin is there, else ``docker-compose`` (v1); a zone's
project is ``-p autonomy-<zone> -f <state>/compose.yaml``.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from ..errors import EngineError
from ..names import project_name

__all__ = ["check_finished", "compose_args", "compose_command", "find_compose", "run_compose", "start_compose"]


@functools.cache
def find_compose() -> tuple[str, ...] | None:
    """``("docker", "compose")`` (v2) when present, else ``("docker-compose",)`` (v1), else None."""
    if shutil.which("docker"):
        r = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if r.returncode == 0:
            return ("docker", "compose")
    if shutil.which("docker-compose"):
        return ("docker-compose",)
    return None


def compose_command() -> list[str]:
    """The Compose command; EngineError when neither is installed."""
    found = find_compose()
    if found is None:
        raise EngineError("neither `docker compose` nor `docker-compose` is installed")
    return list(found)


def compose_args(zone: str, compose_file: Path, *args: str) -> list[str]:
    """The whole command line of a Compose run on a zone's project."""
    return [*compose_command(), "-p", project_name(zone), "-f", str(compose_file), *args]


def _failed(what: str, stdout: str, stderr: str) -> EngineError:
    tail = "\n".join((stderr or stdout).strip().splitlines()[-15:])
    return EngineError(f"`{' '.join(compose_command())} {what}` failed:\n{tail}")


def run_compose(zone: str, compose_file: Path, *args: str, what: str = "") -> subprocess.CompletedProcess[str]:
    """Run Compose on the zone's project and wait; EngineError (its last lines) when it
    fails, naming the run ``what`` (default: its arguments)."""
    r = subprocess.run(compose_args(zone, compose_file, *args), capture_output=True, text=True)
    if r.returncode != 0:
        raise _failed(what or " ".join(args), r.stdout, r.stderr)
    return r


def start_compose(zone: str, compose_file: Path, *args: str) -> subprocess.Popen[str]:
    """Start Compose on the zone's project without waiting (see :func:`check_finished`)."""
    return subprocess.Popen(
        compose_args(zone, compose_file, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def check_finished(proc: subprocess.Popen[str], what: str, stdout: str, stderr: str) -> None:
    """EngineError when a Compose run started by :func:`start_compose` failed."""
    if proc.returncode != 0:
        raise _failed(what, stdout, stderr)
