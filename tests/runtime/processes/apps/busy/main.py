import asyncio

from autonomy import Node, info


class Sleeper:
    async def handle_message(self, context, message):
        await asyncio.sleep(3600)


async def main(node):
    await node.start_worker("sleeper", Sleeper())
    for i in range(50):
        await node.send_message("sleeper", str(i))
    info("busy node ready")
    await node.send_and_receive("sleeper", "wait forever")


Node.start(main)
