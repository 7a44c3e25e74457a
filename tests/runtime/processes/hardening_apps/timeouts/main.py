"""Timeouts that are not numbers >= 0, timeouts after those, and calls to a node that is down.

Every call runs under an outer ``asyncio.wait_for`` guard, so a call that would hang
prints ``HUNG`` instead of blocking the test.
"""

import asyncio
import math
import time

from autonomy import MessagingError, Node, Zone, info

BAD = {"nan": math.nan, "inf": math.inf, "minus_inf": -math.inf, "minus_one": -1.0}


class Echo:
    async def handle_message(self, context, message):
        await context.reply(message)


class Silent:
    async def handle_message(self, context, message):
        pass


async def case(name, call, guard=60.0):
    t = time.monotonic()
    try:
        result = await asyncio.wait_for(call(), guard)
    except MessagingError as e:
        info(f"CASE {name}: {type(e).__name__} ours=True s={time.monotonic() - t:.2f} text={e}")
    except TimeoutError:
        info(f"CASE {name}: HUNG s={time.monotonic() - t:.2f}")
    except Exception as e:
        info(f"CASE {name}: {type(e).__name__} ours=False s={time.monotonic() - t:.2f} text={e}")
    else:
        info(f"CASE {name}: NO ERROR s={time.monotonic() - t:.2f} result={result!r}")


async def main(node):
    await node.start_worker("echo", Echo())
    await node.start_worker("silent", Silent())
    target = (await Zone.nodes(node, filter="target"))[0]
    await target.send_and_receive("echo", "warm", timeout=60)
    for label, value in BAD.items():
        await case(f"local_{label}", lambda v=value: node.send_and_receive("echo", "x", timeout=v))
        await case(f"remote_{label}", lambda v=value: target.send_and_receive("echo", "x", timeout=v))
        await case(f"via_node_{label}", lambda v=value: node.send_and_receive("echo", "x", node=target, timeout=v))
    # timeouts still fire after the refused ones
    await case("local_after", lambda: node.send_and_receive("silent", "x", timeout=0.5), guard=30)
    await case("remote_after", lambda: target.send_and_receive("slow", "x", timeout=0.5), guard=30)

    down = await Zone.node(node, "down-pod")
    await case("down_timeout", lambda: down.send_and_receive("echo", "x", timeout=5))
    await case("down_default", lambda: down.send_and_receive("echo", "x"))
    await case("down_again", lambda: down.send_and_receive("echo", "x", timeout=30))
    await case("down_list", down.list_workers)
    info("TIMEOUTS DONE")


Node.start(main)
