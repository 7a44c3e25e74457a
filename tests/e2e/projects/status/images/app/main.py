import asyncio
import sys

from autonomy import Agent, Model, Node, Zone, info

ROLE = sys.argv[1]


class Worker:
    async def handle_message(self, context, message):
        await context.reply(f"{ROLE} got {message}")


async def main(node):
    if ROLE == "keeper":
        for i in range(3):
            await node.start_worker(f"k{i}", Worker())
        # an agent that is never sent a message: listed with zero figures (no model call)
        await Agent.start(node, "You keep things.", name="henry", model=Model("claude-sonnet-4-v1"))
        info("keeper ready")
    elif ROLE == "helper":
        await node.start_worker("h0", Worker())
        info("helper ready")
    else:
        keeper = next(n for n in await Zone.nodes(node, filter="alpha") if n.name.endswith("-keeper"))
        i = 0
        while True:
            i += 1
            info(await keeper.send_and_receive("k0", f"message {i}", timeout=10))
            await asyncio.sleep(1)


Node.start(main)
