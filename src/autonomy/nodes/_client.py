"""The client side of a node's messaging: calls to other nodes and the replies they wait for.

This node reaches each peer through one DEALER (a CURVE client that knows the peer's
public key from the roster), opened on first use and kept open, because a CURVE
handshake costs milliseconds. A call gets a correlation id; the REPLY or ERROR envelope
that carries it back resolves the call's Future.

Each peer has a state, from libzmq's monitor events: ``connecting`` until the first
handshake, ``up``, or ``down`` while ZeroMQ cannot connect or after the connection
dropped. While a peer is down every call to it fails at once (``NodeUnreachable``), and
the calls waiting on it fail when it goes down.

Flow control is by credit: a peer takes ``AUTONOMY_WINDOW`` requests and sends at first,
and grants more (CREDIT envelopes) as its workers consume them. What may not leave yet
(no credit, or the peer not up) waits in the peer's outbox, in order; a request whose
caller has given up by then is dropped from it, not sent late. When the outbox holds
``AUTONOMY_PEER_OUTBOX`` envelopes, senders wait for room, up to their timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from typing import Any

import zmq

from ..errors import (
    MalformedReply,
    MessagingError,
    NodeUnreachable,
    NotAllowed,
    WorkerExists,
    WorkerFailed,
    WorkerNotFound,
)
from ..settings import Settings
from ..transport import envelope
from ..transport.channel import MAX_BATCH, Channel, Traffic
from ..transport.envelope import Kind
from ..transport.roster import Roster
from ..transport.security import HandshakeMonitor
from ._deadlines import Deadlines
from .workers import Sink

__all__ = ["Client", "remote_error", "hwm", "text_of"]

log = logging.getLogger("autonomy.node")
_CONNECTING, _UP, _DOWN = "connecting", "up", "down"


def hwm(envelopes: int) -> int:
    """A socket's high-water mark (ZeroMQ counts messages, and one message carries up to
    MAX_BATCH envelopes) for about ``envelopes`` envelopes."""
    return max(16, envelopes // MAX_BATCH)


def text_of(payload: bytes, node: str, worker: str) -> str:
    """A reply's payload as text; MalformedReply when it is not UTF-8."""
    try:
        return payload.decode()
    except UnicodeDecodeError:
        raise MalformedReply(node, "the reply is not valid UTF-8", worker) from None


class _Peer:
    __slots__ = ("name", "channel", "monitor", "state", "why", "credit", "outbox", "room")

    def __init__(self, name: str, channel: Channel, monitor: HandshakeMonitor, credit: int) -> None:
        self.name = name
        self.channel = channel
        self.monitor = monitor
        self.state = _CONNECTING
        self.why = ""
        self.credit = credit
        self.outbox: deque[tuple[bytes, int, bool]] = deque()  # (frame, corr, costs credit)
        self.room: deque[asyncio.Future[None]] = deque()  # senders waiting for the outbox to shrink


class Client:
    """Calls from one node to its peers: DEALER sockets, waiting calls, their replies."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        settings: Settings,
        traffic: Traffic,
        deadlines: Deadlines,
    ) -> None:
        self._loop = loop
        self._settings = settings
        self._traffic = traffic
        self._deadlines = deadlines
        self._pending: dict[int, tuple[asyncio.Future[bytes], str, str]] = {}  # corr -> (future, peer, worker)
        self._streams: dict[int, Sink] = {}  # corr -> a mailbox: every REPLY/ERROR with it lands there
        self._corr = itertools.count(1)
        self._peers: dict[str, _Peer] = {}
        #: where to reach a peer instead of its roster endpoint (a probe outside the zone's network)
        self.endpoints: dict[str, str] = {}
        self._ctx: zmq.Context[Any] | None = None
        self._roster: Roster | None = None
        self._keys = ("", "")
        self._probe = False

    def open(self, ctx: zmq.Context[Any], roster: Roster, public: str, secret: str, *, probe: bool) -> None:
        """Be ready to reach the roster's nodes with this key pair. A ``probe`` retries
        connections often and without backoff: it waits for nodes that are starting."""
        self._ctx = ctx
        self._roster = roster
        self._keys = (public, secret)
        self._probe = probe

    def _peer(self, name: str) -> _Peer:
        peer = self._peers.get(name)
        if peer is not None:
            return peer
        entry = self._roster.by_name(name) if self._roster is not None else None
        if entry is None or self._ctx is None:
            raise NodeUnreachable(name, "not a node of this zone's roster")
        s = self._settings
        sock = self._ctx.socket(zmq.DEALER)
        sock.curve_serverkey = entry.public_key.encode()
        sock.curve_publickey = self._keys[0].encode()
        sock.curve_secretkey = self._keys[1].encode()
        sock.maxmsgsize = s.max_message
        sock.sndhwm = sock.rcvhwm = hwm(s.hwm)
        sock.linger = 200
        if self._probe:
            # the readiness probe waits for nodes that are starting: retry often, no backoff
            sock.setsockopt(zmq.RECONNECT_IVL, 20)
        else:
            sock.setsockopt(zmq.RECONNECT_IVL, 50)  # peers that are still starting are found fast
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 250)
        sock.setsockopt(zmq.CONNECT_TIMEOUT, 2000)  # an address that swallows SYNs counts as down
        sock.setsockopt(zmq.HEARTBEAT_IVL, 5000)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 15000)

        def on_message(_: Any, frames: list[bytes]) -> None:
            self._on_dealer(name, frames)

        channel = Channel(sock, self._loop, on_message, label=f"peer {name}", traffic=self._traffic)
        monitor = HandshakeMonitor(
            sock,
            self._loop,
            f"peer {name}",
            on_disconnect=lambda: self._down(name, "connection lost"),
            on_connected=lambda: self._up(name),
            on_retry=lambda: self._down(name, "it is down (no connection)"),
        )
        sock.connect(self.endpoints.get(name, entry.endpoint))
        peer = self._peers[name] = _Peer(name, channel, monitor, s.window)
        return peer

    # ------------------------------------------------------------------ sending

    async def send(self, name: str, frame: bytes, corr: int, timeout: float | None, worker: str = "") -> None:
        """Hand one envelope to peer ``name``: at once if it may leave, else into its
        outbox; while the outbox is full, wait for room (up to ``timeout``). REQUEST and
        SEND envelopes (``corr`` 0 or a request's) cost credit; a peer known to be down
        fails at once."""
        s = self._settings
        if len(frame) > s.max_message:
            raise ValueError(f"message of {len(frame)} bytes is larger than AUTONOMY_MAX_MESSAGE ({s.max_message})")
        peer = self._peer(name)
        if peer.state is _DOWN:
            raise NodeUnreachable(name, peer.why, worker=worker)
        if len(peer.outbox) >= s.peer_outbox:
            room: asyncio.Future[None] = self._loop.create_future()
            peer.room.append(room)
            try:
                await asyncio.wait_for(room, timeout)
            except TimeoutError:
                why = f"its outbox stayed full ({s.peer_outbox} messages) for {timeout:g} s"
                raise NodeUnreachable(name, why, worker=worker) from None
            if peer.state is _DOWN:
                raise NodeUnreachable(name, peer.why, worker=worker)
        costs = frame[1] == Kind.REQUEST or frame[1] == Kind.SEND
        if peer.state is _UP and not peer.outbox and (not costs or peer.credit > 0):
            if costs:
                peer.credit -= 1
            peer.channel.post(frame)
        else:
            if not peer.outbox and peer.state is _UP:
                log.debug("peer %s: no credit left, holding messages", name)
            peer.outbox.append((frame, corr, costs))

    def _pump(self, peer: _Peer) -> None:
        """Send what the outbox holds, in order, as far as the connection and credit allow.
        A request whose caller has given up (timed out, cancelled) is dropped, not sent."""
        outbox = peer.outbox
        pending = self._pending
        post = peer.channel.post
        while outbox and peer.state is _UP:
            frame, corr, costs = outbox[0]
            if corr and corr not in pending and corr not in self._streams:
                outbox.popleft()
                continue
            if costs:
                if peer.credit <= 0:
                    break
                peer.credit -= 1
            outbox.popleft()
            post(frame)
        limit = self._settings.peer_outbox
        while peer.room and len(outbox) < limit:
            waiter = peer.room.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _up(self, name: str) -> None:
        peer = self._peers.get(name)
        if peer is None:
            return
        if peer.state is _DOWN:
            log.info("connected to node %s again", name)
        peer.state = _UP
        peer.why = ""
        peer.credit = self._settings.window  # a new connection: a new window on the other side
        self._pump(peer)

    def _down(self, name: str, why: str) -> None:
        """The connection to ``name`` failed or dropped: fail its waiting calls and what
        waits to be sent; calls fail at once until it is up again."""
        peer = self._peers.get(name)
        if peer is None or (peer.state is _DOWN and why == peer.why):
            return
        was_up = peer.state is _UP
        peer.state = _DOWN
        peer.why = why
        lost = [c for c, (_, p, _) in self._pending.items() if p == name]
        if lost and was_up:
            log.warning("connection to node %s lost; failing %d waiting request(s)", name, len(lost))
        waiting = "connection lost while waiting for a reply" if was_up else why
        for c in lost:
            fut, _, worker = self._pending.pop(c)
            if not fut.done():
                fut.set_exception(NodeUnreachable(name, waiting, worker=worker))
        sends = sum(1 for _, corr, _ in peer.outbox if corr == 0)
        if sends:
            self._traffic.outbox_dropped += sends
            log.warning("dropped %d message(s) queued for node %s: %s", sends, name, why)
        peer.outbox.clear()
        for waiter in peer.room:
            if not waiter.done():
                waiter.set_result(None)  # the sender wakes, sees the state, fails
        peer.room.clear()

    async def request(self, peer: str, kind: Kind, target: str, payload: bytes, timeout: float | None) -> bytes:
        """Send a request envelope to ``peer`` and wait for its REPLY payload."""
        corr = next(self._corr)
        frame = envelope.encode(kind, corr, target.encode(), payload)
        fut: asyncio.Future[bytes] = self._loop.create_future()
        self._pending[corr] = (fut, peer, target)
        try:
            if timeout is not None:
                self._deadlines.add(timeout, fut, target or kind.name.lower(), peer)
            await self.send(peer, frame, corr, timeout, target)
            return await fut
        finally:
            self._pending.pop(corr, None)

    def open_stream(self, sink: Sink) -> int:
        """A correlation id whose every REPLY and ERROR goes to ``sink`` (a mailbox), from
        any peer, until :meth:`close_stream`."""
        corr = next(self._corr)
        self._streams[corr] = sink
        return corr

    def close_stream(self, corr: int) -> None:
        self._streams.pop(corr, None)

    def depths(self) -> dict[str, int]:
        """Envelopes waiting in each peer's outbox (empty ones left out)."""
        return {p.name: len(p.outbox) for p in self._peers.values() if p.outbox}

    # ------------------------------------------------------------------ receiving

    def _on_dealer(self, peer: str, frames: list[bytes]) -> None:
        pending = self._pending
        traffic = self._traffic
        for frame in frames:
            traffic.received += 1
            try:
                env = envelope.decode(frame)
            except envelope.Malformed as e:
                traffic.drop_malformed(peer, e)
                continue
            kind = env.kind
            if kind is Kind.CREDIT:
                p = self._peers.get(peer)
                if p is not None:
                    p.credit = min(self._settings.window, p.credit + env.corr)
                    if p.outbox:
                        self._pump(p)
                continue
            item = pending.get(env.corr)
            if item is None or item[1] != peer:
                if kind is not Kind.REPLY and kind is not Kind.ERROR:
                    traffic.drop_malformed(peer, envelope.Malformed(f"unexpected {kind.name} from a server"))
                elif item is None and env.corr in self._streams:
                    self._to_stream(peer, env)
                else:
                    # the waiter gave up (timeout, cancelled) or had its answer (a worker
                    # that replies several times), or a peer answers for another's call
                    log.debug("reply %d from %s: no one waits for it, dropped", env.corr, peer)
                continue
            del pending[env.corr]
            fut, _, worker = item
            if fut.done():
                continue
            if kind is Kind.REPLY:
                fut.set_result(env.payload)
            elif kind is Kind.ERROR:
                try:
                    fut.set_exception(remote_error(envelope.parse_error(env.payload), worker, peer))
                except envelope.Malformed as e:
                    traffic.drop_malformed(peer, e)
                    fut.set_exception(MalformedReply(peer, str(e), worker))
            else:
                traffic.drop_malformed(peer, envelope.Malformed(f"unexpected {kind.name} from a server"))
                fut.set_exception(MalformedReply(peer, f"a {kind.name} envelope where a reply belongs", worker))

    def _to_stream(self, peer: str, env: envelope.Envelope) -> None:
        sink = self._streams[env.corr]
        if env.kind is Kind.REPLY:
            try:
                sink._put(env.payload.decode())
            except UnicodeDecodeError:
                sink._put_error(MalformedReply(peer, "the reply is not valid UTF-8"))
            return
        try:
            sink._put_error(remote_error(envelope.parse_error(env.payload), "", peer))
        except envelope.Malformed as e:
            self._traffic.drop_malformed(peer, e)

    # ------------------------------------------------------------------ stopping

    def fail_pending(self, node: str) -> None:
        """Fail every waiting call: this node (``node``) is stopping."""
        for fut, _, _ in self._pending.values():
            if not fut.done():
                fut.set_exception(NodeUnreachable(node, "node is stopping"))
        self._pending.clear()

    def close(self) -> None:
        """Close every DEALER (after :meth:`fail_pending`); count what was still held."""
        for peer in self._peers.values():
            held = sum(1 for _, corr, _ in peer.outbox if corr == 0)
            if held:
                self._traffic.dropped_at_stop += held
                log.warning("dropped %d message(s) queued for node %s at stop", held, peer.name)
            peer.state, peer.why = _DOWN, "node is stopping"
            for waiter in peer.room:
                if not waiter.done():
                    waiter.set_result(None)  # the sender wakes, sees the state, fails
            peer.monitor.close()
            peer.channel.close(200)
        self._peers.clear()


def remote_error(data: dict[str, str], worker: str, peer: str) -> MessagingError:
    """The exception an ERROR envelope's payload describes."""
    kind, w, n, text = data["type"], data["worker"] or worker, data["node"] or peer, data["text"]
    if kind == "not_found":
        return WorkerNotFound(w, n)
    if kind == "failed":
        return WorkerFailed(w, n, text)
    if kind == "exists":
        return WorkerExists(w, n)
    if kind == "refused":
        return NotAllowed(n, text, w)
    return MessagingError(text, worker=w, node=n)
