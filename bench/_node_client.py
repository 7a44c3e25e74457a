"""Bench client node: in-node and cross-node measurements; prints one JSON line."""

import asyncio
import gc
import json
import os
import time

from autonomy import Node, Zone


class Echo:
    async def handle_message(self, context, message):
        await context.reply(message)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def main(node):
    out = {}
    serial_n = int(os.environ.get("BENCH_SERIAL", 5000))
    pipe_n = int(os.environ.get("BENCH_PIPE", 20000))
    window = int(os.environ.get("BENCH_WINDOW", 1000))

    # idle workers: RSS over the same node before they exist
    gc.collect()
    before = rss_bytes()
    n_idle = 10_000
    for i in range(n_idle):
        await node.start_worker(f"idle-{i}", Echo())
    gc.collect()
    out["idle_worker_bytes"] = round((rss_bytes() - before) / n_idle)
    out["idle_10k_mb"] = round((rss_bytes() - before) / 2**20, 2)
    for i in range(n_idle):
        await node.stop_worker(f"idle-{i}")

    await node.start_worker("echo", Echo())
    msg = "x" * 100
    for timeout in (10, None):
        for _ in range(2000):
            await node.send_and_receive("echo", msg, timeout=timeout)
        lat = []
        pc = time.perf_counter_ns
        for _ in range(20000):
            t = pc()
            await node.send_and_receive("echo", msg, timeout=timeout)
            lat.append(pc() - t)
        lat.sort()
        key = "innode" if timeout else "innode_no_timeout"
        out[f"{key}_p50_us"] = lat[len(lat) // 2] / 1000
        out[f"{key}_p99_us"] = lat[len(lat) * 99 // 100] / 1000

    server = (await Zone.nodes(node, filter="server"))[0]
    for size in (100, 10240):
        payload = "x" * size
        for _ in range(500):
            await server.send_and_receive("echo", payload, timeout=10)
        if size == 100:
            lat = []
            for _ in range(serial_n):
                t = time.perf_counter_ns()
                await server.send_and_receive("echo", payload, timeout=10)
                lat.append(time.perf_counter_ns() - t)
            lat.sort()
            out["rtt_p50_us"] = lat[len(lat) // 2] / 1000
            out["rtt_p99_us"] = lat[len(lat) * 99 // 100] / 1000

        async def lane(k, payload):
            for _ in range(k):
                await server.send_and_receive("echo", payload, timeout=30)

        t = time.perf_counter()
        await asyncio.gather(*(lane(pipe_n // window, payload) for _ in range(window)))
        out[f"pipelined_{size}_per_s"] = round(pipe_n / (time.perf_counter() - t))
    print("RESULT " + json.dumps(out), flush=True)


Node.start(main)
