"""The node's small HTTP server: ``GET /health`` and ``GET /workers`` as JSON.

Plain asyncio streams, one request per connection: it answers probes and people, not
traffic. A port already taken (say by another container of the same pod, which shares
the network namespace) is logged and the node goes on without HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Protocol

__all__ = ["serve_http", "Served"]

log = logging.getLogger("autonomy.http")
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 400: "Bad Request"}


class Served(Protocol):
    """What the HTTP server needs of a node: its name, its health, its workers."""

    @property
    def name(self) -> str: ...

    def health(self) -> dict[str, Any]: ...

    async def list_workers(self) -> list[dict[str, Any]]: ...


async def _body(node: Served, path: str) -> tuple[int, Any]:
    if path == "/health":
        return 200, node.health()
    if path == "/workers":
        return 200, {"node": node.name, "workers": await node.list_workers()}
    return 404, {"error": f"no such path: {path}"}


async def _handle(node: Served, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        line = await asyncio.wait_for(reader.readline(), 10)
        parts = line.decode("latin-1").split()
        for _ in range(100):  # skip headers (a bounded number of them)
            h = await asyncio.wait_for(reader.readline(), 10)
            if h in (b"\r\n", b"\n", b""):
                break
        if len(parts) < 2:
            status, body = 400, {"error": "bad request"}
        elif parts[0] not in ("GET", "HEAD"):
            status, body = 405, {"error": "only GET"}
        else:
            status, body = await _body(node, parts[1].split("?", 1)[0])
        data = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}\r\n\r\n"
        ).encode()
        writer.write(head + (data if parts and parts[0] != "HEAD" else b""))
        await writer.drain()
    except (TimeoutError, ConnectionError, ValueError):  # ValueError: a line over 64 KiB, bad bytes
        pass
    finally:
        writer.close()


async def serve_http(node: Served, host: str, port: int) -> asyncio.AbstractServer | None:
    """Start serving; returns None (and logs) when the port is taken."""
    try:
        server = await asyncio.start_server(lambda r, w: _handle(node, r, w), host, port, reuse_address=True)
    except OSError as e:
        log.warning("HTTP port %d is taken (%s); this node serves no HTTP", port, e.strerror)
        return None
    log.info("HTTP on %s:%d (/health, /workers)", host, port)
    return server
