"""Benchmark `autonomy zone deploy` against plain `docker compose up -d`, in one run.

    python bench/deploy.py [--runs N] [--no-cold] [--json-out FILE]

* warm: `autonomy zone deploy` of examples/distribute (6 pods, images cached) versus
  `docker compose up -d` of the very Compose file that deploy rendered, alternating,
  N runs each (median). Deploy also checks the base image and the project's images
  (unchanged: not rebuilt), writes keys and waits until every node answers an encrypted
  ping; compose only starts. A warm-up deploy comes first (images built, bytecode written).
* cold: the same deploy from an engine without the base image and its root filesystems
  (their tags are removed; images other projects built on them keep their layers), the
  base image built offline (mmdebstrap rootfs + docker import) included.
Prints a table, then one JSON object. Leaves no zone behind.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import docker.errors

from autonomy_cli.docker.compose_cli import compose_args
from autonomy_cli.docker.rootfs import ROOTFS_REPOSITORY
from autonomy_cli.names import BASE_IMAGE

ROOT = Path(__file__).resolve().parents[1]
ZONE = "distribute"
PROJECT = ROOT / "examples" / ZONE


def sh(*cmd: str, env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return time.perf_counter() - t


def untag_base_images(client: docker.DockerClient) -> list[str]:
    """Remove the tags of the base image and its root filesystems, so that the next deploy
    builds them from nothing. By tag, not by id: an image other images are built on
    cannot be deleted (409 Conflict), but its tag can be removed (its layers stay for
    those images, unused by the next build)."""
    removed = []
    for img in client.images.list():
        for tag in img.tags:
            if tag.startswith((BASE_IMAGE + ":", ROOTFS_REPOSITORY + ":")):
                try:
                    client.images.remove(tag)
                except docker.errors.APIError as e:
                    raise SystemExit(f"cannot remove {tag} for the cold run: {e.explanation or e}") from None
                removed.append(tag)
    return removed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-cold", action="store_true", help="skip the cold deploy (it removes the base image)")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="autonomy-bench-"))
    env = dict(os.environ, AUTONOMY_HOME=str(home))
    # as on a user's machine: the first run leaves bytecode for the next ones (the Compose
    # tool it is measured against is installed with its bytecode)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    autonomy = [sys.executable, "-m", "autonomy_cli"]
    compose = compose_args(ZONE, home / "zones" / ZONE / "compose.yaml")
    client = docker.from_env()
    result: dict[str, object] = {"cpus": os.cpu_count()}
    try:
        sh(*autonomy, "zone", "deploy", "--dir", str(PROJECT), env=env)  # warm-up: images built
        ours, plain = [], []
        for _ in range(args.runs):
            sh(*compose, "down", "--timeout", "5", env=env)
            ours.append(sh(*autonomy, "zone", "deploy", "--dir", str(PROJECT), env=env))
            sh(*compose, "down", "--timeout", "5", env=env)
            plain.append(sh(*compose, "up", "-d", "--no-build", env=env))
        result["warm_deploy_s"] = round(statistics.median(ours), 2)
        result["compose_up_s"] = round(statistics.median(plain), 2)
        result["warm_ratio"] = round(result["warm_deploy_s"] / result["compose_up_s"], 2)  # type: ignore[operator]
        result["warm_runs"] = {"deploy": [round(x, 2) for x in ours], "compose_up": [round(x, 2) for x in plain]}
        sh(*autonomy, "zone", "delete", ZONE, "--images", env=env)
        if not args.no_cold:
            untag_base_images(client)
            result["cold_deploy_s"] = round(sh(*autonomy, "zone", "deploy", "--dir", str(PROJECT), env=env), 1)
    finally:
        subprocess.run([*autonomy, "zone", "delete", ZONE, "--images"], env=env, capture_output=True)
    print(f"{'measure':<58} {'seconds':>8}  goal")
    print(f"{'warm `autonomy zone deploy` (6 pods, median)':<58} {result['warm_deploy_s']:>8}")
    print(f"{'`docker compose up -d` of the same file (median)':<58} {result['compose_up_s']:>8}")
    print(f"{'ratio':<58} {result['warm_ratio']:>8}  <= 1.3")
    if "cold_deploy_s" in result:
        print(f"{'cold deploy, empty engine, offline base image included':<58} {result['cold_deploy_s']:>8}  <= 60")
    print(json.dumps(result))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
