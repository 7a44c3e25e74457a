"""Calls the slow worker of the target pod, then reports what its caller heard.

``WAITER_MODE=request``: one ``send_and_receive`` that the slow worker never answers.
``WAITER_MODE=queue``: ``WAITER_COUNT`` fire-and-forget messages that queue behind it.
"""

import os

from autonomy import MessagingError, Node, Zone, info


async def main(node):
    target = (await Zone.nodes(node, filter="target"))[0]
    await target.send_and_receive("echo", "hello", timeout=60)
    if os.environ.get("WAITER_MODE", "request") == "queue":
        count = int(os.environ["WAITER_COUNT"])
        for i in range(count):
            await target.send_message("slow", str(i))
        info(f"QUEUED {count}")
        return
    info("WAITING on slow")
    try:
        await target.send_and_receive("slow", "wait", timeout=300)
        info("CALLER GOT a reply")
    except MessagingError as e:
        info(f"CALLER GOT {type(e).__name__}: {e}")
    except BaseException as e:
        info(f"CALLER GOT unexpected {type(e).__name__}: {e}")
        raise


Node.start(main)
