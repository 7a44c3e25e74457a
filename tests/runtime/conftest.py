"""Fixtures of the runtime suite: zones of node processes, and a check that none outlives it.

Every process the suite starts inherits ``AUTONOMY_TEST_RUN=<token>`` from the
environment (LocalZone hands ``os.environ`` to its nodes). When the session ends, any
process still alive with this run's token fails it, and is killed.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autonomy.testing import LocalPod, LocalZone

_MARK = "AUTONOMY_TEST_RUN"
_PROC = Path("/proc")


def _alive_with(token: str) -> dict[int, str]:
    """Processes (pid -> command line) whose environment carries this run's token."""
    needle = f"\0{_MARK}={token}\0".encode()
    found: dict[int, str] = {}
    me = os.getpid()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            env = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if needle not in b"\0" + env + b"\0":
            continue
        state = stat.rsplit(")", 1)[-1].split()[0]
        if state in ("Z", "X"):
            continue  # exited, waiting to be reaped: not running
        found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return found


@pytest.fixture(scope="session", autouse=True)
def no_process_outlives_the_suite() -> Iterator[None]:
    """Fail the session if a process it started (a node, a script) is still running."""
    if not _PROC.is_dir():
        yield
        return
    token = uuid.uuid4().hex
    os.environ[_MARK] = token
    try:
        yield
    finally:
        del os.environ[_MARK]
    deadline = time.monotonic() + 5  # a process told to stop may take a moment
    left = _alive_with(token)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _alive_with(token)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, "processes started by the runtime suite outlived it (now killed):\n" + "\n".join(
        f"  {pid}: {cmd}" for pid, cmd in sorted(left.items())
    )


@pytest.fixture
def local_zone(tmp_path: Path) -> Iterator[Callable[..., LocalZone]]:
    """Start LocalZones; every one is stopped (SIGTERM, then SIGKILL) after the test."""
    zones: list[LocalZone] = []

    def make(pods: list[LocalPod], **kw: object) -> LocalZone:
        workdir = tmp_path / f"zone{len(zones)}"
        zone = LocalZone(pods, workdir=workdir, **kw)  # type: ignore[arg-type]
        zones.append(zone)
        return zone.start()

    yield make
    for z in zones:
        z.stop()
