"""Refused connections are logged with the remote address, and not one line per attempt.

300 clients with valid CURVE keys that are not in the roster keep knocking (ZeroMQ
reconnects each of them every 100 ms); the node logs the first refusals in full (who,
from where, why), then a summary of how many more it refused, and keeps serving its zone.
"""

from __future__ import annotations

import re
import time

import zmq
from hardkit import REPLY, REQUEST, ask, dealer, happ, node_key, zone

from autonomy.testing import LocalPod

PODS = [
    LocalPod("target-pod", happ("echo"), container="target"),
    LocalPod("tester-pod", None, container="tester", autostart=False),
]


def test_refusals_name_the_remote_address_and_are_throttled(tmp_path):
    with zone(tmp_path, PODS) as z:
        z.wait_for("target-pod", "echo node ready")
        target = z.node("target-pod")
        ctx = zmq.Context()
        strangers = []
        try:
            for _ in range(300):
                public, secret = zmq.curve_keypair()
                sock = dealer(target, public.decode(), secret.decode(), ctx=ctx)
                sock.send(b"\x01\x01" + bytes(8) + b"\x04echo" + b"let me in")
                strangers.append(sock)
            time.sleep(6)
            _, public, secret = node_key(z.node("tester-pod"))
            member = dealer(target, public, secret, ctx=ctx)
            reply = ask(member, REQUEST, "echo", b"member", wait_s=30)
            member.close()
        finally:
            for s in strangers:
                s.close()
            ctx.term()
        assert reply is not None and reply[0] == REPLY
        # one more period so the summary of the last burst is written
        out = z.wait_for("target-pod", r"\d+ more refusals", timeout=30, regex=True)
        denials = [line for line in out.splitlines() if "is not in the roster" in line]
        assert 1 <= len(denials) <= 60, f"{len(denials)} refusal lines"
        assert all("from 127.0.0.1" in line for line in denials), denials[:3]
        more = sum(int(n) for n in re.findall(r"(\d+) more refusals", out))
        assert len(denials) + more >= 300, (len(denials), more)
