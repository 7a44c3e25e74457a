"""One timer for every pending timeout of a node's calls.

``send_and_receive`` with a ``timeout`` does not arm a timer of its own: the node's
:class:`Deadlines` keeps every waiting call and a single ``call_at`` for the earliest.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from ..errors import MessageTimeout

__all__ = ["Deadlines"]

_Future = asyncio.Future


class Deadlines:
    """One timer for every pending timeout.

    Calls made with the same ``timeout`` expire in the order they were made, so each
    distinct timeout value keeps a FIFO queue; finished calls are dropped from its head as
    new ones arrive (a serial caller's queue stays one entry long). A single ``call_at``
    is armed for the earliest head; nothing is armed while no call waits.
    """

    __slots__ = ("_loop", "_queues", "_handle", "_when")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: dict[float, deque[tuple[float, _Future[Any], str, str]]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._when = 0.0

    def add(self, timeout: float, fut: _Future[Any], worker: str, node: str) -> None:
        """Fail ``fut`` with MessageTimeout(worker, node) unless done within ``timeout`` s."""
        deadline = self._loop.time() + timeout
        q = self._queues.get(timeout)
        if q is None:
            q = self._queues[timeout] = deque()
        else:
            while q and q[0][1].done():
                q.popleft()
        q.append((deadline, fut, worker, node))
        if self._handle is None or deadline < self._when:
            if self._handle is not None:
                self._handle.cancel()
            self._when = deadline
            self._handle = self._loop.call_at(deadline, self._sweep)

    def _sweep(self) -> None:
        self._handle = None
        now = self._loop.time()
        earliest = None
        overdue: list[tuple[float, float, _Future[Any], str, str]] = []
        for timeout, q in list(self._queues.items()):
            while q and (q[0][0] <= now or q[0][1].done()):
                deadline, fut, worker, node = q.popleft()
                if not fut.done():
                    overdue.append((deadline, timeout, fut, worker, node))
            if not q:
                del self._queues[timeout]
            elif earliest is None or q[0][0] < earliest:
                earliest = q[0][0]
        if len(overdue) > 1:
            # several timeout values may be overdue at once (the loop was busy): their
            # waiters wake in the order their deadlines fell, not by queue
            overdue.sort(key=lambda item: item[0])
        for _, timeout, fut, worker, node in overdue:
            fut.set_exception(MessageTimeout(worker, node, timeout))
        if earliest is not None:
            self._when = earliest
            self._handle = self._loop.call_at(earliest, self._sweep)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._queues.clear()
