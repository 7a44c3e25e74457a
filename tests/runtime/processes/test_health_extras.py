"""What ``/health`` tells about traffic, and where a standalone node serves HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from hardkit import REPLY, REQUEST, ask, dealer, happ, health, node_key, wait_until, zone

from autonomy.testing import LocalPod, free_port


def test_health_counts_sent_envelopes_and_shows_queue_depths(tmp_path):
    pods = [
        LocalPod("target-pod", happ("echo"), container="target"),
        LocalPod("tester-pod", None, container="tester", autostart=False),
    ]
    with zone(tmp_path, pods) as z:
        z.wait_for("target-pod", "echo node ready")
        target = z.node("target-pod")
        _, public, secret = node_key(z.node("tester-pod"))
        sock = dealer(target, public, secret)
        try:
            for corr in range(1, 11):
                reply = ask(sock, REQUEST, "echo", b"x", corr=corr, wait_s=30)
                assert reply is not None and reply[0] == REPLY
            before = health(target)
            assert before["stats"]["sent"] >= 10, before
            assert before["queues"]["mailboxes"] == {}, before
            # queue five messages behind the slow worker's first
            for corr in range(20, 26):
                ask(sock, REQUEST, "slow", b"block", corr=corr, wait_s=0)
            h = wait_until(
                "a mailbox of 5", lambda: (x := health(target))["queues"]["mailboxes"].get("slow") == 5 and x, 30
            )
            assert isinstance(h["queues"]["outboxes"], dict)
        finally:
            sock.close()


def _standalone(env_extra: dict[str, str], tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "AUTONOMY_HTTP_HOST"}
    env.update(AUTONOMY_ROSTER="", AUTONOMY_HTTP_PORT=str(port), **env_extra)
    log = tmp_path / f"standalone-{port}.log"
    out = open(log, "w")
    p = subprocess.Popen([sys.executable, str(happ("echo"))], env=env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return p, port, log


def _other_address() -> str | None:
    """An address of this machine that is not loopback (None if it has none)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # no packet leaves: this only picks a route
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


def test_a_standalone_node_serves_http_on_loopback_by_default(tmp_path):
    p, port, log = _standalone({}, tmp_path)
    try:
        wait_until("HTTP started", lambda: "HTTP on" in log.read_text() or p.poll() is not None, 30)
        text = log.read_text()
        assert f"HTTP on 127.0.0.1:{port}" in text, text
        other = _other_address()
        if other is not None:
            try:
                socket.create_connection((other, port), timeout=2).close()
                raise AssertionError(f"a standalone node answered on {other}:{port}")
            except OSError:
                pass
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(15) == 0


def test_a_standalone_node_honours_an_explicit_http_host(tmp_path):
    p, port, log = _standalone({"AUTONOMY_HTTP_HOST": "0.0.0.0"}, tmp_path)
    try:
        wait_until("HTTP started", lambda: "HTTP on" in log.read_text() or p.poll() is not None, 30)
        assert f"HTTP on 0.0.0.0:{port}" in log.read_text()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(15) == 0
