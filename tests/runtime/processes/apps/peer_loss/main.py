"""Waits on a remote worker that never answers; the test kills that node."""

import asyncio

from autonomy import Node, Zone, info


class Stuck:
    async def handle_message(self, context, message):
        await asyncio.sleep(3600)


async def main(node):
    runner = (await Zone.nodes(node, filter="runner"))[0]
    await runner.start_worker("stuck", Stuck())
    info(f"waiting on {runner.name}")
    try:
        await runner.send_and_receive("stuck", "hello")  # no timeout: only the loss ends it
    except RuntimeError as e:
        info(f"LOST: {e}")


Node.start(main)
