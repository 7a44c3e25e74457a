"""Interleaving lines from many containers into timestamp order, in bounded memory."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import datetime

from .lines import LogLine

__all__ = ["Merger"]


class Merger:
    """Interleaves lines put by many threads into timestamp order.

    Each line is held ``window`` seconds after it arrived, so that a line of another
    container with an earlier time, read a little later, still comes out before it. At
    most ``capacity`` lines wait; past that the oldest is dropped and counted in
    :attr:`dropped` (a slow consumer loses old lines, memory stays bounded).
    """

    def __init__(
        self, window: float = 0.2, capacity: int = 20_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.window = window
        self.capacity = capacity
        self.dropped = 0
        self._clock = clock
        self._heap: list[tuple[datetime, int, float, LogLine]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, line: LogLine) -> None:
        with self._cond:
            if len(self._heap) >= self.capacity:
                heapq.heappop(self._heap)
                self.dropped += 1
            heapq.heappush(self._heap, (line.time, next(self._seq), self._clock(), line))
            self._cond.notify()

    def _ready(self, now: float) -> list[LogLine]:
        out = []
        heap = self._heap
        while heap and heap[0][2] + self.window <= now:
            out.append(heapq.heappop(heap)[3])
        return out

    def take(self, timeout: float = 0.0) -> list[LogLine]:
        """The lines whose window has passed, oldest first; waits up to ``timeout`` s
        for at least one."""
        with self._cond:
            deadline = self._clock() + timeout
            while True:
                now = self._clock()
                out = self._ready(now)
                if out or now >= deadline:
                    return out
                wait = deadline - now
                if self._heap:
                    wait = min(wait, self._heap[0][2] + self.window - now)
                self._cond.wait(max(wait, 0.001))

    def drain(self) -> list[LogLine]:
        """Every waiting line, oldest first, window or not."""
        with self._cond:
            out = [item[3] for item in sorted(self._heap)]
            self._heap.clear()
            return out
