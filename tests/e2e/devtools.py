"""Helpers of the e2e tests of `autonomy dev`, `zone status` and inlets.

The ``autonomy`` command is run as a user runs it (``python -m autonomy_cli``,
what the ``autonomy`` entry point runs: tests/cli/clirun.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from clirun import LABEL, autonomy_argv, run_autonomy

PROJECTS = Path(__file__).resolve().parent / "projects"
#: the repository's root
ROOT = Path(__file__).resolve().parents[2]
ZONE_LABEL = LABEL + "zone"
#: the model gateway's provider settings, which a test sets all of (the unwanted ones empty)
PROVIDERS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "AUTONOMY_GATEWAY_MODEL")


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of the ``autonomy`` runs: without the bundled offline model unless
    ``extra`` asks for it (test_gateway.py and test_zone_agents.py do; building it compiles llama.cpp)."""
    env = dict(os.environ, AUTONOMY_HOME=str(home), COLUMNS="200", NO_COLOR="1", PYTHONUNBUFFERED="1")
    env.setdefault("AUTONOMY_OFFLINE_MODEL", "0")
    env.update(extra)
    return env


def run_cli(
    home: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_autonomy(args, env=cli_env(home, **(env or {})), timeout=timeout)


def copy_project(name: str, dest: Path, zone: str) -> Path:
    """A copy of ``projects/<name>`` whose autonomy.yaml names the zone ``zone``."""
    target = dest / zone
    shutil.copytree(PROJECTS / name, target)
    manifest = target / "autonomy.yaml"
    manifest.write_text(re.sub(r"(?m)^name: .*$", f"name: {zone}", manifest.read_text(), count=1))
    return target


class Dev:
    """``autonomy dev --dir <project>`` (or ``--rm``) in the background; its output collected line by line."""

    def __init__(self, home: Path, project: Path, command: tuple[str, ...] = ("dev",)) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            autonomy_argv(*command, "--dir", str(project)),
            env=cli_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 120, start: int = 0) -> int:
        """Index of the first line from ``start`` matching the regex ``pattern``."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    if rx.search(self.lines[i]):
                        return i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    tail = "\n".join(self.lines[-60:])
                    raise AssertionError(
                        f"no line matching {pattern!r} (exit code {self.proc.poll()}); output:\n{tail}"
                    )
                self._cond.wait(min(left, 0.5))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 90) -> int:
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self._reader.join(10)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._reader.join(10)


def app_containers(client, zone: str, pod: str | None = None) -> dict[str, str]:
    """instance -> container id of the zone's app containers (optionally of one pod)."""
    labels = [f"{LABEL}zone={zone}", f"{LABEL}role=app"] + ([f"{LABEL}pod={pod}"] if pod else [])
    return {c.labels[LABEL + "instance"]: c.id for c in client.containers.list(all=True, filters={"label": labels})}


def images_of(client, zone: str) -> list[str]:
    return [i.id for i in client.images.list(filters={"label": f"{LABEL}zone={zone}"})]


def inlets_of(client, zone: str) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": f"{LABEL}zone-probe={zone}"})]


def http_request(url: str, body: Any = None, timeout: float = 240) -> tuple[int, str]:
    """(status, body) of a GET, or of a POST of ``body`` as JSON. Retried while the pod's
    web server is not listening yet (the deploy waits for the node's ping, not for it)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except (ConnectionError, urllib.error.URLError) as e:
            if isinstance(e, urllib.error.URLError) and not isinstance(e.reason, ConnectionError):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def leftovers(client, zone: str) -> list[str]:
    """Every container, network or volume still labelled with the zone."""
    f = {"label": f"{ZONE_LABEL}={zone}"}
    return (
        [f"container {c.name}" for c in client.containers.list(all=True, filters=f)]
        + [f"network {n.name}" for n in client.networks.list(filters=f)]
        + [f"volume {v.name}" for v in client.volumes.list(filters=f)]
        + [f"probe {c.name}" for c in client.containers.list(all=True, filters={"label": f"{ZONE_LABEL}-probe={zone}"})]
    )


def _require_docker() -> bool:
    return os.environ.get("AUTONOMY_REQUIRE_DOCKER", "").strip().lower() in ("1", "true", "yes")


def no_docker(reason: str) -> None:
    """Skip the test for ``reason``; fail it instead under AUTONOMY_REQUIRE_DOCKER=1 (CI)."""
    if _require_docker():
        pytest.fail(f"AUTONOMY_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def connect_engine() -> Any:
    """A ``docker.DockerClient`` of a live engine, or :func:`no_docker`."""
    try:
        import docker
    except ImportError as e:  # pragma: no cover - docker is a dependency
        no_docker(f"the docker SDK is not installed ({e})")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:
        no_docker(f"Docker engine unreachable ({type(e).__name__}: {e})")
    return client


def deploy_with_providers(home: Path, project: Path, **env: str) -> str:
    """`zone deploy` with exactly the provider settings ``env`` (the others empty) and the
    offline model allowed; returns what it printed."""
    settings = {name: "" for name in PROVIDERS} | {"AUTONOMY_OFFLINE_MODEL": "1"} | env
    r = run_cli(home, "zone", "deploy", "--dir", str(project), env=settings, timeout=1800)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    return out
