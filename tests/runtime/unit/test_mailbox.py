"""A worker's mailbox: senders served in turn, order kept per sender, and in-node senders
that wait for room are let go as the mailbox drains."""

from __future__ import annotations

import asyncio
from typing import Any

from autonomy.nodes.workers import Workers


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.gate = asyncio.Event()

    async def handle_message(self, context: Any, message: str) -> None:
        await self.gate.wait()
        self.seen.append(message)


def test_senders_are_served_in_turn_and_keep_their_order() -> None:
    async def scenario() -> list[str]:
        workers = Workers(asyncio.get_running_loop(), "n")
        rec = Recorder()
        workers.start("w", rec)
        w = workers.get("w")
        assert w is not None
        workers.deliver(w, "first", None, b"flooder")
        for i in range(5):
            workers.deliver(w, f"f{i}", None, b"flooder")
        workers.deliver(w, "q0", None, b"quiet")
        workers.deliver(w, "q1", None, b"quiet")
        rec.gate.set()
        while w.task is not None:
            await asyncio.sleep(0)
        return rec.seen

    seen = asyncio.run(scenario())
    assert seen == ["first", "f0", "q0", "f1", "q1", "f2", "f3", "f4"]


def test_waiting_senders_are_all_let_go_when_the_mailbox_empties() -> None:
    async def scenario() -> int:
        workers = Workers(asyncio.get_running_loop(), "n", mailbox=1)
        rec = Recorder()
        workers.start("w", rec)
        w = workers.get("w")
        assert w is not None
        workers.deliver(w, "m1", None)  # handled at once (waits on the gate)
        workers.deliver(w, "m2", None)  # fills the mailbox
        assert workers.full(w)
        waiters = [asyncio.ensure_future(workers.room(w)) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(f.done() for f in waiters)
        rec.gate.set()  # none of the waiters sends anything once let go
        done, pending = await asyncio.wait(waiters, timeout=5)
        for f in pending:
            f.cancel()
        return len(done)

    assert asyncio.run(scenario()) == 3


def test_waiting_senders_hear_that_the_worker_stopped() -> None:
    async def scenario() -> BaseException | None:
        workers = Workers(asyncio.get_running_loop(), "n", mailbox=1)
        rec = Recorder()
        workers.start("w", rec)
        w = workers.get("w")
        assert w is not None
        workers.deliver(w, "m1", None)
        workers.deliver(w, "m2", None)
        waiter = asyncio.ensure_future(workers.room(w))
        await asyncio.sleep(0)
        workers.stop("w")
        await asyncio.wait([waiter], timeout=5)
        return waiter.exception() if waiter.done() else None

    error = asyncio.run(scenario())
    assert error is not None and "was stopped" in str(error)
