"""The server side of a node's messaging: the ROUTER that other nodes call.

Each node binds one ROUTER, a CURVE server whose ZAP handler admits exactly the keys of
the zone's roster. Every envelope that arrives is dispatched here: a message for a
worker (REQUEST, SEND), or a control call (START, STOP, LIST, PING). Answers leave
through the same ROUTER, addressed by the caller's routing id and the call's
correlation id: :class:`Router` is the :class:`~autonomy.nodes.workers.Replier` of the
node's workers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import zmq

from ..errors import ConfigurationError, MessagingError, WorkerExists, WorkerFailed, WorkerNotFound
from ..settings import Settings
from ..transport import envelope
from ..transport.channel import Channel, Traffic
from ..transport.envelope import Kind
from ..transport.roster import NodeEntry, Roster
from ..transport.security import HandshakeMonitor, RosterPolicy, ZapHandler
from ._shipping import loads_worker
from .workers import Workers, _check_name

__all__ = ["Router"]

log = logging.getLogger("autonomy.node")
_ERROR_TYPES: dict[type[MessagingError], str] = {
    WorkerNotFound: "not_found",
    WorkerFailed: "failed",
    WorkerExists: "exists",
}


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
        self._roster_names = frozenset(n.name for n in roster.nodes)
        self.policy = RosterPolicy(roster, zone=roster.zone)
        self._zap = ZapHandler(ctx, self.policy, loop)  # bound before any CURVE server
        sock = ctx.socket(zmq.ROUTER)
        sock.curve_server = True
        sock.curve_publickey = keys[0].encode()
        sock.curve_secretkey = keys[1].encode()
        sock.zap_domain = (roster.zone or "zone").encode()
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        sock.sndhwm = settings.hwm
        sock.rcvhwm = settings.hwm
        sock.linger = 500
        self.endpoint = f"tcp://{settings.bind_host}:{entry.port}"
        try:
            sock.bind(self.endpoint)
        except zmq.ZMQError as e:
            sock.close(0)
            self._zap.close()
            raise ConfigurationError(self.endpoint, f"cannot listen: {e.strerror}") from None
        self._monitor = HandshakeMonitor(sock, loop, f"router {self.endpoint}")
        self._channel = Channel(sock, loop, self._on_router, router=True, label="router", traffic=traffic)

    def close(self) -> None:
        self._monitor.close()
        self._channel.close(500)
        self._zap.close()

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
            log.error("refused a message from an unauthenticated connection (user id %r)", sender)
            return
        for frame in frames:
            self._on_envelope(sender, rid, frame)

    def _on_envelope(self, sender: str, rid: bytes, frame: bytes) -> None:
        self._traffic.received += 1
        workers = self._workers
        try:
            env = envelope.decode(frame)
            kind = env.kind
            if kind is Kind.REQUEST or kind is Kind.SEND:
                message = env.payload.decode()
                w = workers.get(env.target)
                target = (rid, env.corr) if kind is Kind.REQUEST else None
                if w is None:
                    workers.last_message_at = time.time()  # a worker's message (deliver notes the others)
                    if target is None:
                        self._traffic.unroutable += 1
                        log.warning("message from %s for unknown worker %r dropped", sender, env.target)
                    else:
                        self.error(target, WorkerNotFound(env.target, self._name))
                    return
                workers.deliver(w, message, target)
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
        text = getattr(error, "cause", None) or str(error)
        self._channel.post(
            envelope.encode(Kind.ERROR, corr, b"", envelope.error_payload(kind, error.worker, self._name, text)), rid
        )
