"""A rogue roster node's malformed answers reach user code as the runtime's own errors.

The rogue node is a raw ROUTER run by this test with a roster key; it answers each
request of the client node with something malformed. Every call must end with one of
the runtime's ``RuntimeError`` subclasses that names the peer and the cause, and a
malformed answer must fail its caller at once, not leave it to its timeout.
"""

from __future__ import annotations

import re
import threading

import zmq
from hardkit import ERROR, LIST, PING, REPLY, REQUEST, envelope, happ, node_key, parse, zone

from autonomy.testing import LocalPod

BAD_REPLIES = {
    "bad_utf8": (REPLY, b"\xff\xfe not UTF-8"),
    "err_not_json": (ERROR, b"not json"),
    "err_list": (ERROR, b"[1, 2]"),
    "err_bad_utf8": (ERROR, b"\xff\xfe"),
    "err_deep": (ERROR, b"[" * 100_000),
    "err_empty_object": (ERROR, b"{}"),
    "wrong_kind": (REQUEST, b"a request where a reply belongs"),
}
BAD_LISTS = [b"not json", b'{"name": "x"}', b"[1, 2]", b"[{}]", b'"a string"', b"\xff\xfe", b"[" * 100_000]


class RogueNode(threading.Thread):
    """Answers PING properly and every REQUEST and LIST with a malformed envelope."""

    def __init__(self, endpoint: str, public: str, secret: str) -> None:
        super().__init__(daemon=True)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.curve_server = True
        self.sock.curve_publickey = public.encode()
        self.sock.curve_secretkey = secret.encode()
        self.sock.bind(endpoint)
        self.stopping = threading.Event()
        self.lists = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            if not self.sock.poll(100):
                continue
            rid, *frames = self.sock.recv_multipart()
            for frame in frames:
                kind, corr, target, _ = parse(frame)
                if kind == PING:
                    answer = envelope(REPLY, corr, b"", b'{"name": "rogue", "pod": "rogue-pod", "workers": 0}')
                elif kind == LIST:
                    answer = envelope(REPLY, corr, b"", BAD_LISTS[self.lists % len(BAD_LISTS)])
                    self.lists += 1
                elif kind == REQUEST:
                    bad_kind, payload = BAD_REPLIES[target.decode()]
                    answer = envelope(bad_kind, corr, b"", payload)
                else:
                    continue
                self.sock.send_multipart([rid, answer])

    def stop(self) -> None:
        self.stopping.set()
        self.join(5)
        self.sock.close()
        self.ctx.term()


def test_every_rogue_reply_is_one_of_our_errors_naming_peer_and_cause(tmp_path):
    pods = [
        LocalPod("client-pod", happ("rogue_client"), container="client"),
        LocalPod("rogue-pod", None, container="rogue", autostart=False),
    ]
    with zone(tmp_path, pods, http=False) as z:
        rogue_node = z.node("rogue-pod")
        _, public, secret = node_key(rogue_node)
        rogue = RogueNode(rogue_node.entry.endpoint, public, secret)
        rogue.start()
        try:
            out = z.wait_for("client-pod", "ROGUE DONE", timeout=120)
        finally:
            rogue.stop()
    cases = dict(re.findall(r"CASE (\S+): (.*)", out))
    assert set(cases) == set(BAD_REPLIES) | {f"list_{i}" for i in range(len(BAD_LISTS))}, out[-3000:]
    for name, line in cases.items():
        assert "ours=True" in line, f"{name}: {line}"
        seconds = float(re.search(r"s=([\d.]+)", line).group(1))  # type: ignore[union-attr]
        assert seconds < 10, f"{name} waited for its timeout: {line}"
        text = line.split("text=", 1)[1]
        assert rogue_node.name in text, f"{name} does not name the peer: {text}"
        assert "malformed" in text or "invalid" in text, f"{name} does not say what was wrong: {text}"
    assert "Traceback" not in out
