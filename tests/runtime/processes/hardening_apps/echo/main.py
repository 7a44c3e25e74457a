"""A node with an echo worker and a slow one (its first message never finishes)."""

import asyncio

from autonomy import Node, info


class Echo:
    async def handle_message(self, context, message):
        await context.reply(message)


class Slow:
    """Blocks on every message but "quick": what arrives meanwhile waits in its mailbox."""

    async def handle_message(self, context, message):
        if message != "quick":
            await asyncio.sleep(3600)
        await context.reply(message)


async def main(node):
    await node.start_worker("echo", Echo())
    await node.start_worker("slow", Slow())
    info("echo node ready")


Node.start(main)
