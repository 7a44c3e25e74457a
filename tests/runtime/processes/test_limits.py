"""A node under a memory limit survives what used to exhaust it.

The sink node caps its own address space (``RLIMIT_AS``, as a container's memory limit
caps a pod) and its peak resident memory is read from ``/proc`` while it still runs:

* three raw TCP clients that never authenticate each declare one huge ZMTP frame and
  stream it: a node that buffered them before the CURVE handshake would need far more
  than a regular pod has;
* one sender pushes 1M fire-and-forget messages, then four senders 1M each at once:
  every message arrives, in order per sender, and the receiver stays small, because
  the senders are made to wait instead of the receiver queueing without bound.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import pytest
from hardkit import REPLY, REQUEST, ask, dealer, happ, node_key, proc_status, zone

from autonomy.testing import LocalPod

ADDRESS_SPACE_MB = 640  # the node's RLIMIT_AS; an idle node maps about 115 MB
PEAK_RSS_MB = 256  # a regular pod's memory limit


def sink_pod(expect: int) -> LocalPod:
    return LocalPod(
        "sink-pod",
        happ("sink"),
        container="sink",
        env={"HARDEN_RLIMIT_AS_MB": str(ADDRESS_SPACE_MB), "HARDEN_EXPECT": str(expect), "MALLOC_ARENA_MAX": "2"},
    )


TESTER = LocalPod("tester-pod", None, container="tester", autostart=False)


def _peak_mb(pid: int) -> float:
    return proc_status(pid)["VmHWM"] / 1024


def _huge_frame(host: str, port: int, declared: int, results: list[int]) -> None:
    """ZMTP 3.0 greeting (mechanism CURVE, as a client), then a long frame of ``declared``
    bytes, streamed until the node closes the connection or all of it is sent."""
    greeting = b"\xff" + bytes(8) + b"\x7f" + bytes([3, 0]) + b"CURVE".ljust(20, b"\0") + b"\0" + bytes(31)
    sent = 0
    try:
        with socket.create_connection((host, port), timeout=30) as s:
            s.sendall(greeting)
            s.sendall(b"\x06" + struct.pack(">Q", declared))  # a long command frame
            chunk = bytes(1 << 20)
            while sent < declared:
                s.sendall(chunk)
                sent += len(chunk)
    except OSError:
        pass
    results.append(sent)


def test_oversized_frame_before_authentication_costs_a_bounded_amount(tmp_path):
    with zone(tmp_path, [sink_pod(0), TESTER]) as z:
        z.wait_for("sink-pod", "sink node ready")
        sink = z.node("sink-pod")
        assert sink.process is not None
        before = _peak_mb(sink.process.pid)
        host, port = sink.entry.endpoint.removeprefix("tcp://").rsplit(":", 1)
        sent: list[int] = []
        clients = [
            threading.Thread(target=_huge_frame, args=(host, int(port), 250 << 20, sent), daemon=True) for _ in range(3)
        ]
        for t in clients:
            t.start()
        for t in clients:
            t.join(120)
        assert len(sent) == 3, "a client never finished"
        time.sleep(0.5)
        assert sink.process.poll() is None, z.log("sink-pod")[-3000:]
        peak = _peak_mb(sink.process.pid)
        assert peak - before < 64, f"peak RSS went from {before:.0f} to {peak:.0f} MB; clients streamed {sent}"
        # and it still serves its zone
        _, public, secret = node_key(z.node("tester-pod"))
        sock = dealer(sink, public, secret)
        try:
            reply = ask(sock, REQUEST, "echo", b"still here", wait_s=30)
        finally:
            sock.close()
        assert reply is not None and reply[0] == REPLY and reply[3] == b"still here"


def _burst(tmp_path, senders: int, each: int) -> None:
    total = senders * each
    pods = [
        sink_pod(total),
        LocalPod("blaster-pod", happ("blaster"), clones=senders, container="blaster", env={"BLAST_COUNT": str(each)}),
    ]
    with zone(tmp_path, pods) as z:
        sink = z.node("sink-pod")
        assert sink.process is not None
        out = z.wait_for("sink-pod", f"SINK DONE total={total}", timeout=800)
        assert f"SINK DONE total={total} out_of_order=0" in out
        peak = _peak_mb(sink.process.pid)
        assert sink.process.poll() is None
        for node in z.nodes:
            if node.entry.pod == "blaster-pod":
                assert f"SENT {each} in" in z.wait_for(node.entry.instance, f"SENT {each} in", timeout=60)
        assert "Traceback" not in out
        assert peak < PEAK_RSS_MB, f"the receiver peaked at {peak:.0f} MB"


@pytest.mark.timeout(900)
def test_a_burst_of_1m_messages_all_arrive_in_bounded_memory(tmp_path):
    _burst(tmp_path, 1, 1_000_000)


@pytest.mark.timeout(900)
def test_four_bursts_of_1m_at_once_all_arrive_in_bounded_memory(tmp_path):
    _burst(tmp_path, 4, 1_000_000)
