"""``python -m autonomy.probe``: does every node of the zone answer an encrypted ping?

``autonomy zone deploy`` uses the zone's *probe* identity (a roster entry with ``"role":
"probe"``: admitted by every node's ZAP handler, never returned by ``Zone.nodes``) to
learn when every node is up. It pings in one of two ways:

* from the host, through :func:`ping_all` with ``endpoints``: when the host reaches the
  zone's bridge network, each node is pinged at its pod's address as soon as the engine
  publishes it (no container to start);
* in a throwaway container on the zone's network (``python -m autonomy.probe``), by the
  nodes' names. It prints one JSON object::

    {"answered": {"<node>": {"ms": 1.9, "workers": 2}, ...}, "silent": ["<node>", ...]}

  and exits 0 once every node named (default: every node of the roster) has answered,
  or when ``--wait`` seconds have passed (exit 1, the silent ones listed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

from .errors import MessagingError, NodeUnreachable
from .logs import configure
from .nodes.node import Node
from .settings import Settings

__all__ = ["ping_all", "probe_settings"]


def probe_settings(name: str, cluster: str, zone: str, roster_path: str, key_path: str) -> Settings:
    """Settings for a probe identity that runs outside the zone (no HTTP, nothing bound)."""
    return Settings(
        node=name,
        cluster=cluster,
        zone=zone,
        roster_path=roster_path,
        key_path=key_path,
        bind_host="127.0.0.1",
        http_host="127.0.0.1",
        http_port=0,
        log_level="WARNING",
        discovery_grace=0.0,
        ping_timeout=1.0,
        hwm=1000,
    )


async def ping_all(
    settings: Settings,
    names: list[str] | None,
    wait: float,
    *,
    endpoints: Mapping[str, str] | None = None,
    on_verdict: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Ping each named node of the roster (all when ``names`` is None) until it answers
    or ``wait`` seconds have passed; return ``{"answered": {...}, "silent": [...]}``.

    ``settings`` name the probe identity (roster and key files). With ``endpoints``, a
    node is reached at ``endpoints[name]`` instead of its roster endpoint, and is not
    pinged before that key appears (the mapping may be filled in by another thread
    meanwhile). ``on_verdict`` sees the result before the sockets close.
    """
    node = await Node.open(settings)
    assert node.roster is not None
    targets = [e.name for e in node.roster.nodes if e.role == "node" and (names is None or e.name in names)]
    answered: dict[str, dict[str, float | int]] = {}
    deadline = time.monotonic() + wait

    async def ping(name: str) -> None:
        if endpoints is not None:
            while name not in endpoints:
                if time.monotonic() >= deadline:
                    return
                await asyncio.sleep(0.02)
            node.reach(name, endpoints[name])
        t = time.perf_counter()
        while True:
            try:
                info = await node.ping(name, max(0.001, deadline - time.monotonic()))
                break
            except NodeUnreachable:
                # not listening yet (ZeroMQ could not connect): ask again until the deadline
                if time.monotonic() + 0.05 >= deadline:
                    return
                await asyncio.sleep(0.05)
            except MessagingError:
                return
        try:
            workers = int(info.get("workers", 0))
        except (TypeError, ValueError):
            return  # not a node's answer
        answered[name] = {"ms": round((time.perf_counter() - t) * 1000, 2), "workers": workers}

    try:
        await asyncio.gather(*(ping(n) for n in targets))
        result: dict[str, Any] = {"answered": answered, "silent": [n for n in targets if n not in answered]}
        if on_verdict is not None:
            on_verdict(result)
    finally:
        await node.close()
    return result


def _print(result: dict[str, Any]) -> None:
    # the verdict leaves before the sockets close: the deploy reads it from the log stream
    print(json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m autonomy.probe")
    ap.add_argument("--wait", type=float, default=60.0, help="seconds to wait for every node")
    ap.add_argument("--names", default="", help="comma-separated node names (default: all)")
    args = ap.parse_args(argv)
    configure("WARNING")
    names = [n for n in args.names.split(",") if n] or None
    result = asyncio.run(ping_all(Settings.from_env(), names, args.wait, on_verdict=_print))
    return 0 if not result["silent"] else 1


if __name__ == "__main__":
    sys.exit(main())
