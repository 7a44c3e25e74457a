import asyncio
import socket

from autonomy import Node, Zone


async def main(node):
    # wait until the pair pod's server runs, then try its port on our own localhost
    await Zone.nodes(node, filter="pair")
    await asyncio.sleep(1)
    try:
        socket.create_connection(("localhost", 7001), timeout=2).close()
        print("ISOLATION BROKEN: reached another pod's localhost", flush=True)
    except OSError as e:
        print(f"ISOLATED OK ({type(e).__name__})", flush=True)


Node.start(main)
