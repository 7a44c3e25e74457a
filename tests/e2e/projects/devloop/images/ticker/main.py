import asyncio

from autonomy import Node, info

VERSION = "one"


async def main(node):
    while True:
        info(f"tick {VERSION}")
        await asyncio.sleep(1)


Node.start(main)
