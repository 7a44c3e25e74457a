import asyncio
import socket

from autonomy import Node


async def main(node):
    for _ in range(60):
        try:
            with socket.create_connection(("localhost", 7001), timeout=2) as s:
                print(f"SHARED OK: {s.recv(100).decode()}", flush=True)
                return
        except OSError:
            await asyncio.sleep(0.5)
    print("SHARED FAILED", flush=True)


Node.start(main)
