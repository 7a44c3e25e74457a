"""Who may talk to this node: the zone roster decides, ZAP enforces, every decision is logged.

The core, :class:`RosterPolicy`, is plain Python and knows nothing of event loops: given
a ZAP request it says allow (and which node it is) or deny (and why). The adapters are
thin: :class:`ZapHandler` answers libzmq's ZAP requests on ``inproc://zeromq.zap.01``
from an asyncio loop, and :class:`HandshakeMonitor` logs handshakes that fail before ZAP
is even asked (a plaintext client, a client that does not know our server key), and
tells a DEALER's owner when its connection comes up, fails or drops. Refusals go
through :class:`RefusalLog`, which logs the first of each period in full and counts
the rest, so a stranger knocking in a loop cannot fill the log.

Every node socket is CURVE: the ROUTER is a CURVE server, each DEALER a CURVE client
that knows the server's public key from the roster, so both ends are authenticated and
the session is encrypted with ephemeral keys (CurveZMQ, NaCl crypto_box).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq
from zmq.utils import z85

from .roster import NodeEntry, Roster

__all__ = ["RosterPolicy", "Decision", "ZapHandler", "HandshakeMonitor", "RefusalLog", "ZAP_ENDPOINT"]

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
log = logging.getLogger("autonomy.security")


class RefusalLog:
    """Refusals, logged in full up to ``burst`` lines per ``period`` seconds, then counted.

    Whoever knocks with a wrong key is retried by ZeroMQ every 100 ms, so one line per
    refusal would let any process on the network fill the log. The first ``burst``
    refusals of a period are logged with who, from where and why; at the end of the
    period one line says how many more there were.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, burst: int = 10, period: float = 10.0) -> None:
        self._loop = loop
        self._burst = burst
        self._period = period
        self._until = 0.0
        self._lines = 0
        self._more = 0
        self._timer: asyncio.TimerHandle | None = None

    def warn(self, fmt: str, *args: object) -> None:
        now = time.monotonic()
        if now >= self._until:
            self._summary()
            self._until = now + self._period
            self._lines = 0
        if self._lines < self._burst:
            self._lines += 1
            log.warning(fmt, *args)
            return
        self._more += 1
        if self._timer is None and self._loop is not None:
            self._timer = self._loop.call_later(max(0.0, self._until - now), self._summary)

    def _summary(self) -> None:
        self._timer = None
        if self._more:
            log.warning("… and %d more refusals in the last %g s not logged", self._more, self._period)
            self._more = 0

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._summary()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    user_id: str  # the node's name when allowed
    reason: str


class RosterPolicy:
    """Admit exactly the CURVE keys listed in the zone roster."""

    def __init__(self, roster: Roster, *, zone: str, refusals: RefusalLog | None = None) -> None:
        self._by_key: dict[bytes, NodeEntry] = {z85.decode(n.public_key): n for n in roster.nodes}
        self._zone = zone
        self._refusals = refusals or RefusalLog()
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
            self._refusals.warn("deny connection from %s: %s", address, d.reason)
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
        *,
        on_connected: Callable[[], None] | None = None,
        on_retry: Callable[[], None] | None = None,
        refusals: RefusalLog | None = None,
    ) -> None:
        """``on_connected``: a CURVE handshake succeeded; ``on_retry``: a connection
        attempt failed and ZeroMQ will try again (the peer is not there); ``on_disconnect``:
        an established connection dropped. Failed handshakes are refusals (throttled)."""
        self._loop = loop
        self._what = what
        self._on_disconnect = on_disconnect
        self._on_connected = on_connected
        self._on_retry = on_retry
        self._refusals = refusals or RefusalLog(loop)
        events = (
            zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_AUTH
        )
        if on_disconnect is not None:
            events |= zmq.EVENT_DISCONNECTED
        if on_connected is not None:
            events |= zmq.EVENT_HANDSHAKE_SUCCEEDED
        if on_retry is not None:
            events |= zmq.EVENT_CONNECT_RETRIED
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
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                if self._on_connected is not None:
                    self._on_connected()
            elif event == zmq.EVENT_CONNECT_RETRIED:
                if self._on_retry is not None:
                    self._on_retry()
            elif event in _FAILED:
                # libzmq's monitor names the local endpoint only; the remote address of a
                # failed handshake is not known here (ZAP refusals name it)
                self._refusals.warn("deny on %s %s: %s (errno %s)", self._what, endpoint, _FAILED[event], msg["value"])

    def close(self) -> None:
        self._loop.remove_reader(self._fd)
        try:
            self._owner.disable_monitor()
        except zmq.ZMQError:
            pass
        self._sock.close(0)
