"""Pushes 500,000 fire-and-forget messages into the sink as fast as it is let."""

import time

from autonomy import Node, Zone, info

COUNT = 500_000


async def main(node):
    sink = (await Zone.nodes(node, filter="sink"))[0]
    await sink.send_and_receive("echo", "hello", timeout=60)
    info("SENDING")
    t = time.perf_counter()
    for i in range(COUNT):
        await sink.send_message("sink", f"{node.name}:{i}")
    info(f"SENT {COUNT} in {time.perf_counter() - t:.1f} s")


Node.start(main)
