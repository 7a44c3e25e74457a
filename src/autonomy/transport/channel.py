"""A ZeroMQ socket driven by an asyncio loop without a task per socket.

``zmq.Socket.FD`` is edge-triggered: it signals that *something* changed, once, and
libzmq resets it whenever it processes its command queue (which ``send``, ``recv`` and
reading ``EVENTS`` all do). So a reader callback that takes one message and returns can
leave messages waiting with no further wake-up. :class:`Channel` therefore

* drains every ready message per wake-up (``while EVENTS & POLLIN``),
* after sending, checks ``EVENTS`` once more and schedules a drain if input arrived
  while the send consumed the edge,
* reads at most a budget of messages per wake-up, then lets the loop run the rest (the
  workers, the other sockets) before it reads on: a peer that sends without pause
  cannot starve the node,
* never drops a message silently when a send queue is full. On a DEALER (one peer) the
  frames wait in an outbox, flushed in order when ``EVENTS`` says ``POLLOUT`` again (the
  node's credit keeps that outbox small). On a ROUTER each peer has its own bounded
  outbox, retried on a short timer: a peer that does not read its replies holds up only
  its own replies, and once its outbox is full what else is addressed to it is dropped
  and reported through ``on_drop`` (the node logs and counts it).

Envelopes posted during one turn of the event loop are *batched*: the first leaves at
once, the ones after it leave as one ZeroMQ message (a frame per envelope) at the end
of the turn, per destination. A lone request pays no added latency; a thousand pipelined
ones share the per-message costs of ZeroMQ and CURVE.

A ROUTER with ``ROUTER_MANDATORY`` raises ``EHOSTUNREACH`` for a peer that is gone; the
channel logs it and counts the lost envelopes in :attr:`Traffic.unroutable`.

Every channel of a node shares one :class:`Traffic`: the counters ``/health`` shows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import zmq

__all__ = ["Channel", "Traffic", "MAX_BATCH"]

log = logging.getLogger("autonomy.transport")
_POLLIN = zmq.POLLIN
_POLLOUT = zmq.POLLOUT
_NOBLOCK = zmq.NOBLOCK
MAX_BATCH = 512  # envelopes (frames) in one ZeroMQ message, at most
_MAX_BATCH_BYTES = 1 << 20
_DRAIN_BUDGET = 256  # ZeroMQ messages read per wake-up before the loop runs other callbacks


class Traffic:
    """Envelopes counted by a node's channels and dispatchers.

    ``received`` and ``sent`` count envelopes (frames), not ZeroMQ messages; ``malformed``
    the received ones that were not valid envelopes; ``unroutable`` the ones that reached
    no one (a peer that had gone, a worker that does not exist); ``refused`` the ones a
    sender's role does not allow; ``over_window`` the ones a peer sent beyond its credit;
    ``replies_dropped`` replies to peers that do not read them; ``outbox_dropped``
    messages held for a peer that went down; ``dropped_at_stop`` messages still queued
    when their worker or node stopped; ``mailbox_dropped`` messages for a full mailbox.
    """

    __slots__ = (
        "received",
        "sent",
        "malformed",
        "unroutable",
        "refused",
        "over_window",
        "replies_dropped",
        "outbox_dropped",
        "dropped_at_stop",
        "mailbox_dropped",
    )

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0
        self.malformed = 0
        self.unroutable = 0
        self.refused = 0
        self.over_window = 0
        self.replies_dropped = 0
        self.outbox_dropped = 0
        self.dropped_at_stop = 0
        self.mailbox_dropped = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

    def drop_malformed(self, sender: str, error: Exception) -> None:
        """Count a malformed envelope from ``sender``; log the first ten, then every 1000th."""
        self.malformed += 1
        n = self.malformed
        if n <= 10 or n % 1000 == 0:
            log.warning("dropped malformed message from %s: %s (%d so far)", sender, error, n)


class Channel:
    __slots__ = (
        "sock",
        "_loop",
        "_on_message",
        "_router",
        "_outbox",
        "_scheduled",
        "_fd",
        "closed",
        "label",
        "_batch",
        "_batches",
        "_batch_bytes",
        "_flush_scheduled",
        "traffic",
        "_held",
        "_held_count",
        "_held_limit",
        "_retry",
        "_on_drop",
    )

    def __init__(
        self,
        sock: zmq.Socket[bytes],
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[Any, list[bytes]], None],
        *,
        router: bool = False,
        label: str = "",
        traffic: Traffic | None = None,
        held_limit: int = 10_000,
        on_drop: Callable[[bytes, int], None] | None = None,
    ) -> None:
        """``on_message(first, frames)``: on a ROUTER ``first`` is ``(routing id, first
        envelope Frame)`` (or the bare routing id if the message had no other frame), on a
        DEALER ``None``; ``frames`` are the envelope frames as bytes. ``traffic`` counts
        what is sent and lost (a channel of its own when None). On a ROUTER, at most
        ``held_limit`` envelopes wait for one peer that does not read; ``on_drop(routing
        id, n)`` hears of the ones dropped beyond that."""
        self.sock = sock
        self._loop = loop
        self._on_message = on_message
        self._router = router
        self._outbox: deque[list[bytes]] | None = None
        self.closed = False
        self.label = label
        self.traffic = traffic if traffic is not None else Traffic()
        self._batch: list[bytes] = []  # DEALER
        self._batches: dict[bytes, list[bytes]] = {}  # ROUTER: routing id -> frames
        self._batch_bytes = 0
        self._flush_scheduled = False
        self._held: dict[bytes, deque[list[bytes]]] = {}  # ROUTER: per peer, what ZeroMQ refused
        self._held_count: dict[bytes, int] = {}
        self._held_limit = held_limit
        self._retry: asyncio.TimerHandle | None = None
        self._on_drop = on_drop
        self._fd = sock.FD
        loop.add_reader(self._fd, self.drain)
        self._scheduled = True
        loop.call_soon(self.drain)

    # ------------------------------------------------------------------ receiving

    def drain(self) -> None:
        self._scheduled = False
        if self.closed:
            return
        sock = self.sock
        recv = sock.recv
        on_message = self._on_message
        router = self._router
        budget = _DRAIN_BUDGET
        while True:
            if budget <= 0:
                self._scheduled = True
                self._loop.call_soon(self.drain)
                return
            budget -= 1
            events: int = sock.EVENTS  # type: ignore[assignment]
            if self._outbox is not None and events & _POLLOUT and self._flush_outbox():
                continue  # progress: look again (reading EVENTS may have eaten the edge)
            if not events & _POLLIN:
                return
            if router:
                # The routing id, then the first envelope as a Frame: ZAP's User-Id is
                # read from a frame of the peer's message (libzmq 4.3.4 does not put
                # metadata on the routing-id frame the ROUTER makes up).
                first: Any = recv(_NOBLOCK)
                frames: list[bytes] = []
                if sock.rcvmore:
                    meta = recv(_NOBLOCK, copy=False)
                    first = (first, meta)
                    frames.append(meta.bytes)
                    while sock.rcvmore:
                        frames.append(recv(_NOBLOCK))
            else:
                first = None
                frames = [recv(_NOBLOCK)]
                while sock.rcvmore:
                    frames.append(recv(_NOBLOCK))
            try:
                on_message(first, frames)
            except Exception:  # a bug in a handler must not stop the socket
                log.exception("error while handling a message on %s", self.label)

    # ------------------------------------------------------------------ sending

    def post(self, frame: bytes, rid: bytes | None = None) -> None:
        """Send one envelope (one frame) now or, if others left this turn, at its end."""
        if self.closed:
            return  # the node is stopping: nothing leaves a closed socket
        self.traffic.sent += 1
        batch: list[bytes]
        if rid is None:
            batch = self._batch
        else:
            found = self._batches.get(rid)
            if found is None:
                found = self._batches[rid] = []
            batch = found
        if not self._flush_scheduled:
            # First envelope of this loop turn: it leaves now (no added latency); the
            # ones posted after it in the same turn are batched until the turn ends.
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)
            if not batch:
                self._send([frame] if rid is None else [rid, frame])
                self._recheck()
                return
        batch.append(frame)
        self._batch_bytes += len(frame)
        if len(batch) >= MAX_BATCH or self._batch_bytes >= _MAX_BATCH_BYTES:
            self.flush()
            self._flush_scheduled = True  # the turn's callback is still due

    def flush(self) -> None:
        self._flush_scheduled = False
        self._batch_bytes = 0
        if self.closed:
            return
        if self._batch:
            batch, self._batch = self._batch, []
            self._send(batch)
        if self._batches:
            batches, self._batches = self._batches, {}
            for rid, frames in batches.items():
                frames.insert(0, rid)
                self._send(frames)
        self._recheck()

    def _recheck(self) -> None:
        """After a send: reading EVENTS may have consumed the FD's edge, so act on what
        it says (input to read, or room for the outbox) or nothing would wake us."""
        if self._scheduled:
            return
        events: int = self.sock.EVENTS  # type: ignore[assignment]
        if events & _POLLIN or (self._outbox is not None and events & _POLLOUT):
            self._scheduled = True
            self._loop.call_soon(self.drain)

    def _send(self, frames: list[bytes]) -> None:
        if self._router:
            self._send_to(frames)
            return
        if self._outbox is not None:
            self._outbox.append(frames)
            return
        try:
            self.sock.send_multipart(frames, _NOBLOCK)
        except zmq.Again:
            self._outbox = deque((frames,))
            log.debug("%s: send queue full, holding messages", self.label)
        except zmq.ZMQError as e:
            self._lost(frames, e)

    def _lost(self, frames: list[bytes], e: zmq.ZMQError) -> None:
        n = len(frames) - (1 if self._router else 0)
        self.traffic.unroutable += n
        log.warning("%s: %d message(s) not delivered: %s (the peer has gone)", self.label, n, e.strerror)

    def _flush_outbox(self) -> bool:
        """Send what the outbox holds, in order, until ZeroMQ says full; True if any left."""
        outbox = self._outbox
        assert outbox is not None
        sock = self.sock
        sent = False
        while outbox:
            try:
                sock.send_multipart(outbox[0], _NOBLOCK)
            except zmq.Again:
                return sent
            except zmq.ZMQError as e:
                self._lost(outbox[0], e)
            outbox.popleft()
            sent = True
        self._outbox = None
        return sent

    # ------------------------------------------------------------------ ROUTER: one outbox per peer

    def _send_to(self, frames: list[bytes]) -> None:
        rid = frames[0]
        held = self._held.get(rid)
        if held is None:
            try:
                self.sock.send_multipart(frames, _NOBLOCK)
                return
            except zmq.Again:
                held = self._held[rid] = deque()
                self._held_count[rid] = 0
                if self._retry is None:
                    self._retry = self._loop.call_later(0.01, self._retry_held)
            except zmq.ZMQError as e:
                self._lost(frames, e)
                return
        n = len(frames) - 1
        count = self._held_count[rid]
        if count + n > self._held_limit:
            if self._on_drop is not None:
                self._on_drop(rid, n)
            return
        held.append(frames)
        self._held_count[rid] = count + n

    def _retry_held(self) -> None:
        """Hand ZeroMQ what each peer's outbox holds, in order, as far as it takes it."""
        self._retry = None
        if self.closed:
            return
        sock = self.sock
        for rid in list(self._held):
            held = self._held[rid]
            while held:
                try:
                    sock.send_multipart(held[0], _NOBLOCK)
                except zmq.Again:
                    break
                except zmq.ZMQError as e:
                    self._lost(held[0], e)
                self._held_count[rid] -= len(held.popleft()) - 1
            if not held:
                del self._held[rid], self._held_count[rid]
        if self._held:
            self._retry = self._loop.call_later(0.02, self._retry_held)
        self._recheck()

    def backed_up(self, rid: bytes) -> bool:
        """True while replies to peer ``rid`` wait in its outbox (ZeroMQ would not take them:
        the peer is not reading)."""
        return rid in self._held

    def held(self) -> dict[bytes, int]:
        """Envelopes waiting in each peer's outbox (ROUTER; peers with none left out)."""
        return dict(self._held_count)

    @property
    def queued(self) -> int:
        """Envelopes waiting in the DEALER's outbox for ZeroMQ to take them."""
        return 0 if self._outbox is None else sum(len(f) for f in self._outbox)

    def close(self, linger_ms: int = 0) -> None:
        if self.closed:
            return
        self.flush()
        if self._held:
            self._retry_held()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        self.closed = True
        try:
            self._loop.remove_reader(self._fd)
        except (ValueError, OSError):
            pass
        self.sock.close(linger_ms)
