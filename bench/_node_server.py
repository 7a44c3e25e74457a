"""Bench server node: an echo worker."""

from autonomy import Node


class Echo:
    async def handle_message(self, context, message):
        await context.reply(message)


async def main(node):
    await node.start_worker("echo", Echo())
    print("ready", flush=True)


Node.start(main)
