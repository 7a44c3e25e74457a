"""A node that logs: a tick a second (1st, 6th, 11th... a WARNING), and on demand a burst.

Every line carries this run's boot id, so a line shown twice is a line emitted twice.
`touch /tmp/burst` in the container (docker exec) makes it log 1,000 lines a second for
5 seconds, then "<who> burst done <boot>".
"""

import asyncio
import os
import secrets

from autonomy import Node, info, warning

WHO = os.environ.get("WHO", "?")
BOOT = secrets.token_hex(4)
VERSION = os.environ.get("VERSION", "1")


async def burst() -> None:
    n = 0
    for _ in range(100):  # 100 x 50 ms, 50 lines each: 1,000 lines/s for 5 s
        for _ in range(50):
            n += 1
            info(f"{WHO} burst {BOOT} {n}")
        await asyncio.sleep(0.05)
    info(f"{WHO} burst done {BOOT}")


async def main(node):
    print(f"{WHO} plain print {BOOT}", flush=True)
    info(f"{WHO} started boot={BOOT} version={VERSION}")
    i = 0
    while True:
        i += 1
        (warning if i % 5 == 1 else info)(f"{WHO} tick {BOOT} {i}")
        if os.path.exists("/tmp/burst"):
            os.remove("/tmp/burst")
            asyncio.ensure_future(burst())
        await asyncio.sleep(1)


Node.start(main)
