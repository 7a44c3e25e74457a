"""Mailboxes: addresses on a node that keep every message that reaches them.

``node.create_mailbox(address)`` makes one; ``node.send(address, message)`` makes one
with a random address, sends from it and returns it. A worker's replies to a message
sent from a mailbox all land in it, in order, however many there are (streaming relies
on that); so does anything another worker or node sends to its address.
``Mailbox.receive`` takes the next one.

A mailbox is a hidden worker of its node (addressable, never listed) whose handler
puts what arrives into the mailbox's queue, so messages *to* it take the workers' path,
credit included. Replies *to* it do not: a reply is never a request. On this node
``context.reply`` puts into it directly; from another node every REPLY carrying the
mailbox's correlation id does (the client keeps that id open while the mailbox lives).

A mailbox holds at most ``AUTONOMY_MAILBOX`` unreceived messages; beyond that they are
dropped, logged and counted (``stats.mailbox_dropped``). It goes away with ``close()`` or
when its last reference does; what arrives after that is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any

from ..errors import MessageTimeout, MessagingError, WorkerNotFound
from ..transport import envelope
from ..transport.envelope import Kind
from .workers import DEFAULT_TIMEOUT, _check_message, _check_name, _check_timeout

if TYPE_CHECKING:
    from .node import Node

__all__ = ["Mailbox"]

log = logging.getLogger("autonomy.node")


class _Inlet:
    """The hidden worker behind a mailbox's address, and where the client puts replies
    to it: both hold the mailbox weakly, so a mailbox the user forgot goes away."""

    __slots__ = ("_box",)

    def __init__(self, box: Mailbox) -> None:
        self._box = weakref.ref(box)

    async def handle_message(self, context: Any, message: str) -> None:
        self._put(message)

    def _put(self, message: str) -> None:
        box = self._box()
        if box is not None:
            box._put(message)

    def _put_error(self, error: MessagingError) -> None:
        box = self._box()
        if box is not None:
            box._put(error)


class Mailbox:
    """An address on a node that keeps what reaches it until :meth:`receive` takes it.

    ``policy`` arguments are accepted for the SDK's sake and mean nothing here: every
    node of the zone is already authenticated by its roster key.
    """

    __slots__ = ("_node", "name", "_items", "_waiters", "_stream", "_closed", "_forget", "__weakref__")

    def __init__(self, node: Node, address: str) -> None:
        _check_name(address)
        self._node = node
        self.name = address
        self._items: deque[str | MessagingError] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        inlet = _Inlet(self)
        node._workers.start(address, inlet, hidden=True)
        self._stream = node._client.open_stream(inlet)
        self._forget = weakref.finalize(self, _forget, node, address, self._stream, inlet)

    def __repr__(self) -> str:
        return f"Mailbox({self.name!r})"

    async def send(self, address: str, message: str, node: Any = None, policy: str | None = None) -> None:
        """Send ``message`` to worker ``address`` (on ``node``, a name or a node object;
        by default this node, then the workers this node started elsewhere). Its
        replies come to this mailbox. Waits only while the receiving side is full, up to
        30 s."""
        _check_message(message)
        me = self._node
        peer: str | None = None
        if node is not None:
            target = node if hasattr(node, "name") and not isinstance(node, str) else me._handle(str(node))
            if target is not me:
                peer = target.name
        if peer is None:
            w = me._workers.get(address)
            if w is not None:
                if me._workers.full(w):
                    await me._room(w, address, DEFAULT_TIMEOUT)
                me._workers.deliver(w, message, self)
                return
            peer = me._remote_names.get(address)
            if peer is None:
                raise WorkerNotFound(address, me.name)
        frame = envelope.encode(Kind.REQUEST, self._stream, address.encode(), message.encode())
        await me._client.send(peer, frame, self._stream, DEFAULT_TIMEOUT, address)

    async def receive(self, policy: str | None = None, timeout: float | None = None) -> str:
        """The next message or reply, waiting up to ``timeout`` seconds (None: 30 s, as
        the SDK); past it a MessageTimeout says "timeout". An error answering a message
        this mailbox sent (no such worker, a handler that raised) is raised here."""
        seconds = DEFAULT_TIMEOUT if timeout is None else _check_timeout(timeout)
        assert seconds is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self._items:
            left = deadline - loop.time()
            if left <= 0:
                raise MessageTimeout(self.name, self._node.name, seconds)
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, left)
            except TimeoutError:
                raise MessageTimeout(self.name, self._node.name, seconds) from None
        item = self._items.popleft()
        if isinstance(item, MessagingError):
            raise item
        return item

    def close(self) -> None:
        """Give the address up; what arrives for it afterwards is dropped."""
        self._closed = True
        self._forget()

    def _put(self, message: str | MessagingError) -> None:
        if self._closed:
            return
        if len(self._items) >= self._node.settings.mailbox:
            self._node.stats.mailbox_dropped += 1
            log.warning("mailbox %r is full (%d unreceived): dropped a message", self.name, len(self._items))
            return
        self._items.append(message)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _put_error(self, error: MessagingError) -> None:
        self._put(error)


def _forget(node: Node, address: str, stream: int, inlet: _Inlet) -> None:
    w = node._workers.get(address)
    if w is not None and w.obj is inlet:
        node._workers.stop(address)
    node._client.close_stream(stream)
