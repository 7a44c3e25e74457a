"""A peer that floods a node and never reads its replies hurts only itself.

The flooder is a separate process (a raw ZeroMQ client with a roster key) sending
requests to the echo worker as fast as it can, reading nothing back. Meanwhile a second
roster member asks the same worker something every 100 ms for 20 s: its round trips stay
under a second (one outlier allowed for a stall of the shared machine), and the node says
in ``/health`` what it did with the flooder's replies.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

from hardkit import REPLY, REQUEST, ask, dealer, happ, health, node_key, wait_until, zone

from autonomy.testing import LocalPod

PODS = [
    LocalPod("target-pod", happ("echo"), container="target"),
    LocalPod("flooder-pod", None, container="flooder", autostart=False),
    LocalPod("tester-pod", None, container="tester", autostart=False),
]


def _flooded(log) -> int:
    counts = re.findall(r"FLOOD sent=(\d+)", log.read_text() if log.exists() else "")
    return int(counts[-1]) if counts else 0


def test_a_flooding_peer_that_never_reads_does_not_delay_another(tmp_path):
    with zone(tmp_path, PODS) as z:
        z.wait_for("target-pod", "echo node ready")
        target = z.node("target-pod")
        tester = z.node("tester-pod")
        _, public, secret = node_key(tester)
        sock = dealer(target, public, secret)
        assert ask(sock, REQUEST, "echo", b"warm", corr=1, wait_s=30) is not None

        flood_log = tmp_path / "flooder.log"
        env = dict(
            os.environ,
            FLOOD_ENDPOINT=target.entry.endpoint,
            FLOOD_SERVER_KEY=target.entry.public_key,
            FLOOD_KEY_FILE=str(z.node("flooder-pod").key_path),
        )
        with open(flood_log, "w") as out:
            flooder = subprocess.Popen([sys.executable, str(happ("flooder"))], env=env, stdout=out, stderr=out)
        try:
            wait_until("the flood under way", lambda: _flooded(flood_log) >= 20_000, timeout=60)
            latencies = []
            corr = 1
            end = time.monotonic() + 20
            while time.monotonic() < end:
                corr += 1
                t = time.perf_counter()
                reply = ask(sock, REQUEST, "echo", f"probe {corr}".encode(), corr=corr, wait_s=10)
                latencies.append(time.perf_counter() - t)
                assert reply is not None, f"probe {corr} unanswered; flooder at {_flooded(flood_log)}"
                assert reply[0] == REPLY and reply[3] == f"probe {corr}".encode()
                time.sleep(0.1)
            flooded = _flooded(flood_log)
            assert flooder.poll() is None
        finally:
            flooder.kill()
            flooder.wait()
            sock.close()
        assert flooded >= 100_000, f"the flood was too small to matter: {flooded}"
        latencies.sort()
        slow = [t for t in latencies if t >= 1.0]
        # one stall of a shared machine is not the node's doing; a peer stuck behind the
        # flooder's replies would see every probe late or unanswered
        assert len(slow) <= 1 and latencies[-1] < 5.0, (
            f"{len(slow)} of {len(latencies)} round trips took 1 s or more (slowest {latencies[-1]:.3f} s, "
            f"p50 {latencies[len(latencies) // 2]:.4f} s)"
        )
        stats = health(target)["stats"]
        assert sum(stats.get(k, 0) for k in ("replies_dropped", "over_window", "peers_disconnected")) > 0, stats
        out = z.log("target-pod")
        assert "flooder" in out  # what the node did about the flooder is logged, naming it
