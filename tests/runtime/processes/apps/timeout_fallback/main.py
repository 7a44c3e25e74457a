import asyncio

from autonomy import Node


class Slow:
    async def handle_message(self, context, message):
        await asyncio.sleep(30)
        await context.reply("too late")


class Backup:
    async def handle_message(self, context, message):
        await context.reply(f"backup: {message}")


async def main(node):
    await node.start_worker("primary", Slow())
    await node.start_worker("backup", Backup())
    msg = "job"
    try:
        reply = await node.send_and_receive("primary", msg, timeout=0.5)
    except RuntimeError as e:
        if "timeout" in str(e).lower():
            print(f"Operation timed out: {e}")
            # Have a fallback strategy
            reply = await node.send_and_receive("backup", msg, timeout=5)
        else:
            raise
    print(reply)


Node.start(main)
