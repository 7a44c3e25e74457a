"""Helpers of the e2e tests of `autonomy dev`, `zone status` and inlets.

The ``autonomy`` command is run as a user runs it (``python -m autonomy_cli``,
what the ``autonomy`` entry point runs: tests/cli/clirun.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from clirun import LABEL, autonomy_argv, run_autonomy

PROJECTS = Path(__file__).resolve().parent / "projects"


def cli_env(home: Path) -> dict[str, str]:
    return dict(os.environ, AUTONOMY_HOME=str(home), COLUMNS="200", NO_COLOR="1", PYTHONUNBUFFERED="1")


def run_cli(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return run_autonomy(args, env=cli_env(home), timeout=timeout)


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
