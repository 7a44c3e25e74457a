"""autonomy.nodes._deadlines.Deadlines: one timer for every pending send_and_receive timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from autonomy.errors import MessageTimeout
from autonomy.nodes._deadlines import Deadlines as _Deadlines

# --------------------------------------------------------------------------- real event loop


def test_unresolved_future_times_out() -> None:
    async def scenario() -> tuple[BaseException | None, float]:
        loop = asyncio.get_running_loop()
        d = _Deadlines(loop)
        fut: asyncio.Future[str] = loop.create_future()
        start = loop.time()
        d.add(0.05, fut, "greeter", "c-z-pod-main")
        try:
            await asyncio.wait_for(asyncio.shield(fut), 2.0)
        except MessageTimeout:
            pass
        return fut.exception(), loop.time() - start

    exc, elapsed = asyncio.run(scenario())
    assert isinstance(exc, MessageTimeout)
    assert isinstance(exc, RuntimeError)
    text = str(exc)
    assert "timeout" in text
    assert "greeter" in text and "c-z-pod-main" in text
    assert exc.worker == "greeter" and exc.node == "c-z-pod-main" and exc.seconds == 0.05
    assert 0.04 <= elapsed < 1.5


def test_future_resolved_in_time_is_untouched() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        d = _Deadlines(loop)
        fut: asyncio.Future[str] = loop.create_future()
        d.add(0.03, fut, "w", "n")
        loop.call_later(0.005, fut.set_result, "pong")
        assert await fut == "pong"
        await asyncio.sleep(0.08)
        assert fut.result() == "pong"
        assert d._handle is None
        assert d._queues == {}

    asyncio.run(scenario())


def test_cancelled_future_is_left_alone() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        d = _Deadlines(loop)
        fut: asyncio.Future[str] = loop.create_future()
        d.add(0.02, fut, "w", "n")
        fut.cancel()
        await asyncio.sleep(0.06)
        assert fut.cancelled()
        assert d._handle is None and d._queues == {}

    asyncio.run(scenario())


def test_interleaved_timeouts_expire_in_deadline_order() -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        d = _Deadlines(loop)
        order: list[str] = []
        futs = []
        # (timeout, label); two calls per timeout value, added interleaved.
        plan = [(0.25, "a"), (0.05, "b"), (0.15, "c"), (0.05, "d"), (0.20, "e"), (0.10, "f"), (0.15, "g")]
        for timeout, label in plan:
            fut: asyncio.Future[str] = loop.create_future()
            fut.add_done_callback(lambda f, label=label: order.append(label))
            d.add(timeout, fut, label, "n")
            futs.append(fut)
        await asyncio.wait(futs, timeout=3.0)
        assert all(isinstance(f.exception(), MessageTimeout) for f in futs)
        assert [f.exception().worker for f in futs] == [label for _, label in plan]  # type: ignore[union-attr]
        assert d._handle is None and d._queues == {}
        return order

    assert asyncio.run(scenario()) == ["b", "d", "f", "c", "g", "e", "a"]


def test_serial_calls_keep_queue_short_and_disarm() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        d = _Deadlines(loop)
        longest = 0
        for i in range(10_000):
            fut: asyncio.Future[int] = loop.create_future()
            d.add(0.05, fut, "w", "n")
            longest = max(longest, sum(len(q) for q in d._queues.values()))
            fut.set_result(i)
            assert await fut == i
            if i % 100 == 0:
                await asyncio.sleep(0)
        assert longest == 1
        assert list(d._queues) in ([], [0.05])
        await asyncio.sleep(0.12)
        assert d._queues == {}
        assert d._handle is None

    asyncio.run(scenario())


def test_cancel_clears_everything() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        d = _Deadlines(loop)
        futs = [loop.create_future() for _ in range(4)]
        for fut, timeout in zip(futs, [0.01, 0.02, 0.02, 0.03], strict=True):
            d.add(timeout, fut, "w", "n")
        assert d._handle is not None and len(d._queues) == 3
        d.cancel()
        assert d._handle is None and d._queues == {}
        await asyncio.sleep(0.06)
        assert not any(f.done() for f in futs)
        # Still usable after cancel().
        fut = loop.create_future()
        d.add(0.01, fut, "w2", "n2")
        await asyncio.sleep(0.05)
        assert isinstance(fut.exception(), MessageTimeout)

    asyncio.run(scenario())


# --------------------------------------------------------------------------- deterministic clock


class _Handle:
    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        self.cancelled = True


class _FakeLoop:
    """Just what _Deadlines uses of a loop: time() and call_at(), with a hand-driven clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[_Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> _Handle:
        h = _Handle(when, callback)
        self.handles.append(h)
        return h

    def armed(self) -> list[_Handle]:
        return [h for h in self.handles if not h.cancelled and not h.fired]

    def advance(self, to: float) -> None:
        self.now = to
        while True:
            due = sorted((h for h in self.armed() if h.when <= to), key=lambda h: h.when)
            if not due:
                return
            due[0].fired = True
            due[0].callback()


@pytest.fixture()
def futures() -> Any:
    loop = asyncio.new_event_loop()
    made: list[asyncio.Future[Any]] = []

    def make() -> asyncio.Future[Any]:
        f: asyncio.Future[Any] = loop.create_future()
        made.append(f)
        return f

    yield make
    for f in made:
        if f.done() and not f.cancelled():
            f.exception()
    loop.close()


def test_fake_clock_single_timer_and_order(futures: Callable[[], asyncio.Future[Any]]) -> None:
    fl = _FakeLoop()
    d = _Deadlines(fl)  # type: ignore[arg-type]
    plan = [(5.0, "a"), (1.0, "b"), (3.0, "c"), (1.0, "d"), (0.5, "e")]
    futs = {}
    for label_timeout, label in plan:
        fl.now += 0.01
        futs[label] = futures()
        d.add(label_timeout, futs[label], label, "n")
        assert len(fl.armed()) == 1
    assert fl.armed()[0].when == pytest.approx(0.05 + 0.5)  # re-armed for the shortest

    expired: list[str] = []
    t = 0.0
    while t < 6.0:
        t += 0.05
        fl.advance(t)
        for label, f in futs.items():
            if f.done() and label not in expired:
                expired.append(label)
                assert f.exception().seconds == dict((lb, s) for s, lb in plan)[label]  # type: ignore[union-attr]
                # Never early.
                added_at = 0.01 * (1 + [lb for _, lb in plan].index(label))
                assert t >= added_at + dict((lb, s) for s, lb in plan)[label] - 1e-9
        assert len(fl.armed()) <= 1
    assert expired == ["e", "b", "d", "c", "a"]
    assert fl.armed() == [] and d._handle is None and d._queues == {}


def test_fake_clock_done_futures_do_not_keep_timer(futures: Callable[[], asyncio.Future[Any]]) -> None:
    fl = _FakeLoop()
    d = _Deadlines(fl)  # type: ignore[arg-type]
    for i in range(1000):
        fl.now = i * 0.001
        f = futures()
        d.add(10.0, f, "w", "n")
        f.set_result(i)
        assert len(d._queues[10.0]) == 1
    fl.advance(10.0)  # first deadline: everything queued is done
    assert d._queues == {} and d._handle is None and fl.armed() == []


def test_fake_clock_cancel_disarms_timer(futures: Callable[[], asyncio.Future[Any]]) -> None:
    fl = _FakeLoop()
    d = _Deadlines(fl)  # type: ignore[arg-type]
    pending = [futures() for _ in range(3)]
    for f, timeout in zip(pending, [1.0, 2.0, 2.0], strict=True):
        d.add(timeout, f, "w", "n")
    assert len(fl.armed()) == 1
    d.cancel()
    assert fl.armed() == [] and d._handle is None and d._queues == {}
    fl.advance(5.0)
    assert not any(f.done() for f in pending)


def test_overdue_calls_of_several_timeouts_wake_in_deadline_order() -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        d = _Deadlines(loop)
        woke: list[str] = []
        futs = []
        # queue 0.2 is created first, but its deadline falls after 0.05's and 0.1's
        for timeout, name in ((0.2, "slow"), (0.05, "fast"), (0.1, "middle")):
            fut: asyncio.Future[str] = loop.create_future()
            fut.add_done_callback(lambda _, n=name: woke.append(n))
            d.add(timeout, fut, name, "n")
            futs.append(fut)
        time.sleep(0.3)  # the loop is blocked past every deadline
        await asyncio.gather(*futs, return_exceptions=True)
        return woke

    assert asyncio.run(scenario()) == ["fast", "middle", "slow"]
