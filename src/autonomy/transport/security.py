"""Who may talk to this node: the zone roster decides, ZAP enforces, every decision is logged.

The core, :class:`RosterPolicy`, is plain Python and knows nothing of event loops: given
a ZAP request it says allow (and which node it is) or deny (and why). The adapters are
thin: :class:`ZapHandler` answers libzmq's ZAP requests on ``inproc://zeromq.zap.01``
from an asyncio loop, and :class:`HandshakeMonitor` logs handshakes that fail before ZAP
is even asked (a plaintext client, a client that does not know our server key).

Every node socket is CURVE: the ROUTER is a CURVE server, each DEALER a CURVE client
that knows the server's public key from the roster, so both ends are authenticated and
the session is encrypted with ephemeral keys (CurveZMQ, NaCl crypto_box).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq
from zmq.utils import z85

from .roster import NodeEntry, Roster

__all__ = ["RosterPolicy", "Decision", "ZapHandler", "HandshakeMonitor", "ZAP_ENDPOINT"]

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
log = logging.getLogger("autonomy.security")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    user_id: str  # the node's name when allowed
    reason: str


class RosterPolicy:
    """Admit exactly the CURVE keys listed in the zone roster."""

    def __init__(self, roster: Roster, *, zone: str) -> None:
        self._by_key: dict[bytes, NodeEntry] = {z85.decode(n.public_key): n for n in roster.nodes}
        self._zone = zone
        self.allowed = 0
        self.denied = 0

    def decide(self, mechanism: bytes, credentials: list[bytes], address: str) -> Decision:
        if mechanism != b"CURVE":
            d = Decision(False, "", f"mechanism {mechanism.decode(errors='replace')} is not CURVE")
        elif len(credentials) != 1 or len(credentials[0]) != 32:
            d = Decision(False, "", "malformed CURVE credentials")
        else:
            entry = self._by_key.get(credentials[0])
            if entry is None:
                key = z85.encode(credentials[0]).decode()
                d = Decision(False, "", f"key {key[:8]}… is not in the roster of zone {self._zone!r}")
            else:
                d = Decision(True, entry.name, "roster key")
        if d.allowed:
            self.allowed += 1
            log.debug("allow %s from %s (%s)", d.user_id, address, d.reason)
        else:
            self.denied += 1
            log.warning("deny connection from %s: %s", address, d.reason)
        return d


class ZapHandler:
    """libzmq's ZAP protocol (RFC 27) on a REP socket, driven by an asyncio loop."""

    def __init__(self, ctx: zmq.Context[Any], policy: RosterPolicy, loop: asyncio.AbstractEventLoop) -> None:
        self.policy = policy
        self._loop = loop
        self._sock = ctx.socket(zmq.REP)
        self._sock.linger = 0
        self._sock.bind(ZAP_ENDPOINT)
        self._fd = self._sock.FD
        loop.add_reader(self._fd, self._drain)
        loop.call_soon(self._drain)

    def _drain(self) -> None:
        sock = self._sock
        while sock.EVENTS & zmq.POLLIN:
            frames = sock.recv_multipart()
            sock.send_multipart(self._answer(frames))

    def _answer(self, frames: list[bytes]) -> list[bytes]:
        if len(frames) < 6:
            log.warning("deny: malformed ZAP request")
            return [b"1.0", frames[1] if len(frames) > 1 else b"", b"400", b"malformed request", b"", b""]
        version, request_id, _domain, address, _identity, mechanism = frames[:6]
        decision = self.policy.decide(mechanism, frames[6:], address.decode(errors="replace"))
        if decision.allowed:
            return [version, request_id, b"200", b"OK", decision.user_id.encode(), b""]
        return [version, request_id, b"400", decision.reason.encode(), b"", b""]

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        self._sock.close(0)


_FAILED: dict[int, str] = {
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake failed",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "handshake failed (protocol: not a CURVE client?)",
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "handshake failed (authentication)",
}


class HandshakeMonitor:
    """Log failed handshakes and report disconnects of a socket (libzmq monitor events)."""

    def __init__(
        self,
        sock: zmq.Socket[bytes],
        loop: asyncio.AbstractEventLoop,
        what: str,
        on_disconnect: Callable[[], None] | None = None,
    ) -> None:
        self._loop = loop
        self._what = what
        self._on_disconnect = on_disconnect
        events = (
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH
        )
        if on_disconnect is not None:
            events |= zmq.EVENT_DISCONNECTED
        self._sock = sock.get_monitor_socket(events)
        self._owner = sock
        self._fd = self._sock.FD
        loop.add_reader(self._fd, self._drain)
        loop.call_soon(self._drain)

    def _drain(self) -> None:
        from zmq.utils.monitor import parse_monitor_message

        sock = self._sock
        if sock.closed:
            return
        while sock.EVENTS & zmq.POLLIN:  # type: ignore[arg-type, operator]
            msg = parse_monitor_message(sock.recv_multipart())
            event = msg["event"]
            endpoint = (
                msg["endpoint"].decode(errors="replace") if isinstance(msg["endpoint"], bytes) else msg["endpoint"]
            )
            if event == zmq.EVENT_DISCONNECTED:
                if self._on_disconnect is not None:
                    self._on_disconnect()
            elif event in _FAILED:
                log.warning("deny on %s %s: %s (errno %s)", self._what, endpoint, _FAILED[event], msg["value"])

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        try:
            self._owner.disable_monitor()
        except zmq.ZMQError:
            pass
        self._sock.close(0)
