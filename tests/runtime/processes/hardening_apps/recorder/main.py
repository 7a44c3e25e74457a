"""Records every message its worker gets; ``report`` answers with the list (JSON)."""

import json

from autonomy import Node, info


class Recorder:
    def __init__(self):
        self.seen = []

    async def handle_message(self, context, message):
        if message == "report":
            await context.reply(json.dumps(self.seen))
            return
        info(f"recorder got: {message}")
        self.seen.append(message)
        await context.reply(message)


async def main(node):
    await node.start_worker("recorder", Recorder())
    info("recorder ready")


Node.start(main)
