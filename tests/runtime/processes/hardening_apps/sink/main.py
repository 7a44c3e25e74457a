"""Counts fire-and-forget messages ``<origin>:<seq>`` and checks each origin's order.

``HARDEN_RLIMIT_AS_MB`` caps the process's address space (as a container's memory limit
would cap its memory) before the runtime loads; ``HARDEN_EXPECT`` is the total at which
the count is reported as done.
"""

import os
import resource

_limit = os.environ.get("HARDEN_RLIMIT_AS_MB")
if _limit:
    resource.setrlimit(resource.RLIMIT_AS, (int(_limit) << 20, int(_limit) << 20))

from autonomy import Node, info  # noqa: E402


class Sink:
    def __init__(self, expect):
        self.expect = expect
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
        if self.total % 250_000 == 0 or self.total == self.expect:
            info(f"SINK total={self.total} out_of_order={self.out_of_order} origins={len(self.next)}")
        if self.total == self.expect:
            info(f"SINK DONE total={self.total} out_of_order={self.out_of_order}")


class Echo:
    async def handle_message(self, context, message):
        await context.reply(message)


async def main(node):
    await node.start_worker("sink", Sink(int(os.environ.get("HARDEN_EXPECT", "0"))))
    await node.start_worker("echo", Echo())
    info("sink node ready")


Node.start(main)
