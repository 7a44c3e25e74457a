"""Helpers of the hardening tests: zones, raw ZeroMQ clients, the envelope by hand.

These tests look at a node from outside, as any process on the network would: they
start node processes with :class:`autonomy.testing.LocalZone`, read ``GET /health``,
and speak to a node's ROUTER with plain pyzmq sockets. The envelope is written here
byte by byte from its documented layout (version, kind, 8-byte correlation id, target
length, target, payload), so a test does not lean on the runtime's own encoder.
"""

from __future__ import annotations

import contextlib
import json
import re
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import zmq

from autonomy.testing import LocalNode, LocalPod, LocalZone

APPS = Path(__file__).resolve().parent / "hardening_apps"

REQUEST, SEND, REPLY, ERROR, START, STOP, LIST, PING = 1, 2, 3, 4, 5, 6, 7, 8
_HEADER = struct.Struct(">BBQB")


def happ(name: str) -> Path:
    """The main.py of a hardening test app."""
    return APPS / name / "main.py"


# --------------------------------------------------------------------------- zones


@contextlib.contextmanager
def zone(
    workdir: Path,
    pods: Sequence[LocalPod],
    *,
    probe: bool = False,
    http: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[LocalZone]:
    """A started LocalZone, stopped (SIGTERM, then SIGKILL) on the way out.

    ``probe=True`` adds the zone's probe identity (role ``probe``, as ``zone deploy``
    has) to the roster before any node starts; :func:`probe_key` reads it back.
    """
    z = LocalZone(pods, workdir=workdir, http=http, env=env or {})
    if probe:
        _add_probe(z)
    try:
        yield z.start()
    finally:
        z.stop()


def _add_probe(z: LocalZone) -> None:
    public, secret = zmq.curve_keypair()
    name = f"{z.cluster}-{z.zone}-probe-probe"
    data = json.loads(z.roster_path.read_text())
    data["nodes"].append(
        {
            "name": name,
            "pod": "probe",
            "instance": "probe",
            "clone": 0,
            "container": "probe",
            "endpoint": "tcp://probe.invalid:1",
            "public_key": public.decode(),
            "role": "probe",
        }
    )
    z.roster_path.write_text(json.dumps(data, indent=2) + "\n")
    key = z.workdir / "keys" / "probe.key"
    key.write_text(json.dumps({"name": name, "public_key": public.decode(), "secret_key": secret.decode()}))
    key.chmod(0o600)


def probe_key(z: LocalZone) -> tuple[str, str, str]:
    """(name, public, secret) of the probe identity :func:`zone` added."""
    data = json.loads((z.workdir / "keys" / "probe.key").read_text())
    return data["name"], data["public_key"], data["secret_key"]


def node_key(node: LocalNode) -> tuple[str, str, str]:
    """(name, public, secret) from a node's key file."""
    data = json.loads(node.key_path.read_text())
    return data["name"], data["public_key"], data["secret_key"]


def health(node: LocalNode, timeout: float = 10.0) -> dict[str, Any]:
    """The node's ``GET /health`` as JSON."""
    return node.get("/health", timeout)  # type: ignore[no-any-return]


def wait_until(what: str, predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something true; AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {value!r})")
        time.sleep(interval)


def proc_status(pid: int) -> dict[str, int]:
    """VmSize, VmRSS, VmHWM (kB) of a live process."""
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: int(m.group(1)) for k in ("VmSize", "VmRSS", "VmHWM") if (m := re.search(rf"{k}:\s+(\d+)", text))}


# --------------------------------------------------------------------------- raw clients


def envelope(kind: int, corr: int, target: bytes = b"", payload: bytes = b"") -> bytes:
    return _HEADER.pack(1, kind, corr, len(target)) + target + payload


def parse(frame: bytes) -> tuple[int, int, bytes, bytes]:
    """(kind, corr, target, payload) of one envelope frame."""
    _, kind, corr, tlen = _HEADER.unpack_from(frame)
    end = _HEADER.size + tlen
    return kind, corr, frame[_HEADER.size : end], frame[end:]


def dealer(server: LocalNode, public: str, secret: str, *, ctx: zmq.Context | None = None) -> zmq.Socket:
    """A raw CURVE DEALER connected to ``server``'s ROUTER with the given key pair."""
    sock = (ctx or zmq.Context.instance()).socket(zmq.DEALER)
    sock.linger = 0
    sock.curve_serverkey = server.entry.public_key.encode()
    sock.curve_publickey = public.encode()
    sock.curve_secretkey = secret.encode()
    sock.connect(server.entry.endpoint)
    return sock


def ask(
    sock: zmq.Socket, kind: int, target: str, payload: bytes = b"", corr: int = 1, wait_s: float = 15.0
) -> tuple[int, int, bytes, bytes] | None:
    """Send one envelope and wait for the envelope that answers ``corr`` (None if none)."""
    sock.send(envelope(kind, corr, target.encode(), payload))
    deadline = time.monotonic() + wait_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not sock.poll(int(left * 1000), zmq.POLLIN):
            return None
        for frame in sock.recv_multipart():
            env = parse(frame)
            if env[1] == corr and env[0] in (REPLY, ERROR):
                return env
