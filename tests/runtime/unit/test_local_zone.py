"""autonomy.testing.LocalZone starts each node once, however it is started.

The processes are stand-ins (``subprocess.Popen`` replaced): what is checked is how many
the zone starts and stops, not what they do.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

import autonomy.testing
from autonomy.testing import LocalPod, LocalZone


class _FakeProcess:
    def __init__(self, argv: list[str], **kw: Any) -> None:
        self.argv = argv
        self.env = kw.get("env", {})
        self.returncode: int | None = None
        self.signals: list[int] = []

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        if sig == signal.SIGTERM:
            self.returncode = 0

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.argv, timeout or 0)
        return self.returncode

    def kill(self) -> None:
        self.returncode = -9


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[_FakeProcess]:
    processes: list[_FakeProcess] = []

    def popen(argv: list[str], **kw: Any) -> _FakeProcess:
        p = _FakeProcess(argv, **kw)
        processes.append(p)
        return p

    monkeypatch.setattr(autonomy.testing.subprocess, "Popen", popen)
    return processes


def _zone(tmp_path: Path) -> LocalZone:
    return LocalZone(
        [LocalPod("main-pod"), LocalPod("runner-pod", clones=2), LocalPod("idle-pod", autostart=False)],
        workdir=tmp_path,
    )


def test_start_twice_starts_each_node_once(tmp_path: Path, started: list[_FakeProcess]) -> None:
    zone = _zone(tmp_path)
    zone.start()
    first = [n.process for n in zone.nodes]
    zone.start()
    assert len(started) == 3
    assert [n.process for n in zone.nodes] == first
    assert sorted(p.env["NODE"] for p in started) == sorted(n.name for n in zone.nodes if n.pod.autostart)


def test_with_start_starts_each_node_once_and_stops_all(tmp_path: Path, started: list[_FakeProcess]) -> None:
    with _zone(tmp_path).start() as zone:
        assert len(started) == 3
    assert all(p.signals == [signal.SIGTERM] for p in started)
    assert all(p.returncode == 0 for p in started)
    assert zone.node("idle-pod").process is None


def test_start_after_stop_starts_again(tmp_path: Path, started: list[_FakeProcess]) -> None:
    zone = _zone(tmp_path)
    zone.start()
    zone.stop()
    zone.start()
    assert len(started) == 6
    zone.stop()


def test_start_node_leaves_a_running_node_alone(tmp_path: Path, started: list[_FakeProcess]) -> None:
    zone = _zone(tmp_path)
    zone.start()
    node = zone.node("main-pod")
    zone.start_node(node)
    assert len(started) == 3
    zone.stop_node(node)
    zone.start_node(node)
    assert len(started) == 4
    zone.stop()
