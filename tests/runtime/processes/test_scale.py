"""Thousands of workers per node, and order under load."""

from __future__ import annotations

import pytest
from zonekit import app, runners

from autonomy.testing import LocalPod, LocalZone


@pytest.fixture(scope="module")
def scale_zone(tmp_path_factory):
    zone = LocalZone(
        [LocalPod("main-pod", app("scale")), runners(2)], workdir=tmp_path_factory.mktemp("scale"), http=True
    )
    zone.start()
    try:
        zone.wait_for("main-pod", "SCALE DONE", timeout=180)
        yield zone
    finally:
        zone.stop()


def test_ten_thousand_workers_on_one_node_each_reached(scale_zone):
    out = scale_zone.log("main-pod")
    assert "local workers reached: 10000/10000; listed: 10000" in out
    assert "remote workers reached: 10000/10000; listed: 10000" in out


def test_idle_workers_park_no_task(scale_zone):
    out = scale_zone.log("main-pod")
    line = next(x for x in out.splitlines() if "tasks while idle:" in x)
    assert int(line.rsplit(":", 1)[1]) <= 3  # main itself and the loop's own, not one per worker
    runner = scale_zone.node("runner-pod-0")
    health = runner.get("/health")
    assert health["workers"] >= 10_000
    assert health["tasks"] <= 3  # the node's main task, its web server's, this request's


def test_ten_thousand_messages_from_one_sender_arrive_in_order(scale_zone):
    out = scale_zone.log("main-pod")
    assert 'fire-and-forget order: {"count": 10000, "in_order": true}' in out
    assert 'request order: {"count": 10000, "in_order": true}' in out


def test_order_and_no_loss_past_a_tiny_high_water_mark(local_zone):
    """With AUTONOMY_HWM=2 and a window of 16 the 10,000 messages overflow ZeroMQ's queues
    and the credit many times over: they wait in the peer's outbox, in order, and none is
    dropped."""
    env = {"AUTONOMY_HWM": "2", "AUTONOMY_WINDOW": "16", "LOG_LEVEL": "DEBUG"}
    z = local_zone([LocalPod("main-pod", app("scale")), runners(2)], env=env)
    out = z.wait_for("main-pod", "SCALE DONE", timeout=240)
    assert 'fire-and-forget order: {"count": 10000, "in_order": true}' in out
    assert 'request order: {"count": 10000, "in_order": true}' in out
    assert "remote workers reached: 10000/10000" in out
    assert "no credit left, holding messages" in out  # the outbox was used
