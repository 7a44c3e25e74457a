"""10,000 workers on one node, a message to each; 10,000 ordered messages to a remote worker."""

import asyncio
import json

from autonomy import Node, Zone, info


class Named:
    def __init__(self, n):
        self.n = n

    async def handle_message(self, context, message):
        await context.reply(f"{self.n}:{message}")


class Recorder:
    def __init__(self):
        self.got = []

    async def handle_message(self, context, message):
        if message == "report":
            expected = list(range(len(self.got)))
            await context.reply(json.dumps({"count": len(self.got), "in_order": self.got == expected}))
            self.got = []
            return
        self.got.append(int(message))
        await context.reply(message)


async def main(node):
    n = 10_000
    for i in range(n):
        await node.start_worker(f"w{i}", Named(i))
    replies = await asyncio.gather(*(node.send_and_receive(f"w{i}", "ping", timeout=60) for i in range(n)))
    ok = sum(1 for i, r in enumerate(replies) if r == f"{i}:ping")
    info(f"local workers reached: {ok}/{n}; listed: {len(await node.list_workers())}")
    info(f"tasks while idle: {len(asyncio.all_tasks())}")

    runner = (await Zone.nodes(node, filter="runner"))[0]
    for i in range(n):
        await runner.start_worker(f"r{i}", Named(i))
    replies = await asyncio.gather(*(runner.send_and_receive(f"r{i}", "ping", timeout=60) for i in range(n)))
    ok = sum(1 for i, r in enumerate(replies) if r == f"{i}:ping")
    info(f"remote workers reached: {ok}/{n}; listed: {len(await runner.list_workers())}")

    await runner.start_worker("recorder", Recorder())
    pad = " " * 2048  # 20 MB in all: more than socket buffers hold, whatever the timing
    for i in range(n):
        await runner.send_message("recorder", f"{i}{pad}")
    info(f"fire-and-forget order: {await runner.send_and_receive('recorder', 'report', timeout=60)}")
    replies = await asyncio.gather(*(runner.send_and_receive("recorder", str(i), timeout=60) for i in range(n)))
    assert replies == [str(i) for i in range(n)]
    info(f"request order: {await runner.send_and_receive('recorder', 'report', timeout=60)}")
    info("SCALE DONE")


Node.start(main)
