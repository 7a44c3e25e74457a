"""Starting, serving HTTP, and stopping nodes as processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from zonekit import app, runners

from autonomy.testing import LocalPod, free_port


def test_sigterm_stops_busy_nodes_cleanly_with_exit_0(local_zone):
    z = local_zone([LocalPod("main-pod", app("busy")), runners(2)])
    z.wait_for("main-pod", "busy node ready")
    z.wait_ready()
    codes = z.stop(timeout=10)
    assert list(codes.values()) == [0, 0, 0]
    assert "stopping" in z.log("main-pod")


def test_http_health_and_workers(local_zone):
    z = local_zone([LocalPod("main-pod", app("multinode_runner")), runners(2)], http=True)
    z.wait_for("main-pod", "Runner is ready with greeter worker")
    node = z.node("main-pod")
    health = node.get("/health")
    assert health["status"] == "ok" and health["node"] == node.name and health["workers"] == 1
    assert node.get("/workers") == {"node": node.name, "workers": [{"name": "greeter"}]}
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/nope", timeout=5)
        raise AssertionError("404 expected")
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_health_counts_envelopes_both_ways(local_zone):
    z = local_zone(
        [
            LocalPod("client-pod", app("multinode_client"), container="client"),
            LocalPod("runner-pod", app("multinode_runner"), container="runner"),
        ],
        http=True,
    )
    z.wait_for("client-pod", "Received reply 4:", timeout=60)
    client = z.node("client-pod").get("/health")["stats"]
    runner = z.node("runner-pod").get("/health")["stats"]
    # the client's pings and requests, and the runner's answers to each
    assert client["sent"] >= 5 and runner["received"] >= 5, (client, runner)
    assert runner["sent"] >= 5 and client["received"] >= 5, (client, runner)
    assert {"received", "sent", "malformed", "unroutable", "refused", "replies_dropped"} <= set(runner)
    assert runner["malformed"] == 0 and runner["unroutable"] == 0 and runner["refused"] == 0


def test_taken_http_port_is_logged_not_fatal(local_zone):
    port = free_port()
    env = {"AUTONOMY_HTTP_PORT": str(port)}
    z = local_zone(
        [
            LocalPod("client-pod", app("multinode_client"), container="client", env=env),
            LocalPod("runner-pod", app("multinode_runner"), container="runner", env=env),
            LocalPod("other-pod", app("serve"), container="other"),
        ]
    )
    out = z.wait_for("client-pod", "Received reply 1:", timeout=30)
    both = out + z.log("runner-pod")
    assert f"HTTP port {port} is taken" in both
    # the other one serves HTTP, once its web server has loaded
    deadline = time.monotonic() + 30
    while f"HTTP on 127.0.0.1:{port}" not in z.log("client-pod") + z.log("runner-pod"):
        assert time.monotonic() < deadline, z.log("client-pod") + z.log("runner-pod")
        time.sleep(0.05)


def _run(script: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "AUTONOMY_HTTP_PORT": "0", **env}
    return subprocess.run(
        [sys.executable, "-c", script], env=full, capture_output=True, text=True, timeout=30, cwd=tmp_path
    )


def test_standalone_node_without_roster_serves_until_sigterm(tmp_path):
    """`python main.py` outside a zone: workers work, no peers; SIGTERM -> exit 0."""
    env = dict(os.environ, AUTONOMY_HTTP_PORT="0", AUTONOMY_ROSTER="")
    p = subprocess.Popen([sys.executable, str(app("greeter"))], env=env, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in p.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "Hello, Alice!" in line:
                break
        assert any("running standalone" in line for line in lines)
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_missing_roster_is_a_clear_error_with_exit_2(tmp_path):
    script = "from autonomy import Node\nNode.start()\n"
    r = _run(script, {"AUTONOMY_ROSTER": str(tmp_path / "nope.json"), "AUTONOMY_KEY": str(tmp_path / "k")}, tmp_path)
    assert r.returncode == 2
    assert "nope.json: roster not found" in r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr


def test_bad_setting_is_a_clear_error_with_exit_2(tmp_path):
    r = _run("from autonomy import Node\nNode.start()\n", {"AUTONOMY_HTTP_PORT": "eighty"}, tmp_path)
    assert r.returncode == 2
    assert "AUTONOMY_HTTP_PORT: expected a whole number, got 'eighty'" in r.stderr


def test_waiter_gets_an_error_when_its_peer_dies(local_zone):
    """No timeout given, the peer is killed: the waiter is told at once, not left hanging."""
    z = local_zone([LocalPod("main-pod", app("peer_loss")), runners(2)])
    out = z.wait_for("main-pod", "waiting on")
    name = out.split("waiting on ", 1)[1].split()[0]
    victim = next(n for n in z.nodes if n.name == name)
    assert victim.process is not None
    victim.process.kill()
    out = z.wait_for("main-pod", "LOST:", timeout=10)
    assert f"cannot reach node '{name}': connection lost while waiting for a reply" in out
