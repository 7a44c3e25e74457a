"""Benchmark the node runtime against raw pyzmq, in one run, on this machine.

    python bench/runtime.py [--quick] [--json-out FILE]

Runs, one after the other on 127.0.0.1 (two processes each):
  * this runtime: in-node send_and_receive (with and without a timeout), a cross-process
    CURVE round trip of 100 B, pipelined round trips with 1000 in flight at 100 B and
    10 KiB, and the RSS of 10,000 idle workers;
  * the baseline: a raw pyzmq asyncio DEALER/ROUTER echo, plaintext and CURVE, same
    payloads, same window.
Prints a table, the goals, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

from autonomy.transport.roster import generate_keypair
from autonomy.testing import LocalPod, LocalZone, free_port


def run_raw(use_curve: bool, env: dict[str, str]) -> dict:
    port = free_port()
    keys = {}
    if use_curve:
        s, c = generate_keypair(), generate_keypair()
        keys = {
            "BENCH_SERVER_PUBLIC": s.public_key,
            "BENCH_SERVER_SECRET": s.secret_key,
            "BENCH_CLIENT_PUBLIC": c.public_key,
            "BENCH_CLIENT_SECRET": c.secret_key,
        }
    full = {**os.environ, **env, **keys}
    args = [str(port)] + (["curve"] if use_curve else [])
    server = subprocess.Popen(
        [sys.executable, str(HERE / "_raw.py"), "server", *args], env=full, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        out = subprocess.run(
            [sys.executable, str(HERE / "_raw.py"), "client", *args],
            env=full,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait()


def run_node(env: dict[str, str]) -> dict:
    zone = LocalZone(
        [
            LocalPod("server-pod", HERE / "_node_server.py", container="server"),
            LocalPod("client-pod", HERE / "_node_client.py", container="client"),
        ],
        env=env,
    )
    with zone:
        out = zone.wait_for("client-pod", "RESULT ", timeout=600)
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    env = {"BENCH_SERIAL": "1000", "BENCH_PIPE": "5000"} if args.quick else {}
    t0 = time.time()
    ours = run_node(env)
    raw_plain = run_raw(False, env)
    raw_curve = run_raw(True, env)

    rows = [
        ("in-node send_and_receive p50, timeout=10 (µs)", ours["innode_p50_us"], None, None, "<= 8"),
        ("in-node send_and_receive p50, no timeout (µs)", ours["innode_no_timeout_p50_us"], None, None, ""),
        (
            "cross-process round trip 100 B p50 (µs)",
            ours["rtt_p50_us"],
            raw_plain["rtt_p50_us"],
            raw_curve["rtt_p50_us"],
            "<= 250 and <= 1.3x raw plaintext",
        ),
        (
            "cross-process round trip 100 B p99 (µs)",
            ours["rtt_p99_us"],
            raw_plain["rtt_p99_us"],
            raw_curve["rtt_p99_us"],
            "",
        ),
        (
            "pipelined, 1000 in flight, 100 B (round trips/s)",
            ours["pipelined_100_per_s"],
            raw_plain["pipelined_100_per_s"],
            raw_curve["pipelined_100_per_s"],
            ">= 40000",
        ),
        (
            "pipelined, 1000 in flight, 10 KiB (round trips/s)",
            ours["pipelined_10240_per_s"],
            raw_plain["pipelined_10240_per_s"],
            raw_curve["pipelined_10240_per_s"],
            ">= 18000",
        ),
        ("idle worker RSS (bytes each)", ours["idle_worker_bytes"], None, None, "<= 1024"),
        ("10k idle workers over an empty node (MiB)", ours["idle_10k_mb"], None, None, "<= 10 MB"),
    ]
    goals = {
        "innode_p50_le_8us": ours["innode_p50_us"] <= 8,
        "rtt_p50_le_250us": ours["rtt_p50_us"] <= 250,
        "rtt_le_1.3x_raw_plaintext": ours["rtt_p50_us"] <= 1.3 * raw_plain["rtt_p50_us"],
        "pipelined_100B_ge_40k": ours["pipelined_100_per_s"] >= 40_000,
        "pipelined_10KiB_ge_18k": ours["pipelined_10240_per_s"] >= 18_000,
        "idle_worker_le_1KB": ours["idle_worker_bytes"] <= 1024,
    }
    w = max(len(r[0]) for r in rows)
    fmt = lambda v: "" if v is None else (f"{v:,.1f}" if isinstance(v, float) else f"{v:,}")
    print(f"{'measure':<{w}}  {'autonomy (CURVE)':>17}  {'raw plaintext':>14}  {'raw CURVE':>10}  goal")
    for name, a, b, c, goal in rows:
        print(f"{name:<{w}}  {fmt(a):>17}  {fmt(b):>14}  {fmt(c):>10}  {goal}")
    ratio = ours["rtt_p50_us"] / raw_plain["rtt_p50_us"]
    print(
        f"round trip vs raw plaintext: {ratio:.2f}x; goals met: {sum(goals.values())}/{len(goals)}; "
        f"{time.time() - t0:.0f} s; {os.cpu_count()} CPUs"
    )
    result = {
        "autonomy": ours,
        "raw_plaintext": raw_plain,
        "raw_curve": raw_curve,
        "rtt_ratio_vs_raw_plaintext": round(ratio, 3),
        "goals": goals,
        "quick": args.quick,
    }
    print(json.dumps(result))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
