"""Workers: the objects a node hosts, and the :class:`Context` each message comes with.

A worker is any object with ``async def handle_message(self, context, message)``. It
handles one message at a time, in the order they arrived; while it has nothing to do it
owns no task and costs no CPU (a worker is a name, an object and, only while busy, a
queue and a task). :class:`Workers` is one node's table of them.

A message's *target* says where its answer goes: a Future (the sender is on this node),
a ``(routing id, correlation id)`` pair (the sender is another node: the answer leaves
through this node's ROUTER, a :class:`Replier`), or None (``send_message``: no answer).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import traceback
from collections import deque
from typing import Any, Protocol

from ..errors import MessagingError, WorkerExists, WorkerFailed

__all__ = ["Context", "Replier", "Workers"]

log = logging.getLogger("autonomy.node")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")


def _check_message(message: object, what: str = "message") -> str:
    if not isinstance(message, str):
        raise TypeError(f"{what} must be a str, not {type(message).__name__} (use json.dumps for structured data)")
    return message


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"worker name must match [A-Za-z0-9_-]+ (1..255 characters), got {name!r}")
    return name


def _check_worker(obj: object) -> None:
    handler = getattr(obj, "handle_message", None)
    if handler is None or not asyncio.iscoroutinefunction(handler):
        raise TypeError(
            f"{type(obj).__name__} is not a worker: it needs `async def handle_message(self, context, message)`"
        )


class Replier(Protocol):
    """Where answers to other nodes leave: the node's ROUTER side."""

    def reply(self, target: tuple[bytes, int], payload: bytes) -> None: ...

    def error(self, target: tuple[bytes, int], error: MessagingError) -> None: ...


class _Worker:
    __slots__ = ("name", "obj", "queue", "task")

    def __init__(self, name: str, obj: Any) -> None:
        self.name = name
        self.obj = obj
        self.queue: deque[tuple[str, Any]] | None = None
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
        """Answer the sender; a message sent with ``send_message`` has no one to answer."""
        _check_message(message, "reply")
        target = self._target
        if target is None:
            return
        self._target = None
        if type(target) is tuple:
            if self._replier is not None:
                self._replier.reply(target, message.encode())
        elif not target.done():
            target.set_result(message)

    def _fail(self, error: MessagingError) -> None:
        target = self._target
        if target is None:
            return
        self._target = None
        if type(target) is tuple:
            if self._replier is not None:
                self._replier.error(target, error)
        elif not target.done():
            target.set_exception(error)


class Workers:
    """The workers of one node, by name."""

    __slots__ = ("_loop", "_node", "_by_name", "replier", "last_message_at")

    def __init__(self, loop: asyncio.AbstractEventLoop, node: str) -> None:
        self._loop = loop
        self._node = node
        self._by_name: dict[str, _Worker] = {}
        #: answers to other nodes leave here (set once the node's ROUTER is open)
        self.replier: Replier | None = None
        #: when a worker's message last arrived (``time.time()``; pings do not count)
        self.last_message_at: float | None = None

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> _Worker | None:
        return self._by_name.get(name)

    def start(self, name: str, obj: Any) -> None:
        """Add a worker; raises ValueError, TypeError or WorkerExists."""
        _check_name(name)
        _check_worker(obj)
        if name in self._by_name:
            raise WorkerExists(name, self._node)
        self._by_name[name] = _Worker(name, obj)

    def stop(self, name: str) -> bool:
        """Remove a worker (False if there is none): messages queued for it get an error."""
        w = self._by_name.pop(name, None)
        if w is None:
            return False
        self._retire(w)
        return True

    def _retire(self, w: _Worker) -> None:
        if w.queue:
            for _, target in w.queue:
                Context(self.replier, w.name, target)._fail(self._stopped(w))
            w.queue = None
        if w.task is not None and w.task is not asyncio.current_task():
            w.task.cancel()

    def _stopped(self, w: _Worker) -> MessagingError:
        return MessagingError(f"worker {w.name!r} on node {self._node!r} was stopped", worker=w.name, node=self._node)

    def deliver(self, w: _Worker, message: str, target: Any) -> None:
        """Hand ``message`` to ``w``: at once if it is idle, else after what it has queued."""
        self.last_message_at = time.time()
        if w.task is None:
            w.task = self._loop.create_task(self._run(w, message, target))
        else:
            q = w.queue
            if q is None:
                q = w.queue = deque()
            q.append((message, target))

    async def _run(self, w: _Worker, message: str, target: Any) -> None:
        handle = w.obj.handle_message
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
            q = w.queue
            if not q:
                w.queue = None
                w.task = None
                return
            message, target = q.popleft()

    def cancel(self) -> None:
        """Cancel every busy worker's task (the node is stopping)."""
        for w in list(self._by_name.values()):
            if w.task is not None:
                w.task.cancel()
