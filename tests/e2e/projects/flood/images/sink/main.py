"""Counts the senders' fire-and-forget messages (``<sender>:<seq>``), checks their order."""

from autonomy import Node, info

EXPECT = 1_000_000


class Sink:
    def __init__(self):
        self.total = 0
        self.out_of_order = 0
        self.next = {}

    async def handle_message(self, context, message):
        origin, _, seq = message.partition(":")
        seq = int(seq)
        if self.next.get(origin, 0) != seq:
            self.out_of_order += 1
        self.next[origin] = seq + 1
        self.total += 1
        if self.total % 100_000 == 0:
            info(f"SINK total={self.total} out_of_order={self.out_of_order}")
        if self.total == EXPECT:
            info(f"SINK DONE total={self.total} out_of_order={self.out_of_order}")


class Echo:
    async def handle_message(self, context, message):
        await context.reply(message)


async def main(node):
    await node.start_worker("sink", Sink())
    await node.start_worker("echo", Echo())
    info("sink ready")


Node.start(main)
