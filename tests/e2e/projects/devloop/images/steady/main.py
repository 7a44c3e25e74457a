from autonomy import Node, info


class Echo:
    async def handle_message(self, context, message):
        await context.reply(message)


async def main(node):
    await node.start_worker("echo", Echo())
    info("steady is up")


Node.start(main)
