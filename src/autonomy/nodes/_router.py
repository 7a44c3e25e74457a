"""The server side of a node's messaging: the ROUTER that other nodes call.

Each node binds one ROUTER, a CURVE server whose ZAP handler admits exactly the keys of
the zone's roster. Every envelope that arrives is dispatched here: a message for a
worker (REQUEST, SEND), or a control call (START, STOP, LIST, PING). Answers leave
through the same ROUTER, addressed by the caller's routing id and the call's
correlation id: :class:`Router` is the :class:`~autonomy.nodes.workers.Replier` of the
node's workers.

What a sender may do depends on its roster role: the ``probe`` identity may ping and
nothing else (every refusal is answered with an error and logged, throttled). What a
peer may send depends on its credit: each connection may have ``AUTONOMY_WINDOW``
requests and sends in flight (received, not yet taken by a worker); this node grants
more with a CREDIT envelope each time a quarter of that has been consumed, never while
idle. A peer that sends beyond its window ignores credit: the excess is dropped and
counted, a request among it answered with an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import zmq

from ..errors import (
    ConfigurationError,
    MessagingError,
    NodeUnreachable,
    NotAllowed,
    WorkerExists,
    WorkerFailed,
    WorkerNotFound,
)
from ..settings import Settings
from ..transport import envelope
from ..transport.channel import Channel, Traffic
from ..transport.envelope import Kind
from ..transport.roster import NodeEntry, Roster
from ..transport.security import HandshakeMonitor, RefusalLog, RosterPolicy, ZapHandler
from ._client import hwm
from ._shipping import loads_worker
from .workers import Workers, _check_name

__all__ = ["Router"]

log = logging.getLogger("autonomy.node")
_ERROR_TYPES: dict[type[MessagingError], str] = {
    WorkerNotFound: "not_found",
    WorkerFailed: "failed",
    WorkerExists: "exists",
    NotAllowed: "refused",
}


class _Account:
    """One connection's side of the credit: envelopes in flight, credit not yet granted."""

    __slots__ = ("sender", "inflight", "ungranted")

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.inflight = 0
        self.ungranted = 0


def _address(meta: Any) -> str:
    """The remote address of the connection a frame came in on (libzmq's Peer-Address)."""
    try:
        return str(meta.get("Peer-Address")) or "an unknown address"
    except (zmq.ZMQError, AttributeError):
        return "an unknown address"


class Router:
    """This node's ROUTER: receives calls from the zone's nodes and answers them."""

    def __init__(
        self,
        ctx: zmq.Context[Any],
        loop: asyncio.AbstractEventLoop,
        settings: Settings,
        roster: Roster,
        entry: NodeEntry,
        keys: tuple[str, str],
        *,
        workers: Workers,
        traffic: Traffic,
        info: Callable[[], str],
    ) -> None:
        """Bind the ROUTER at this node's roster port; raises ConfigurationError when the
        port cannot be bound. ``info()`` is the JSON a PING answers with."""
        self._name = entry.name
        self._workers = workers
        self._traffic = traffic
        self._info = info
        self._loop = loop
        self._roster_names = frozenset(n.name for n in roster.nodes)
        self._probes = frozenset(n.name for n in roster.nodes if n.role == "probe")
        self._window = settings.window
        self._grant = max(1, settings.window // 4)
        self._accounts: dict[bytes, _Account] = {}  # routing id -> what that connection has in flight
        self._current: dict[str, bytes] = {}  # sender -> its newest connection
        self._drop_logged_at = -1e9
        self.refusals = RefusalLog(loop)
        self.policy = RosterPolicy(roster, zone=roster.zone, refusals=self.refusals)
        self._zap = ZapHandler(ctx, self.policy, loop)  # bound before any CURVE server
        sock = ctx.socket(zmq.ROUTER)
        sock.curve_server = True
        sock.curve_publickey = keys[0].encode()
        sock.curve_secretkey = keys[1].encode()
        sock.zap_domain = (roster.zone or "zone").encode()
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.maxmsgsize = settings.max_message  # before the handshake too: no bigger frame is read
        sock.sndhwm = sock.rcvhwm = hwm(settings.hwm)
        sock.linger = 500
        self.endpoint = f"tcp://{settings.bind_host}:{entry.port}"
        try:
            sock.bind(self.endpoint)
        except zmq.ZMQError as e:
            sock.close(0)
            self._zap.close()
            raise ConfigurationError(self.endpoint, f"cannot listen: {e.strerror}") from None
        self._monitor = HandshakeMonitor(sock, loop, f"router {self.endpoint}", refusals=self.refusals)
        self._channel = Channel(
            sock,
            loop,
            self._on_router,
            router=True,
            label="router",
            traffic=traffic,
            held_limit=settings.peer_outbox,
            on_drop=self._replies_dropped,
        )
        workers.on_consumed = self.consumed

    def close(self) -> None:
        self.refusals.close()
        self._monitor.close()
        self._channel.close(500)
        self._zap.close()

    def depths(self) -> dict[str, int]:
        """Replies waiting in the outbox of each peer that does not read them."""
        names = {rid: a.sender for rid, a in self._accounts.items()}
        return {names.get(rid, rid.hex()): n for rid, n in self._channel.held().items()}

    # ------------------------------------------------------------------ receiving

    def _on_router(self, first: Any, frames: list[bytes]) -> None:
        if not frames:
            self._traffic.malformed += 1
            return  # a routing id alone: nothing to read, nobody to name
        rid, meta = first
        try:
            sender = meta.get("User-Id")
        except zmq.ZMQError:
            sender = ""
        if not sender or sender not in self._roster_names:
            # ZAP admits only roster keys; this cannot happen unless ZAP is bypassed.
            self._traffic.refused += 1
            self.refusals.warn(
                "refused a message from an unauthenticated connection at %s (user id %r)", _address(meta), sender
            )
            return
        if self._current.get(sender) != rid:
            self._current[sender] = rid
        probe = meta if sender in self._probes else None
        for frame in frames:
            self._on_envelope(sender, rid, frame, probe)

    def _on_envelope(self, sender: str, rid: bytes, frame: bytes, probe: Any = None) -> None:
        self._traffic.received += 1
        workers = self._workers
        try:
            env = envelope.decode(frame)
            kind = env.kind
            if probe is not None and kind is not Kind.PING:
                self._refuse(sender, rid, env, probe)
                return
            if kind is Kind.REQUEST or kind is Kind.SEND:
                target = (rid, env.corr) if kind is Kind.REQUEST else None
                account = self._accounts.get(rid)
                if account is None:
                    account = self._accounts[rid] = _Account(sender)
                if account.inflight >= self._window:
                    self._over_window(sender, target)
                    return
                account.inflight += 1
                try:
                    message = env.payload.decode()
                except UnicodeDecodeError:
                    self.consumed(rid)
                    raise
                w = workers.get(env.target)
                if w is None:
                    self.consumed(rid)
                    workers.last_message_at = time.time()  # a worker's message (deliver notes the others)
                    if target is None:
                        self._traffic.unroutable += 1
                        log.warning("message from %s for unknown worker %r dropped", sender, env.target)
                    else:
                        self.error(target, WorkerNotFound(env.target, self._name))
                    return
                workers.deliver(w, message, target, rid)
            elif kind is Kind.START:
                self._remote_start(sender, rid, env)
            elif kind is Kind.STOP:
                if workers.stop(env.target):
                    self.reply((rid, env.corr), b"")
                else:
                    self.error((rid, env.corr), WorkerNotFound(env.target, self._name))
            elif kind is Kind.LIST:
                self.reply((rid, env.corr), json.dumps([{"name": n} for n in workers.names()]).encode())
            elif kind is Kind.PING:
                self.reply((rid, env.corr), self._info().encode())
            else:
                raise envelope.Malformed(f"unexpected {kind.name} from a client")
        except (envelope.Malformed, UnicodeDecodeError) as e:
            self._traffic.drop_malformed(sender, e)

    def _refuse(self, sender: str, rid: bytes, env: envelope.Envelope, meta: Any) -> None:
        """Least privilege: a probe identity may ping, nothing else; refusals are logged."""
        self._traffic.refused += 1
        what = env.kind.name.lower()
        self.refusals.warn("refused %s from %s at %s: role 'probe' may only ping", what, sender, _address(meta))
        if env.kind is not Kind.SEND:
            why = f"role 'probe' may only ping, not {what}"
            self.error((rid, env.corr), NotAllowed(self._name, why, env.target))

    def _over_window(self, sender: str, target: tuple[bytes, int] | None) -> None:
        """A peer sent beyond its window (it ignores credit): drop, count, say so. A request
        is answered with an error unless the peer's replies are already backed up: a peer
        that floods without reading would only have the node build answers to throw away."""
        self._traffic.over_window += 1
        n = self._traffic.over_window
        if n <= 10 or n % 10000 == 0:
            log.warning("node %s sent beyond its window of %d; dropped (%d so far)", sender, self._window, n)
        if target is not None and not self._channel.backed_up(target[0]):
            self.error(target, NodeUnreachable(self._name, f"sender {sender} is over its window"))

    def consumed(self, rid: bytes) -> None:
        """A REQUEST/SEND of connection ``rid`` left its worker's mailbox (or never needed
        one): grant credit once a quarter of the window has been consumed."""
        account = self._accounts.get(rid)
        if account is None:
            return
        account.inflight -= 1
        account.ungranted += 1
        if account.ungranted >= self._grant:
            n, account.ungranted = account.ungranted, 0
            self._channel.post(envelope.encode(Kind.CREDIT, n), rid)
        if account.inflight <= 0 and self._current.get(account.sender) != rid:
            del self._accounts[rid]  # an old connection of that peer, now drained

    def _replies_dropped(self, rid: bytes, n: int) -> None:
        self._traffic.replies_dropped += n
        now = self._loop.time()
        if now < self._drop_logged_at + 10:
            return  # one line per 10 s at most; /health counts them all
        self._drop_logged_at = now
        account = self._accounts.get(rid)
        who = account.sender if account is not None else f"connection {rid.hex()}"
        log.warning(
            "node %s does not read its replies: its outbox is full, so they are dropped (%d so far, all peers)",
            who,
            self._traffic.replies_dropped,
        )

    def _remote_start(self, sender: str, rid: bytes, env: envelope.Envelope) -> None:
        target = (rid, env.corr)
        # The sender was authenticated by ZAP against the roster (checked in _on_router).
        try:
            _check_name(env.target)
            if env.target in self._workers:
                raise WorkerExists(env.target, self._name)
            obj = loads_worker(env.payload)
            self._workers.start(env.target, obj)
        except MessagingError as e:
            self.error(target, e)
            return
        except Exception as e:
            log.error("could not start worker %r sent by %s: %s: %s", env.target, sender, type(e).__name__, e)
            self.error(target, WorkerFailed(env.target, self._name, f"cannot start: {type(e).__name__}: {e}"))
            return
        log.info("started worker %r for node %s", env.target, sender)
        self.reply(target, b"")

    # ------------------------------------------------------------------ answering

    def reply(self, target: tuple[bytes, int], payload: bytes) -> None:
        """Send a REPLY to the call ``target`` names: ``(routing id, correlation id)``."""
        rid, corr = target
        self._channel.post(envelope.encode(Kind.REPLY, corr, b"", payload), rid)

    def error(self, target: tuple[bytes, int], error: MessagingError) -> None:
        """Send an ERROR describing ``error`` to the call ``target`` names."""
        rid, corr = target
        kind = _ERROR_TYPES.get(type(error), "error")
        text = getattr(error, "cause", None) or getattr(error, "why", None) or str(error)
        self._channel.post(
            envelope.encode(Kind.ERROR, corr, b"", envelope.error_payload(kind, error.worker, self._name, text)), rid
        )
