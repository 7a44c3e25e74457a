"""Benchmark the node runtime against raw pyzmq, on this machine, in interleaved rounds.

    python bench/runtime.py [--quick] [--rounds N] [--json-out FILE]

Each round runs, one after the other on 127.0.0.1 (two processes each):
  * this runtime: in-node send_and_receive (with and without a timeout), a cross-process
    CURVE round trip of 100 B (p50 and p99), pipelined round trips with 1000 in flight at
    100 B and 10 KiB, and the RSS of 10,000 idle workers;
  * the baseline: a raw pyzmq asyncio DEALER/ROUTER echo, plaintext and CURVE, same
    payloads, same window;
  * under a flood: a third node pushes fire-and-forget messages at the server's echo
    worker without pause while a second peer measures its own round trips (p50, p99).
Rounds interleave the runs so that a slow minute of a shared machine hits all of them;
the table shows the median of the rounds. Prints the table, the goals, then one JSON
object (every round's figures and the medians).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from autonomy.testing import LocalPod, LocalZone, free_port
from autonomy.transport.roster import generate_keypair

HERE = Path(__file__).resolve().parent


def run_raw(use_curve: bool, env: dict[str, str]) -> dict[str, Any]:
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
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        server.terminate()
        server.wait()


def _result(zone: LocalZone, instance: str) -> dict[str, Any]:
    out = zone.wait_for(instance, "RESULT ", timeout=600)
    line = next(line for line in out.splitlines() if "RESULT " in line)
    return dict(json.loads(line.split("RESULT ", 1)[1]))


def run_node(env: dict[str, str]) -> dict[str, Any]:
    zone = LocalZone(
        [
            LocalPod("server-pod", HERE / "_node_server.py", container="server"),
            LocalPod("client-pod", HERE / "_node_client.py", container="client"),
        ],
        env=env,
    )
    with zone:
        return _result(zone, "client-pod")


def run_flood(env: dict[str, str]) -> dict[str, Any]:
    zone = LocalZone(
        [
            LocalPod("server-pod", HERE / "_node_server.py", container="server"),
            LocalPod("flooder-pod", HERE / "_node_flood.py", container="flooder", env={"BENCH_ROLE": "flooder"}),
            LocalPod("prober-pod", HERE / "_node_flood.py", container="prober", env={"BENCH_ROLE": "prober"}),
        ],
        env=env,
    )
    with zone:
        return _result(zone, "prober-pod")


def _median(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the table shows their medians")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    env = {"BENCH_SERIAL": "1000", "BENCH_PIPE": "5000", "BENCH_FLOOD_SAMPLES": "500"} if args.quick else {}
    t0 = time.time()
    runs: dict[str, list[dict[str, Any]]] = {"autonomy": [], "raw_plaintext": [], "raw_curve": [], "flood": []}
    for _ in range(max(1, args.rounds)):
        runs["autonomy"].append(run_node(env))
        runs["raw_plaintext"].append(run_raw(False, env))
        runs["raw_curve"].append(run_raw(True, env))
        runs["flood"].append(run_flood(env))
    ours, raw_plain, raw_curve, flood = (_median(runs[k]) for k in ("autonomy", "raw_plaintext", "raw_curve", "flood"))

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
            "<= 1.5x raw plaintext",
        ),
        ("second peer's round trip under a flood, p50 (µs)", flood["flood_rtt_p50_us"], None, None, ""),
        ("second peer's round trip under a flood, p99 (µs)", flood["flood_rtt_p99_us"], None, None, "< 1 s"),
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
        "rtt_p99_le_1.5x_raw_plaintext": ours["rtt_p99_us"] <= 1.5 * raw_plain["rtt_p99_us"],
        "flood_p99_lt_1s": flood["flood_rtt_p99_us"] < 1_000_000,
        "pipelined_100B_ge_40k": ours["pipelined_100_per_s"] >= 40_000,
        "pipelined_10KiB_ge_18k": ours["pipelined_10240_per_s"] >= 18_000,
        "idle_worker_le_1KB": ours["idle_worker_bytes"] <= 1024,
    }
    w = max(len(r[0]) for r in rows)

    def fmt(v: float | None) -> str:
        return "" if v is None else (f"{v:,.1f}" if isinstance(v, float) else f"{v:,}")

    print(f"medians of {len(runs['autonomy'])} interleaved round(s)")
    print(f"{'measure':<{w}}  {'autonomy (CURVE)':>17}  {'raw plaintext':>14}  {'raw CURVE':>10}  goal")
    for name, a, b, c, goal in rows:
        print(f"{name:<{w}}  {fmt(a):>17}  {fmt(b):>14}  {fmt(c):>10}  {goal}")
    ratio = ours["rtt_p50_us"] / raw_plain["rtt_p50_us"]
    ratio99 = ours["rtt_p99_us"] / raw_plain["rtt_p99_us"]
    print(
        f"round trip vs raw plaintext: p50 {ratio:.2f}x, p99 {ratio99:.2f}x; "
        f"goals met: {sum(goals.values())}/{len(goals)}; {time.time() - t0:.0f} s; {os.cpu_count()} CPUs"
    )
    result = {
        "autonomy": ours,
        "raw_plaintext": raw_plain,
        "raw_curve": raw_curve,
        "flood": flood,
        "rounds": runs,
        "rtt_ratio_vs_raw_plaintext": round(ratio, 3),
        "rtt_p99_ratio_vs_raw_plaintext": round(ratio99, 3),
        "goals": goals,
        "quick": args.quick,
    }
    print(json.dumps(result))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
