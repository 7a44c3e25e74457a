"""The client side of a node's messaging: calls to other nodes and the replies they wait for.

This node reaches each peer through one DEALER (a CURVE client that knows the peer's
public key from the roster), opened on first use and kept open, because a CURVE
handshake costs milliseconds. A call gets a correlation id; the REPLY or ERROR envelope
that carries it back resolves the call's Future. A peer whose connection drops fails
every call still waiting on it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import zmq

from ..errors import MessagingError, NodeUnreachable, WorkerExists, WorkerFailed, WorkerNotFound
from ..settings import Settings
from ..transport import envelope
from ..transport.channel import Channel, Traffic
from ..transport.envelope import Kind
from ..transport.roster import Roster
from ..transport.security import HandshakeMonitor
from ._deadlines import Deadlines

__all__ = ["Client", "remote_error"]

log = logging.getLogger("autonomy.node")


class _Peer:
    __slots__ = ("name", "channel", "monitor")

    def __init__(self, name: str, channel: Channel, monitor: HandshakeMonitor) -> None:
        self.name = name
        self.channel = channel
        self.monitor = monitor


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
        sock.sndhwm = s.hwm
        sock.rcvhwm = s.hwm
        sock.linger = 200
        if self._probe:
            # the readiness probe waits for nodes that are starting: retry often, no backoff
            sock.setsockopt(zmq.RECONNECT_IVL, 20)
        else:
            sock.setsockopt(zmq.RECONNECT_IVL, 50)  # peers that are still starting are found fast
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 250)
        sock.setsockopt(zmq.HEARTBEAT_IVL, 5000)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 15000)
        sock.connect(self.endpoints.get(name, entry.endpoint))

        def on_message(_: Any, frames: list[bytes]) -> None:
            self._on_dealer(name, frames)

        def on_disconnect() -> None:
            self._peer_lost(name)

        channel = Channel(sock, self._loop, on_message, label=f"peer {name}", traffic=self._traffic)
        monitor = HandshakeMonitor(sock, self._loop, f"peer {name}", on_disconnect=on_disconnect)
        peer = self._peers[name] = _Peer(name, channel, monitor)
        return peer

    def post(self, name: str, frame: bytes) -> None:
        """Send one envelope to peer ``name`` (no answer awaited)."""
        self._peer(name).channel.post(frame)

    def _peer_lost(self, name: str) -> None:
        lost = [c for c, (_, peer, _) in self._pending.items() if peer == name]
        if lost:
            log.warning("connection to node %s lost; failing %d waiting request(s)", name, len(lost))
        for c in lost:
            fut, _, worker = self._pending.pop(c)
            if not fut.done():
                fut.set_exception(NodeUnreachable(name, "connection lost while waiting for a reply", worker=worker))

    async def request(self, peer: str, kind: Kind, target: str, payload: bytes, timeout: float | None) -> bytes:
        """Send a request envelope to ``peer`` and wait for its REPLY payload."""
        corr = next(self._corr)
        frame = envelope.encode(kind, corr, target.encode(), payload)
        fut: asyncio.Future[bytes] = self._loop.create_future()
        self._pending[corr] = (fut, peer, target)
        try:
            self.post(peer, frame)
            if timeout is not None:
                self._deadlines.add(timeout, fut, target or kind.name.lower(), peer)
            return await fut
        finally:
            self._pending.pop(corr, None)

    def _on_dealer(self, peer: str, frames: list[bytes]) -> None:
        pending = self._pending
        traffic = self._traffic
        for frame in frames:
            traffic.received += 1
            try:
                env = envelope.decode(frame)
                if env.kind is not Kind.REPLY and env.kind is not Kind.ERROR:
                    raise envelope.Malformed(f"unexpected {env.kind.name} from a server")
                item = pending.pop(env.corr, None)
                if item is None:
                    continue  # the waiter gave up (timeout, cancelled)
                fut, expected_peer, worker = item
                if expected_peer != peer:
                    raise envelope.Malformed("reply from the wrong peer")
                if fut.done():
                    continue
                if env.kind is Kind.REPLY:
                    fut.set_result(env.payload)
                else:
                    fut.set_exception(remote_error(envelope.parse_error(env.payload), worker, peer))
            except envelope.Malformed as e:
                traffic.drop_malformed(peer, e)

    def fail_pending(self, node: str) -> None:
        """Fail every waiting call: this node (``node``) is stopping."""
        for fut, _, _ in self._pending.values():
            if not fut.done():
                fut.set_exception(NodeUnreachable(node, "node is stopping"))
        self._pending.clear()

    def close(self) -> None:
        """Close every DEALER (after :meth:`fail_pending`)."""
        for peer in self._peers.values():
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
    return MessagingError(text, worker=w, node=n)
