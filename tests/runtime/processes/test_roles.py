"""Least privilege: the probe identity may ping a node and read its health, nothing else.

``zone deploy`` pings with an identity of role ``probe`` whose key sits on the host. A
node admits it (so the ping can be answered) but refuses, answers with an error, and
logs every other kind of message it sends: starting a worker (whose payload is never
unpickled), stopping one, a request, a fire-and-forget message, listing workers.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

from hardkit import (
    ERROR,
    LIST,
    PING,
    REPLY,
    REQUEST,
    SEND,
    START,
    STOP,
    ask,
    dealer,
    envelope,
    happ,
    health,
    node_key,
    probe_key,
    zone,
)

from autonomy.testing import LocalPod

PODS = [
    LocalPod("target-pod", happ("recorder"), container="target"),
    LocalPod("tester-pod", None, container="tester", autostart=False),
]


class _Marker:
    """Unpickling this creates a file: proof that a payload was unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_the_probe_identity_may_ping_and_read_health_only(tmp_path):
    with zone(tmp_path, PODS, probe=True) as z:
        z.wait_for("target-pod", "recorder ready")
        target = z.node("target-pod")
        probe_name, public, secret = probe_key(z)
        sock = dealer(target, public, secret)
        try:
            ping = ask(sock, PING, "", corr=1, wait_s=30)
            assert ping is not None and ping[0] == REPLY
            assert json.loads(ping[3])["name"] == target.name

            marker = tmp_path / "unpickled"
            refused = {
                "start": ask(sock, START, "evil", pickle.dumps(_Marker(marker)), corr=2),
                "stop": ask(sock, STOP, "recorder", corr=3),
                "request": ask(sock, REQUEST, "recorder", b"from the probe", corr=4),
                "list": ask(sock, LIST, "", corr=5),
            }
            sock.send(envelope(SEND, 0, b"recorder", b"sent by the probe"))
        finally:
            sock.close()
        for kind, answer in refused.items():
            assert answer is not None, f"{kind}: no answer at all"
            assert answer[0] == ERROR, f"{kind}: {answer}"
            assert b"probe" in answer[3], f"{kind}: {answer[3]!r}"
        assert not marker.exists(), "the probe's start payload was unpickled"

        # a roster node still sees the recorder, untouched by the probe
        _, public, secret = node_key(z.node("tester-pod"))
        sock = dealer(target, public, secret)
        try:
            listed = ask(sock, LIST, "", corr=10, wait_s=30)
            report = ask(sock, REQUEST, "recorder", b"report", corr=11, wait_s=30)
        finally:
            sock.close()
        assert listed is not None and listed[0] == REPLY
        assert [w["name"] for w in json.loads(listed[3])] == ["recorder"]
        assert report is not None and json.loads(report[3]) == []  # nothing from the probe arrived

        assert health(target)["status"] == "ok"
        out = z.log("target-pod")
        for kind in ("start", "stop", "request", "send", "list"):
            assert re.search(rf"refused {kind} from {re.escape(probe_name)} at 127\.0\.0\.1", out, re.I), (
                kind,
                out[-3000:],
            )
        assert "recorder got" not in out
