"""Who can deliver a message to a node: roster members only, over CURVE.

The peer in these tests is a raw pyzmq DEALER, so nothing of the runtime's own client
side helps it: what it gets through is what any process on the network would get.
"""

from __future__ import annotations

import os
import pickle
import random
import time
from pathlib import Path

import pytest
import zmq
from zonekit import app

from autonomy.testing import LocalPod, LocalZone
from autonomy.transport import envelope as _wire
from autonomy.transport.roster import KeyPair, generate_keypair, load_keypair

REPLY_WAIT_MS = 1500  # how long a refused peer waits to be sure nothing comes back
ANSWER_WAIT_MS = 15000  # how long an admitted peer may wait for its answer on a busy machine


@pytest.fixture
def guarded(local_zone):
    """A 3-node zone (target + 2 servers) plus a roster identity with no process ('tester')."""
    zone = local_zone(
        [
            LocalPod("target-pod", app("guarded"), container="target"),
            LocalPod("runner-pod", app("serve"), clones=2, container="runner"),
            LocalPod("tester-pod", None, container="tester", autostart=False),
        ],
        http=True,
    )
    zone.wait_for("target-pod", "guarded node ready")
    return zone


def _target(zone: LocalZone):
    return zone.node("target-pod")


def _tester_key(zone: LocalZone) -> KeyPair:
    return load_keypair(zone.node("tester-pod").key_path)[1]


def dealer(zone: LocalZone, key: KeyPair | None, server_key: str | None = None) -> zmq.Socket:
    target = _target(zone)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    if key is not None:
        sock.curve_serverkey = (server_key or target.entry.public_key).encode()
        sock.curve_publickey = key.public_key.encode()
        sock.curve_secretkey = key.secret_key.encode()
    sock.connect(target.entry.endpoint)
    return sock


def ask(
    sock: zmq.Socket, kind: int, target: str, payload: bytes, corr: int = 1, wait_ms: int = REPLY_WAIT_MS
) -> _wire.Envelope | None:
    sock.send(_wire.encode(kind, corr, target.encode(), payload))
    reply = receive(sock, wait_ms)
    return None if reply is None else _wire.decode(reply[0])


def receive(sock: zmq.Socket, wait_ms: int = REPLY_WAIT_MS) -> list[bytes] | None:
    if sock.poll(wait_ms, zmq.POLLIN):
        return sock.recv_multipart()
    return None


def wait_log(zone: LocalZone, text: str, timeout: float = 5.0) -> str:
    return zone.wait_for("target-pod", text, timeout=timeout)


def test_roster_member_is_answered(guarded):
    """The control case: the same client code with a roster key gets its reply."""
    sock = dealer(guarded, _tester_key(guarded))
    reply = ask(sock, _wire.Kind.REQUEST, "echo", b"friend", wait_ms=ANSWER_WAIT_MS)
    sock.close()
    assert reply is not None and reply.payload == b"friend" and reply.kind == _wire.Kind.REPLY
    assert "echo got: friend" in guarded.log("target-pod")


def test_valid_curve_key_not_in_roster_delivers_nothing(guarded):
    sock = dealer(guarded, generate_keypair())
    assert ask(sock, _wire.Kind.REQUEST, "echo", b"intruder") is None
    sock.close()
    out = wait_log(guarded, "is not in the roster of zone 'local'")
    assert "deny connection from" in out
    assert "echo got: intruder" not in out


def test_plaintext_client_is_refused(guarded):
    sock = dealer(guarded, None)
    assert ask(sock, _wire.Kind.REQUEST, "echo", b"plaintext") is None
    sock.close()
    out = wait_log(guarded, "handshake failed")
    assert "deny on router" in out
    assert "echo got: plaintext" not in out


def test_node_of_another_zone_is_refused(guarded, tmp_path):
    other = LocalZone([LocalPod("main-pod", None, autostart=False)], workdir=tmp_path / "other", zone="other")
    key = load_keypair(other.nodes[0].key_path)[1]
    sock = dealer(guarded, key)
    assert ask(sock, _wire.Kind.REQUEST, "echo", b"from another zone") is None
    sock.close()
    out = wait_log(guarded, "is not in the roster of zone 'local'")
    assert "echo got: from another zone" not in out


def test_client_that_does_not_know_the_server_key_gets_nothing(guarded):
    """A DEALER that expects another server key cannot complete the handshake."""
    sock = dealer(guarded, _tester_key(guarded), server_key=generate_keypair().public_key)
    assert ask(sock, _wire.Kind.REQUEST, "echo", b"wrong server") is None
    sock.close()
    assert "echo got: wrong server" not in guarded.log("target-pod")


def test_malformed_frames_do_not_crash_the_node(guarded):
    sock = dealer(guarded, _tester_key(guarded))
    good = _wire.encode(_wire.Kind.REQUEST, 7, b"echo", b"x")
    bad = [
        [os.urandom(64)],
        [os.urandom(3), os.urandom(10), os.urandom(100)],
        [good[:5]],  # truncated header
        [good[:12]],  # truncated target
        [bytes([1, 99]) + bytes(8) + b"\x04echo" + b"unknown kind"],
        [bytes([9, 1]) + bytes(8) + b"\x04echo" + b"unknown version"],
        [_wire.encode(_wire.Kind.REQUEST, 7, b"\xff\xfe", b"bad utf-8 target")],
        [_wire.encode(_wire.Kind.REQUEST, 7, b"echo", b"\xff\xfe bad utf-8 message")],
        [_wire.encode(_wire.Kind.REPLY, 1, b"", b"a reply sent to a server")],
        [_wire.encode(_wire.Kind.ERROR, 1, b"", b"{}")],
        [b""],
        [good[:11] + b"\xffecho"],  # target length beyond the frame
    ]
    rng = random.Random(1)
    for _ in range(200):
        bad.append([rng.randbytes(rng.randrange(0, 40)) for _ in range(rng.randrange(1, 5))])
    for frames in bad:
        if frames:
            sock.send_multipart(frames)
    assert receive(sock, 300) is None  # none of those gets an answer
    reply = ask(sock, _wire.Kind.REQUEST, "echo", b"still alive", corr=8, wait_ms=ANSWER_WAIT_MS)
    sock.close()
    assert reply is not None and reply.payload == b"still alive" and reply.corr == 8
    target = _target(guarded)
    assert target.process is not None and target.process.poll() is None
    out = guarded.log("target-pod")
    assert "dropped malformed message from 00000000000000000000000000000000-local-tester-pod-tester" in out
    health = target.get("/health")
    assert health["stats"]["malformed"] >= 200


class _Marker:
    """Unpickling this creates a file: proof that a payload was unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_start_worker_payload_is_unpickled_only_after_authentication(guarded, tmp_path):
    outsider_marker = tmp_path / "unpickled-for-outsider"
    sock = dealer(guarded, generate_keypair())
    assert ask(sock, _wire.Kind.START, "evil", pickle.dumps(_Marker(outsider_marker))) is None
    sock.close()
    wait_log(guarded, "is not in the roster")
    time.sleep(0.3)
    assert not outsider_marker.exists()

    # The same payload from a roster member is unpickled (and refused as not a worker):
    # so the check above would fail if authentication did not come first.
    member_marker = tmp_path / "unpickled-for-member"
    sock = dealer(guarded, _tester_key(guarded))
    reply = ask(sock, _wire.Kind.START, "evil", pickle.dumps(_Marker(member_marker)), wait_ms=ANSWER_WAIT_MS)
    sock.close()
    assert reply is not None and reply.kind == _wire.Kind.ERROR
    assert b"handle_message" in reply.payload
    assert member_marker.exists()
