"""A regular pod flooded by two others keeps its memory, its order and its answers.

Two sender pods push 1M fire-and-forget messages in all into a regular-size pod (256 MiB)
while a third pod asks it something every 250 ms. Every message arrives, in order per
sender; the receiver is neither restarted nor killed for memory; no answer to the third
pod takes 2 s or more.
"""

from __future__ import annotations

import re
import time

import pytest
from devtools import copy_project, leftovers

from clirun import LABEL

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]
ZONE = "flood"


def _container(client, instance: str, name: str):
    found = client.containers.list(
        all=True,
        filters={"label": [f"{LABEL}zone={ZONE}", f"{LABEL}instance={instance}", f"{LABEL}container={name}"]},
    )
    assert len(found) == 1, f"{instance}/{name}: {found}"
    return found[0]


def _logs(client, instance: str, name: str) -> str:
    return _container(client, instance, name).logs().decode(errors="replace")


def test_two_senders_flood_a_regular_pod_that_keeps_answering(cli, docker_client, tmp_path):
    project = copy_project("flood", tmp_path, ZONE)
    try:
        r = cli("zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        deadline = time.monotonic() + 900
        while "SINK DONE" not in (sink_log := _logs(docker_client, "sink-pod", "sink")):
            sink = _container(docker_client, "sink-pod", "sink")
            assert sink.status == "running", sink_log[-3000:]
            assert time.monotonic() < deadline, sink_log[-3000:]
            time.sleep(2)
        assert "SINK DONE total=1000000 out_of_order=0" in sink_log, sink_log[-3000:]
        for i in range(2):
            assert "SENT 500000 in" in _logs(docker_client, f"sender-pod-{i}", "sender")
        state = _container(docker_client, "sink-pod", "sink")
        state.reload()
        assert state.attrs["RestartCount"] == 0
        assert state.attrs["State"]["OOMKilled"] is False
        assert state.attrs["State"]["Running"] is True

        echoes = _logs(docker_client, "echoer-pod", "echoer")
        assert "FAILED" not in echoes, echoes[-3000:]
        latencies = [float(ms) for ms in re.findall(r"ECHO \d+ ms=([\d.]+)", echoes)]
        assert len(latencies) >= 20, echoes[-3000:]
        assert max(latencies) < 2000, f"slowest echo {max(latencies):.0f} ms"
        assert "Traceback" not in sink_log
    finally:
        r = cli("zone", "delete", ZONE, "--images", "-y")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(docker_client, ZONE) == []
