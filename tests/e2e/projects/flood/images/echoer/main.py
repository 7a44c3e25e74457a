"""Asks the sink's echo worker something every 250 ms and logs how long each answer took."""

import asyncio
import time

from autonomy import Node, Zone, info


async def main(node):
    sink = (await Zone.nodes(node, filter="sink"))[0]
    n = 0
    while True:
        n += 1
        t = time.perf_counter()
        try:
            await sink.send_and_receive("echo", f"echo {n}", timeout=30)
            info(f"ECHO {n} ms={(time.perf_counter() - t) * 1000:.1f}")
        except RuntimeError as e:
            info(f"ECHO {n} FAILED after {time.perf_counter() - t:.1f} s: {e}")
        await asyncio.sleep(0.25)


Node.start(main)
