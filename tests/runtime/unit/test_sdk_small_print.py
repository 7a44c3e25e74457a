"""The SDK's small print on one standalone node: mailboxes, several replies, policy and
exposed_as keywords, default timeouts, ``worker.node``, ``Zone.node`` None, names."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import autonomy.nodes.mailbox
import autonomy.nodes.node
from autonomy import MessageTimeout, WorkerFailed, WorkerNotFound
from autonomy.clusters.zone import Zone
from autonomy.nodes.node import Node
from autonomy.nodes.remote import REMOTE_TIMEOUT, RemoteNode
from autonomy.nodes.workers import DEFAULT_TIMEOUT
from autonomy.settings import Settings
from autonomy.transport.roster import NodeEntry


class Streamer:
    """Replies three times to every message."""

    async def handle_message(self, context: Any, message: str) -> None:
        for i in range(3):
            await context.reply(f"{message}-{i}")


class Silent:
    async def handle_message(self, context: Any, message: str) -> None:
        pass


class Boom:
    async def handle_message(self, context: Any, message: str) -> None:
        raise ValueError("boom")


class Holder:
    node: Any = None

    async def handle_message(self, context: Any, message: str) -> None:
        await context.reply(self.node.name)


def run(scenario: Callable[[Node], Awaitable[Any]], **changes: Any) -> Any:
    async def go() -> Any:
        settings = dataclasses.replace(Settings.from_env({"NODE": "solo", "AUTONOMY_HTTP_PORT": "0"}), **changes)
        node = await Node.open(settings)
        try:
            return await scenario(node)
        finally:
            await node.close()

    return asyncio.run(go())


def test_a_mailbox_receives_every_reply_in_order() -> None:
    async def scenario(node: Node) -> list[str]:
        await node.start_worker("streamer", Streamer())
        box = await node.send("streamer", "a")
        await box.send("streamer", "b")
        return [await box.receive(timeout=5) for _ in range(6)]

    assert run(scenario) == ["a-0", "a-1", "a-2", "b-0", "b-1", "b-2"]


def test_send_and_receive_answers_with_the_first_reply_and_drops_the_rest(caplog: Any) -> None:
    async def scenario(node: Node) -> list[str]:
        await node.start_worker("streamer", Streamer())
        with caplog.at_level(logging.DEBUG, logger="autonomy.node"):
            first = await node.send_and_receive("streamer", "x", timeout=5)
            again = await node.send_and_receive("streamer", "y", timeout=5)
            await asyncio.sleep(0.01)
        return [first, again]

    assert run(scenario) == ["x-0", "y-0"]
    assert "replied again to a send_and_receive already answered" in caplog.text


def test_a_mailbox_is_an_address_and_is_not_listed() -> None:
    async def scenario(node: Node) -> tuple[str, list[dict[str, Any]], str]:
        sender = await node.create_mailbox("sender")
        receiver = await node.create_mailbox("receiver", policy="ignored")
        await sender.send("receiver", "test")
        got = await receiver.receive(timeout=1)
        await node.send_message("receiver", "direct")
        return got, await node.list_workers(), await receiver.receive(timeout=1)

    got, listed, direct = run(scenario)
    assert (got, listed, direct) == ("test", [], "direct")


def test_receive_times_out_and_none_means_the_default(monkeypatch: Any) -> None:
    assert DEFAULT_TIMEOUT == 30.0
    monkeypatch.setattr(autonomy.nodes.mailbox, "DEFAULT_TIMEOUT", 0.05)

    async def scenario(node: Node) -> list[str]:
        box = await node.create_mailbox("box")
        texts = []
        for timeout in (0.05, None):
            with pytest.raises(MessageTimeout) as info:
                await box.receive(timeout=timeout)
            texts.append(str(info.value))
        return texts

    assert all("timeout" in t for t in run(scenario))


def test_send_and_receive_none_is_the_default_timeout_not_forever(monkeypatch: Any) -> None:
    monkeypatch.setattr(autonomy.nodes.node, "DEFAULT_TIMEOUT", 0.05)

    async def scenario(node: Node) -> str:
        await node.start_worker("silent", Silent())
        with pytest.raises(MessageTimeout) as info:
            await asyncio.wait_for(node.send_and_receive("silent", "hi", policy="p", timeout=None), 5)
        return str(info.value)

    assert "timeout" in run(scenario)


def test_a_remote_node_waits_600_seconds_by_default() -> None:
    seen: list[float | None] = []

    class Local:
        async def _request(self, peer: str, kind: Any, target: str, payload: bytes, timeout: float | None) -> bytes:
            seen.append(timeout)
            return b"ok"

    entry = NodeEntry(
        name="c-z-runner-pod-runner",
        pod="runner-pod",
        instance="runner-pod",
        clone=0,
        container="runner",
        endpoint="tcp://127.0.0.1:1",
        public_key="k" * 40,
        role="node",
    )
    remote = RemoteNode(Local(), entry)  # type: ignore[arg-type]
    assert asyncio.run(remote.send_and_receive("w", "m")) == "ok"
    assert asyncio.run(remote.send_and_receive("w", "m", None, None, 2)) == "ok"
    assert seen == [REMOTE_TIMEOUT, 2.0] and REMOTE_TIMEOUT == 600.0


def test_errors_answering_a_mailbox_are_raised_by_receive() -> None:
    async def scenario(node: Node) -> tuple[BaseException, BaseException]:
        await node.start_worker("boom", Boom())
        box = await node.send("boom", "m")
        with pytest.raises(WorkerFailed) as failed:
            await box.receive(timeout=5)
        with pytest.raises(WorkerNotFound) as missing:
            await box.send("nobody", "m")
        return failed.value, missing.value

    failed, missing = run(scenario)
    assert "boom" in str(failed) and "nobody" in str(missing)


def test_a_full_mailbox_drops_and_counts() -> None:
    async def scenario(node: Node) -> tuple[list[str], int]:
        box = await node.create_mailbox("box")
        for i in range(4):
            box._put(str(i))
        return [await box.receive(timeout=1) for _ in range(2)], node.stats.mailbox_dropped

    assert run(scenario, mailbox=2) == (["0", "1"], 2)


def test_a_closed_or_forgotten_mailbox_frees_its_address() -> None:
    async def scenario(node: Node) -> None:
        box = await node.create_mailbox("box")
        box.close()
        with pytest.raises(WorkerNotFound):
            await node.send_message("box", "late")
        again = await node.create_mailbox("box")
        del again
        gc.collect()
        await node.create_mailbox("box")  # the name is free again

    run(scenario)


def test_start_worker_takes_policy_and_exposed_as_and_sets_worker_node() -> None:
    async def scenario(node: Node) -> tuple[str, dict[str, str]]:
        holder = Holder()
        await node.start_worker("holder", holder, policy="anything", exposed_as="Holder tool")
        assert holder.node is node
        return await node.send_and_receive("holder", "who"), node.exposed

    assert run(scenario) == ("solo", {"holder": "Holder tool"})


def test_bad_names_are_value_errors() -> None:
    async def scenario(node: Node) -> None:
        for bad in ("a b", "a/b", "é", ""):
            with pytest.raises(ValueError):
                await node.start_worker(bad, Silent())
            with pytest.raises(ValueError):
                await node.create_mailbox(bad)

    run(scenario)


def test_zone_node_is_none_for_an_absent_node() -> None:
    async def scenario(node: Node) -> tuple[Any, Any]:
        return await Zone.node(node, "nowhere"), await Zone.node(node, "solo")

    absent, me = run(scenario)
    assert absent is None and isinstance(me, Node)
