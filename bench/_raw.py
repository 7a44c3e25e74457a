"""The baseline: raw pyzmq asyncio DEALER/ROUTER echo, plaintext or CURVE.

    python _raw.py server PORT [curve]       echo every message back
    python _raw.py client PORT [curve]       measure, print JSON
Keys for CURVE come from the environment (BENCH_SERVER_PUBLIC/SECRET, BENCH_CLIENT_...).
"""

import asyncio
import json
import os
import sys
import time

import zmq
import zmq.asyncio


def curve(sock, server):
    env = os.environ
    if server:
        sock.curve_server = True
        sock.curve_publickey = env["BENCH_SERVER_PUBLIC"].encode()
        sock.curve_secretkey = env["BENCH_SERVER_SECRET"].encode()
    else:
        sock.curve_serverkey = env["BENCH_SERVER_PUBLIC"].encode()
        sock.curve_publickey = env["BENCH_CLIENT_PUBLIC"].encode()
        sock.curve_secretkey = env["BENCH_CLIENT_SECRET"].encode()


async def server(port, use_curve):
    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.sndhwm = sock.rcvhwm = 100_000
    if use_curve:
        curve(sock, True)
    sock.bind(f"tcp://127.0.0.1:{port}")
    print("ready", flush=True)
    while True:
        frames = await sock.recv_multipart()
        await sock.send_multipart(frames)


async def client(port, use_curve, serial_n, pipe_n, window):
    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.sndhwm = sock.rcvhwm = 100_000
    if use_curve:
        curve(sock, False)
    sock.connect(f"tcp://127.0.0.1:{port}")
    out = {}
    for size in (100, 10240):
        payload = b"x" * size
        for _ in range(500):
            await sock.send_multipart([b"0", payload])
            await sock.recv_multipart()
        if size == 100:
            lat = []
            for _ in range(serial_n):
                t = time.perf_counter_ns()
                await sock.send_multipart([b"0", payload])
                await sock.recv_multipart()
                lat.append(time.perf_counter_ns() - t)
            lat.sort()
            out["rtt_p50_us"] = lat[len(lat) // 2] / 1000
            out["rtt_p99_us"] = lat[len(lat) * 99 // 100] / 1000
        # pipelined: `window` requests in flight, correlated by id like a real client would
        pending = {}
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        async def reader(pending, done):
            while pending or not done.is_set():
                frames = await sock.recv_multipart()
                fut = pending.pop(frames[0], None)
                if fut is not None:
                    fut.set_result(frames[1])

        rt = asyncio.create_task(reader(pending, done))
        counter = iter(range(10**9))

        async def one_lane(k, pending, counter, payload, loop):
            for _ in range(k):
                cid = str(next(counter)).encode()
                fut = loop.create_future()
                pending[cid] = fut
                await sock.send_multipart([cid, payload])
                await fut

        t = time.perf_counter()
        await asyncio.gather(*(one_lane(pipe_n // window, pending, counter, payload, loop) for _ in range(window)))
        elapsed = time.perf_counter() - t
        done.set()
        rt.cancel()
        out[f"pipelined_{size}_per_s"] = round(pipe_n / elapsed)
    print(json.dumps(out), flush=True)


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    use_curve = len(sys.argv) > 3 and sys.argv[3] == "curve"
    if mode == "server":
        asyncio.run(server(port, use_curve))
    else:
        asyncio.run(
            client(
                port,
                use_curve,
                int(os.environ.get("BENCH_SERIAL", 5000)),
                int(os.environ.get("BENCH_PIPE", 20000)),
                int(os.environ.get("BENCH_WINDOW", 1000)),
            )
        )


if __name__ == "__main__":
    main()
