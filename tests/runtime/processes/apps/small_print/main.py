"""Cross-node small print of the SDK's API; prints `CHECK <name>: ok|FAIL ...`."""

import traceback

from autonomy import Node, WorkerFailed, Zone


class Streamer:
    """Replies three times, and says which node hosts it."""

    async def handle_message(self, context, message):
        for i in range(3):
            await context.reply(f"{message}-{i}@{self.node.name}")


class Boom:
    async def handle_message(self, context, message):
        raise ValueError("boom")


class Caller:
    """Sends to a mailbox of the node named in the message, from the node hosting it."""

    async def handle_message(self, context, message):
        await self.node.send_message("inbox", "from afar", node=message)
        await context.reply("sent")


async def main(node):
    runners = await Zone.nodes(node, filter="runner")
    r = runners[0]
    await r.start_worker("streamer", Streamer(), policy="ignored", exposed_as="streamer")
    await r.start_worker("boom", Boom())
    await r.start_worker("caller", Caller())

    async def mailbox_gets_every_remote_reply():
        box = await node.send("streamer", "a", node=r)
        await box.send("streamer", "b", node=r.name)
        got = [await box.receive(timeout=10) for _ in range(6)]
        want = [f"{m}-{i}@{r.name}" for m in "ab" for i in range(3)]
        assert got == want, got

    async def remote_worker_finds_its_node():
        got = await r.send_and_receive("streamer", "x", timeout=10)
        assert got == f"x-0@{r.name}", got

    async def first_reply_answers_the_rest_harmless():
        for i in range(5):
            got = await node.send_and_receive("streamer", str(i), timeout=10)  # found by name
            assert got == f"{i}-0@{r.name}", got
        got = await r.send_and_receive("streamer", "last", None, None, None)
        assert got == f"last-0@{r.name}", got

    async def remote_error_reaches_the_mailbox():
        box = await node.send("boom", "m", node=r)
        try:
            await box.receive(timeout=10)
        except WorkerFailed as e:
            assert "boom" in str(e), e
        else:
            raise AssertionError("no error")

    async def another_node_sends_to_a_mailbox():
        inbox = await node.create_mailbox("inbox")
        assert await r.send_and_receive("caller", node.name, timeout=10) == "sent"
        assert await inbox.receive(timeout=10) == "from afar"
        assert "inbox" not in [w["name"] for w in await node.list_workers()]

    async def zone_node_none_when_absent():
        assert await Zone.node(node, "no-such-pod") is None
        found = await Zone.node(node, r.name)
        assert found is not None and found.name == r.name

    for check in (
        mailbox_gets_every_remote_reply,
        remote_worker_finds_its_node,
        first_reply_answers_the_rest_harmless,
        remote_error_reaches_the_mailbox,
        another_node_sends_to_a_mailbox,
        zone_node_none_when_absent,
    ):
        try:
            await check()
            print(f"CHECK {check.__name__}: ok", flush=True)
        except Exception as e:
            print(f"CHECK {check.__name__}: FAIL {type(e).__name__}: {e}", flush=True)
            traceback.print_exc()
    print("CHECKS DONE", flush=True)


Node.start(main)
