"""Bench node under a flood: ``BENCH_ROLE=flooder`` pushes fire-and-forget messages at the
server's echo worker without pause; ``BENCH_ROLE=prober`` measures its own round trips to
the same worker meanwhile and prints one ``RESULT`` JSON line."""

import asyncio
import json
import os
import time

from autonomy import Node, Zone


async def flood(server):
    payload = "f" * 100
    while True:
        for _ in range(1000):
            await server.send_message("echo", payload)
        await asyncio.sleep(0)


async def probe(server, n):
    await asyncio.sleep(2)  # let the flood build up
    payload = "x" * 100
    lat = []
    for _ in range(n):
        t = time.perf_counter_ns()
        await server.send_and_receive("echo", payload, timeout=30)
        lat.append(time.perf_counter_ns() - t)
    lat.sort()
    out = {"flood_rtt_p50_us": lat[len(lat) // 2] / 1000, "flood_rtt_p99_us": lat[len(lat) * 99 // 100] / 1000}
    print("RESULT " + json.dumps(out), flush=True)


async def main(node):
    server = (await Zone.nodes(node, filter="server"))[0]
    await server.send_and_receive("echo", "warm", timeout=30)
    if os.environ.get("BENCH_ROLE") == "flooder":
        await flood(server)
    else:
        await probe(server, int(os.environ.get("BENCH_FLOOD_SAMPLES", 2000)))


Node.start(main)
