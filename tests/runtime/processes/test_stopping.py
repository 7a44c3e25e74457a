"""SIGTERM while messages are in flight: callers are told, queued messages are counted.

* A node stopped while a remote caller waits on one of its workers tells that caller
  "worker ... stopped" (not a lost connection) and logs no traceback;
* messages still queued for a worker when its node stops are dropped with a log line
  that says how many.
"""

from __future__ import annotations

import re
import signal

from hardkit import happ, health, wait_until, zone

from autonomy.testing import LocalPod


def test_sigterm_during_a_remote_request_tells_the_caller_the_worker_stopped(tmp_path):
    pods = [
        LocalPod("target-pod", happ("echo"), container="target"),
        LocalPod("waiter-pod", happ("waiter"), container="waiter", env={"WAITER_MODE": "request"}),
    ]
    with zone(tmp_path, pods) as z:
        z.wait_for("waiter-pod", "WAITING on slow", timeout=60)
        target = z.node("target-pod")
        wait_until("the request reached the slow worker", lambda: health(target)["stats"]["received"] >= 2, 30)
        code = z.stop_node(target)
        out = z.wait_for("waiter-pod", "CALLER GOT", timeout=30)
        target_log = z.log("target-pod")
    assert code == 0
    line = next(line for line in out.splitlines() if "CALLER GOT" in line)
    assert "stopped" in line and "slow" in line and target.name in line, line
    assert "connection lost" not in line
    assert "Traceback" not in target_log and "non-socket" not in target_log, target_log[-3000:]


def test_sigterm_counts_and_logs_the_messages_it_drops(tmp_path):
    pods = [
        LocalPod("target-pod", happ("echo"), container="target"),
        LocalPod(
            "waiter-pod", happ("waiter"), container="waiter", env={"WAITER_MODE": "queue", "WAITER_COUNT": "3000"}
        ),
    ]
    with zone(tmp_path, pods) as z:
        z.wait_for("waiter-pod", "QUEUED 3000", timeout=120)
        target = z.node("target-pod")

        def queued() -> int:
            return int(health(target)["queues"]["mailboxes"].get("slow", 0))

        depth = wait_until("messages queued for the slow worker", lambda: queued() >= 100, 60)
        assert target.process is not None
        target.process.send_signal(signal.SIGTERM)
        assert z.stop_node(target, signalled=True) == 0
        out = z.log("target-pod")
    found = re.search(r"dropped (\d+) queued message", out)
    assert found, out[-3000:]
    assert int(found.group(1)) >= depth - 1  # the first one was being handled, not queued
    assert "Traceback" not in out
