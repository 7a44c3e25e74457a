"""A ZeroMQ socket driven by an asyncio loop without a task per socket.

``zmq.Socket.FD`` is edge-triggered: it signals that *something* changed, once, and
libzmq resets it whenever it processes its command queue (which ``send``, ``recv`` and
reading ``EVENTS`` all do). So a reader callback that takes one message and returns can
leave messages waiting with no further wake-up. :class:`Channel` therefore

* drains every ready message per wake-up (``while EVENTS & POLLIN``),
* after every send, checks ``EVENTS`` once more and schedules a drain if input arrived
  while the send consumed the edge,
* never drops a message when the send queue is full: with a high-water mark reached the
  frames wait in an outbox, flushed in order when ``EVENTS`` says ``POLLOUT`` again.

A ROUTER with ``ROUTER_MANDATORY`` raises ``EHOSTUNREACH`` for a peer that is gone; the
channel passes that error to the caller, which turns it into an answer or a log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, Callable

import zmq

__all__ = ["Channel"]

log = logging.getLogger("autonomy.transport")
_POLLIN = zmq.POLLIN
_POLLOUT = zmq.POLLOUT
_NOBLOCK = zmq.NOBLOCK


class Channel:
    __slots__ = ("sock", "_loop", "_on_message", "_copy", "_outbox", "_scheduled", "_fd", "closed", "label")

    def __init__(
        self,
        sock: zmq.Socket,
        loop: asyncio.AbstractEventLoop,
        on_message: Callable[[list[Any]], None],
        *,
        copy: bool = True,
        label: str = "",
    ) -> None:
        self.sock = sock
        self._loop = loop
        self._on_message = on_message
        self._copy = copy
        self._outbox: deque[list[bytes]] | None = None
        self._scheduled = False
        self.closed = False
        self.label = label
        self._fd = sock.FD
        loop.add_reader(self._fd, self.drain)
        self._scheduled = True
        loop.call_soon(self.drain)

    def drain(self) -> None:
        self._scheduled = False
        if self.closed:
            return
        sock = self.sock
        recv = sock.recv_multipart
        on_message = self._on_message
        copy = self._copy
        while True:
            events = sock.EVENTS
            if self._outbox is not None and events & _POLLOUT:
                self._flush()
                events = sock.EVENTS
            if not events & _POLLIN:
                return
            frames = recv(_NOBLOCK, copy=copy)
            try:
                on_message(frames)
            except Exception:  # a bug in a handler must not stop the socket
                log.exception("error while handling a message on %s", self.label)

    def send(self, frames: list[bytes]) -> None:
        """Send now, or queue behind earlier frames if the peer's queue is full.

        Raises ``zmq.ZMQError`` for errors other than a full queue (EHOSTUNREACH).
        """
        if self._outbox is not None:
            self._outbox.append(frames)
            return
        sock = self.sock
        try:
            sock.send_multipart(frames, _NOBLOCK)
        except zmq.Again:
            self._outbox = deque((frames,))
            log.debug("%s: send queue full, holding messages", self.label)
        if not self._scheduled and sock.EVENTS & _POLLIN:
            self._scheduled = True
            self._loop.call_soon(self.drain)

    def _flush(self) -> None:
        outbox = self._outbox
        assert outbox is not None
        sock = self.sock
        while outbox:
            try:
                sock.send_multipart(outbox[0], _NOBLOCK)
            except zmq.Again:
                return
            except zmq.ZMQError as e:
                log.warning("%s: dropped a queued message: %s", self.label, e.strerror)
            outbox.popleft()
        self._outbox = None

    @property
    def queued(self) -> int:
        return 0 if self._outbox is None else len(self._outbox)

    def close(self, linger_ms: int = 0) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._loop.remove_reader(self._fd)
        except (ValueError, OSError):
            pass
        self.sock.close(linger_ms)
