"""``python -m autonomy.probe``: does every node of the zone answer an encrypted ping?

Run by ``autonomy zone deploy`` in a throwaway container on the zone's network, with the
zone's *probe* identity (a roster entry with ``"role": "probe"``: admitted by every
node's ZAP handler, never returned by ``Zone.nodes``). Prints one JSON object::

    {"answered": {"<node>": {"ms": 1.9, "workers": 2}, ...}, "silent": ["<node>", ...]}

and exits 0 once every node named (default: every node of the roster) has answered, or
when ``--wait`` seconds have passed (exit 1, the silent ones listed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from ._errors import MessagingError
from ._logging import configure
from ._node import Node
from ._settings import Settings
from ._wire import Kind

__all__: list[str] = []


async def _probe(names: list[str] | None, wait: float) -> dict[str, object]:
    node = Node(Settings.from_env())
    await node._open()
    assert node.roster is not None
    targets = [e.name for e in node.roster.nodes if e.role == "node" and (names is None or e.name in names)]
    answered: dict[str, dict[str, float | int]] = {}

    async def ping(name: str) -> None:
        t = time.perf_counter()
        try:
            info = json.loads(await node._request(name, Kind.PING, "", b"", wait))
        except MessagingError:
            return
        answered[name] = {"ms": round((time.perf_counter() - t) * 1000, 2), "workers": int(info.get("workers", 0))}

    try:
        await asyncio.gather(*(ping(n) for n in targets))
    finally:
        await node._close()
    return {"answered": answered, "silent": [n for n in targets if n not in answered]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m autonomy.probe")
    ap.add_argument("--wait", type=float, default=60.0, help="seconds to wait for every node")
    ap.add_argument("--names", default="", help="comma-separated node names (default: all)")
    args = ap.parse_args(argv)
    configure("WARNING")
    names = [n for n in args.names.split(",") if n] or None
    result = asyncio.run(_probe(names, args.wait))
    print(json.dumps(result), flush=True)
    return 0 if not result["silent"] else 1


if __name__ == "__main__":
    sys.exit(main())
