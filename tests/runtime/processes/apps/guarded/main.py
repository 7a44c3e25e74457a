from autonomy import Node, info


class Echo:
    async def handle_message(self, context, message):
        info(f"echo got: {message}")
        await context.reply(message)


async def main(node):
    await node.start_worker("echo", Echo())
    info("guarded node ready")


Node.start(main)
