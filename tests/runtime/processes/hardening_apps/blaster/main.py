"""Sends ``BLAST_COUNT`` fire-and-forget messages ``<node>:<seq>`` to the sink pod's worker.

No message is retried or skipped: a ``send_message`` that fails ends ``main`` with its
error in the log, and ``SENT`` is never printed.
"""

import os
import time

from autonomy import Node, Zone, info


async def main(node):
    count = int(os.environ["BLAST_COUNT"])
    sink = (await Zone.nodes(node, filter=os.environ.get("BLAST_TARGET", "sink")))[0]
    await sink.send_and_receive("echo", "hello", timeout=60)
    info(f"BLAST start {count}")
    t = time.perf_counter()
    me = node.name
    for i in range(count):
        await sink.send_message("sink", f"{me}:{i}")
    info(f"SENT {count} in {time.perf_counter() - t:.1f} s")


Node.start(main)
