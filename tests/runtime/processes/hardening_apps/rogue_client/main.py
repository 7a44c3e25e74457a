"""Calls a rogue node (a raw ROUTER the test runs) whose every answer is malformed.

Prints one line per case: the exception's class, whether it is one of the runtime's
errors, how long the call took, and its text.
"""

import time

from autonomy import MessagingError, Node, Zone, info

REQUESTS = ["bad_utf8", "err_not_json", "err_list", "err_bad_utf8", "err_deep", "err_empty_object", "wrong_kind"]
LISTS = 7  # the rogue node answers its n-th LIST with the n-th of its bad lists


async def case(name, call):
    t = time.monotonic()
    try:
        result = await call()
    except BaseException as e:
        ours = isinstance(e, MessagingError) and isinstance(e, RuntimeError)
        info(f"CASE {name}: {type(e).__name__} ours={ours} s={time.monotonic() - t:.2f} text={e}")
    else:
        info(f"CASE {name}: NO ERROR s={time.monotonic() - t:.2f} result={result!r}")


async def main(node):
    rogue = await Zone.node(node, "rogue-pod")
    for target in REQUESTS:
        await case(target, lambda target=target: rogue.send_and_receive(target, "hi", timeout=20))
    for i in range(LISTS):
        await case(f"list_{i}", rogue.list_workers)
    info("ROGUE DONE")


Node.start(main)
