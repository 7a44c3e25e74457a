"""Workers: the objects a node hosts, and the :class:`Context` each message comes with.

A worker is any object with ``async def handle_message(self, context, message)``. It
handles one message at a time; while it has nothing to do it owns no task and costs no
CPU (a worker is a name, an object and, only while busy, a mailbox and a task).
:class:`Workers` is one node's table of them.

A busy worker's mailbox is FIFO per origin (the connection a message came in on, or
this node), origins served in turn: a sender that floods a worker gets one message
handled per round like every other sender, and each sender's messages keep their order.
When a message from another node leaves the mailbox for its handler, ``on_consumed``
hears of it: that is when the node grants that peer more credit. In-node senders wait
while a mailbox holds ``AUTONOMY_MAILBOX`` messages.

A worker may define ``on_stop()``: it is called when the worker is stopped (an agent
ends the turns it runs beside its handler).

A message's *target* says where its answers go: a Future (``send_and_receive`` on this
node), a :class:`~.mailbox.Mailbox` (sent from a mailbox of this node), a ``(routing id,
correlation id)`` pair (the sender is another node: the answers leave through this node's
ROUTER, a :class:`Replier`), or None (``send_message``: no answer). A handler may reply
several times; each reply is delivered, in order. A Future takes the first; later ones
are dropped with a debug line, as the SDK's ``send_and_receive`` stops listening after
its answer. A mailbox keeps them all.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from ..errors import MessagingError, WorkerExists, WorkerFailed

__all__ = ["Context", "Replier", "Sink", "Workers", "DEFAULT_TIMEOUT"]

log = logging.getLogger("autonomy.node")
#: seconds a call or a receive waits when its ``timeout`` is None (the SDK's default)
DEFAULT_TIMEOUT = 30.0
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _check_message(message: object, what: str = "message") -> str:
    if not isinstance(message, str):
        raise TypeError(f"{what} must be a str, not {type(message).__name__} (use json.dumps for structured data)")
    return message


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"worker name must match [A-Za-z0-9_-]+ (1..255 characters), got {name!r}")
    return name


def _check_timeout(timeout: object) -> float | None:
    """None (no timeout) or a finite number of seconds >= 0; anything else is refused at
    the call (a NaN deadline would never come, and would stop the sweeper's clock)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout < 0:
        raise ValueError(f"timeout must be a finite number of seconds >= 0 (or None), got {timeout!r}")
    return float(timeout)


def _check_worker(obj: object) -> None:
    handler = getattr(obj, "handle_message", None)
    if handler is None or not asyncio.iscoroutinefunction(handler):
        raise TypeError(
            f"{type(obj).__name__} is not a worker: it needs `async def handle_message(self, context, message)`"
        )


class Sink(Protocol):
    """A target that keeps every answer: a mailbox."""

    def _put(self, message: str) -> None: ...

    def _put_error(self, error: MessagingError) -> None: ...


class Replier(Protocol):
    """Where answers to other nodes leave: the node's ROUTER side."""

    def reply(self, target: tuple[bytes, int], payload: bytes) -> None: ...

    def error(self, target: tuple[bytes, int], error: MessagingError) -> None: ...


_Item = tuple[str, Any, bytes | None]  # message, target, origin (a peer's routing id; None: this node)


class _Mailbox:
    """What waits for a busy worker: FIFO per origin, origins served in turn."""

    __slots__ = ("_lanes", "_order", "size", "room")

    def __init__(self) -> None:
        self._lanes: dict[bytes | None, deque[_Item]] = {}
        self._order: deque[bytes | None] = deque()
        self.size = 0
        #: in-node senders waiting for room (only ever while the mailbox is full)
        self.room: deque[asyncio.Future[None]] | None = None

    def make_room(self, everyone: bool = False) -> None:
        """Let the first waiting sender (or all of them) go on."""
        while self.room:
            waiter = self.room.popleft()
            if not waiter.done():
                waiter.set_result(None)
                if not everyone:
                    return

    def __len__(self) -> int:
        return self.size

    def put(self, item: _Item) -> None:
        origin = item[2]
        lane = self._lanes.get(origin)
        if lane is None:
            lane = self._lanes[origin] = deque()
            self._order.append(origin)
        lane.append(item)
        self.size += 1

    def take(self) -> _Item:
        origin = self._order[0]
        lane = self._lanes[origin]
        item = lane.popleft()
        self.size -= 1
        if lane:
            self._order.rotate(-1)  # this origin's next message waits for the others' turn
        else:
            del self._lanes[origin]
            self._order.popleft()
        return item

    def clear(self) -> list[_Item]:
        items = [item for lane in self._lanes.values() for item in lane]
        self._lanes.clear()
        self._order.clear()
        self.size = 0
        return items


class _Worker:
    __slots__ = ("name", "obj", "mailbox", "task")

    def __init__(self, name: str, obj: Any) -> None:
        self.name = name
        self.obj = obj
        self.mailbox: _Mailbox | None = None  # only while busy
        self.task: asyncio.Task[None] | None = None  # set only while busy


class Context:
    """What a handler gets with each message: the way to answer its sender."""

    __slots__ = ("_replier", "_worker", "_target")

    def __init__(self, replier: Replier | None, worker: str, target: Any) -> None:
        self._replier = replier
        self._worker = worker
        self._target = target  # a Future (same node), (routing id, corr) (other node), or None

    @property
    def worker_name(self) -> str:
        return self._worker

    async def reply(self, message: str) -> None:
        """Answer the sender; may be called several times, each reply delivered in order.
        A message sent with ``send_message`` has no one to answer."""
        _check_message(message, "reply")
        target = self._target
        if target is None:
            return
        if type(target) is tuple:
            if self._replier is not None:
                self._replier.reply(target, message.encode())
        elif isinstance(target, asyncio.Future):
            if not target.done():
                target.set_result(message)
            else:
                log.debug("worker %r replied again to a send_and_receive already answered: dropped", self._worker)
        else:
            target._put(message)

    def _fail(self, error: MessagingError) -> None:
        target = self._target
        if target is None:
            return
        if type(target) is tuple:
            if self._replier is not None:
                self._replier.error(target, error)
        elif isinstance(target, asyncio.Future):
            if not target.done():
                target.set_exception(error)
        else:
            target._put_error(error)


class Workers:
    """The workers of one node, by name."""

    __slots__ = (
        "_loop",
        "_node",
        "_by_name",
        "_hidden",
        "_limit",
        "replier",
        "on_consumed",
        "last_message_at",
        "owner",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, node: str, mailbox: int = 10_000) -> None:
        self._loop = loop
        self._node = node
        self._by_name: dict[str, _Worker] = {}
        self._hidden: set[str] = set()  # mailboxes: addressable, not listed
        self._limit = mailbox
        #: answers to other nodes leave here (set once the node's ROUTER is open)
        self.replier: Replier | None = None
        #: told the origin of each message from another node as its handler takes it
        self.on_consumed: Callable[[bytes], None] | None = None
        #: when a worker's message last arrived (``time.time()``; pings do not count)
        self.last_message_at: float | None = None
        #: the node these workers run on: each started worker finds it as ``worker.node``
        self.owner: Any = None

    def __len__(self) -> int:
        return len(self._by_name) - len(self._hidden)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        """The listed workers' names (mailboxes are not listed)."""
        hidden = self._hidden
        return [n for n in self._by_name if n not in hidden] if hidden else list(self._by_name)

    def get(self, name: str) -> _Worker | None:
        return self._by_name.get(name)

    def start(self, name: str, obj: Any, *, hidden: bool = False) -> None:
        """Add a worker (``hidden``: a mailbox, addressable but not listed); raises
        ValueError, TypeError or WorkerExists."""
        _check_name(name)
        _check_worker(obj)
        if name in self._by_name:
            raise WorkerExists(name, self._node)
        self._by_name[name] = _Worker(name, obj)
        if hidden:
            self._hidden.add(name)
        elif self.owner is not None:
            try:
                obj.node = self.owner  # as the SDK: a worker finds its hosting node as self.node
            except (AttributeError, TypeError):
                pass  # __slots__ without "node", or a read-only property: the worker opted out

    def stop(self, name: str) -> bool:
        """Remove a worker (False if there is none): messages queued for it get an error."""
        w = self._by_name.pop(name, None)
        if w is None:
            return False
        self._hidden.discard(name)
        dropped = self._retire(w)
        if dropped:
            log.warning("worker %r stopped with %d queued message(s): dropped", name, dropped)
        return True

    def stop_all(self) -> int:
        """Stop every worker (the node is stopping); returns how many queued messages were
        dropped. Callers waiting on a worker hear that it stopped."""
        dropped = 0
        for w in list(self._by_name.values()):
            dropped += self._retire(w)
        return dropped

    def objects(self) -> list[Any]:
        """The listed workers' objects (what ``list_agents`` looks through)."""
        return [w.obj for n, w in self._by_name.items() if n not in self._hidden]

    def _retire(self, w: _Worker) -> int:
        on_stop = getattr(w.obj, "on_stop", None)
        if callable(on_stop):  # a worker with work of its own in flight (an agent) ends it
            try:
                on_stop()
            except Exception as e:
                log.warning("worker %r: on_stop raised %s: %s", w.name, type(e).__name__, e)
        dropped = 0
        box = w.mailbox
        if box:
            items = box.clear()
            dropped = len(items)
            for _, target, origin in items:
                Context(self.replier, w.name, target)._fail(self._stopped(w))
                if origin is not None and self.on_consumed is not None:
                    self.on_consumed(origin)
        w.mailbox = None
        if box is not None and box.room:
            for room in box.room:
                if not room.done():
                    room.set_exception(self._stopped(w))
            box.room = None
        if w.task is not None and w.task is not asyncio.current_task():
            w.task.cancel()
        return dropped

    def depths(self) -> dict[str, int]:
        """Messages waiting in each busy worker's mailbox (empty ones left out)."""
        return {w.name: w.mailbox.size for w in self._by_name.values() if w.mailbox}

    async def room(self, w: _Worker) -> None:
        """Wait while ``w``'s mailbox is full (an in-node sender); raises if it stops."""
        while (box := w.mailbox) is not None and box.size >= self._limit:
            fut: asyncio.Future[None] = self._loop.create_future()
            if box.room is None:
                box.room = deque()
            box.room.append(fut)
            await fut
        if self._by_name.get(w.name) is not w:
            raise self._stopped(w)

    def full(self, w: _Worker) -> bool:
        return w.mailbox is not None and w.mailbox.size >= self._limit

    def _stopped(self, w: _Worker) -> MessagingError:
        return MessagingError(f"worker {w.name!r} on node {self._node!r} was stopped", worker=w.name, node=self._node)

    def deliver(self, w: _Worker, message: str, target: Any, origin: bytes | None = None) -> None:
        """Hand ``message`` to ``w``: at once if it is idle, else into its mailbox."""
        self.last_message_at = time.time()
        if w.task is None:
            w.task = self._loop.create_task(self._run(w, message, target))
            if origin is not None and self.on_consumed is not None:
                self.on_consumed(origin)
        else:
            box = w.mailbox
            if box is None:
                box = w.mailbox = _Mailbox()
            box.put((message, target, origin))

    async def _run(self, w: _Worker, message: str, target: Any) -> None:
        handle = w.obj.handle_message
        handled = 0
        while True:
            ctx = Context(self.replier, w.name, target)
            try:
                await handle(ctx, message)
            except asyncio.CancelledError:
                ctx._fail(self._stopped(w))
                raise
            except Exception as e:
                cause = f"{type(e).__name__}: {e}"
                log.error("worker %r failed on a message: %s\n%s", w.name, cause, traceback.format_exc().rstrip())
                ctx._fail(WorkerFailed(w.name, self._node, cause))
            box = w.mailbox
            if not box:
                if box is not None:
                    box.make_room(everyone=True)  # an empty mailbox has room for all
                w.mailbox = None
                w.task = None
                return
            message, target, origin = box.take()
            if origin is not None and self.on_consumed is not None:
                self.on_consumed(origin)
            if box.room and box.size < self._limit:
                box.make_room()
            handled += 1
            if handled % 64 == 0:
                # a handler that never awaits would run its whole mailbox in one go:
                # let the other workers and the sockets have the loop now and then
                await asyncio.sleep(0)

    def cancel(self) -> None:
        """Cancel every busy worker's task (the node is stopping)."""
        for w in list(self._by_name.values()):
            if w.task is not None:
                w.task.cancel()
