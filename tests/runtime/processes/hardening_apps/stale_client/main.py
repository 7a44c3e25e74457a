"""Calls a node that is down with short timeouts, waits for it to come up, asks what it got."""

import asyncio

from autonomy import MessagingError, Node, WorkerNotFound, Zone, info


async def main(node):
    late = await Zone.node(node, "late-pod")
    for i in range(3):
        try:
            await late.send_and_receive("recorder", f"stale-{i}", timeout=1)
            info(f"STALE {i} answered")
        except MessagingError as e:
            info(f"STALE {i} {type(e).__name__}: {e}")
    info("STALE SENT")
    while not await Zone.nodes(node, filter="late"):
        await asyncio.sleep(0.2)
    for _ in range(300):
        try:
            seen = await late.send_and_receive("recorder", "report", timeout=10)
            break
        except WorkerNotFound:
            await asyncio.sleep(0.1)
    info(f"SEEN {seen}")


Node.start(main)
