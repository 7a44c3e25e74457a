"""pid 1 of a pod's infra container: ``python3 -m autonomy.clusters.infra [--forward P=HOST:PORT]...``.

The infra container owns the pod's network namespace. Without options it does nothing
else: it sleeps without using CPU. It exits at once on SIGTERM or SIGINT (a plain pid 1
ignores SIGTERM, which would cost the whole stop grace period on every stop).

Each ``--forward P=HOST:PORT`` is one portal outlet: a TCP forwarder listening on
``0.0.0.0:P`` inside the pod's namespace that connects every connection to
``HOST:PORT`` from inside the pod and copies bytes both ways. Docker publishes the
outlet's host port to ``P``; a publish alone reaches only sockets bound to the pod's
external address, while through the forwarder ``localhost:7000`` means the pod's own
loopback, as an outlet says (servers bound to 127.0.0.1 or 0.0.0.0 are both reached).
``HOST`` may also name another host of the zone (``db-pod``): it is resolved from inside
the pod at each connection. A connection whose target refuses or does not answer within
:data:`CONNECT_TIMEOUT` s is closed; a half-close is passed on.

Standard library only (the container has 32 MiB); one asyncio loop, no thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

__all__ = ["CONNECT_TIMEOUT", "Forward", "main", "parse_forward", "start"]

CONNECT_TIMEOUT = 5.0
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Forward:
    """Listen on ``listen_host:listen_port``; connect each connection to ``host:port``."""

    listen_port: int
    host: str
    port: int
    listen_host: str = "0.0.0.0"


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise ValueError(f"bad port {text!r} in {spec!r}")
    return int(text)


def parse_forward(spec: str) -> Forward:
    """``61000=127.0.0.1:7000`` -> Forward(61000, "127.0.0.1", 7000); ValueError if malformed."""
    listen, sep, target = spec.partition("=")
    host, colon, port = target.rpartition(":")
    if not sep or not colon or not host:
        raise ValueError(f"expected <port>=<host>:<port>, got {spec!r}")
    host = host.strip("[]")
    if host == "localhost":
        host = "127.0.0.1"  # the pod's loopback, never ::1 (servers bind 127.0.0.1 or 0.0.0.0)
    return Forward(_port(listen, spec), host, _port(port, spec))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # pass the half-close on; the other way may still talk
    except (OSError, RuntimeError):
        writer.close()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError, RuntimeError):
        await writer.wait_closed()


def _handler(fwd: Forward) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            target_r, target_w = await asyncio.wait_for(
                asyncio.open_connection(fwd.host, fwd.port), timeout=CONNECT_TIMEOUT
            )
        except (TimeoutError, OSError):
            await _close(client_w)  # nothing listens there (yet): the connection just closes
            return
        try:
            await asyncio.gather(_pipe(client_r, target_w), _pipe(target_r, client_w))
        finally:
            await _close(target_w)
            await _close(client_w)

    return handle


async def start(forwards: Sequence[Forward]) -> list[asyncio.Server]:
    """Start listening for every forward (``reuse_address``: a restart rebinds at once)."""
    servers = []
    for fwd in forwards:
        servers.append(
            await asyncio.start_server(
                _handler(fwd),
                fwd.listen_host,
                fwd.listen_port,
                reuse_address=True,
            )
        )
    return servers


def _exit(signum: int, frame: object) -> None:
    sys.exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    forwards: list[Forward] = []
    while args:
        flag = args.pop(0)
        if flag != "--forward" or not args:
            sys.exit(f"usage: python3 -m autonomy.clusters.infra [--forward <port>=<host>:<port>]... (got {flag!r})")
        try:
            forwards.append(parse_forward(args.pop(0)))
        except ValueError as e:
            sys.exit(str(e))
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)
    if not forwards:
        while True:
            signal.pause()
    asyncio.run(_forward_until_stopped(forwards))


async def _forward_until_stopped(forwards: Sequence[Forward]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    servers = await start(forwards)
    await stop.wait()
    for server in servers:
        server.close()
    os._exit(0)  # at once: open connections are the kernel's to reset


if __name__ == "__main__":
    main()
