"""Starting the node's web server without making the node wait for it.

Every node serves HTTP: the built-in routes (``/health``, ``/workers``, ``/agents``,
``/tools``, ``/logs/levels``, ``/docs``) and whatever app the user hands to
``Node.start(http_server=HttpServer(...))`` (:mod:`autonomy.nodes.http`). FastAPI and
uvicorn take a second or more to import on a quarter of a CPU, and the node must answer
its peers' pings long before that, so:

1. :meth:`WebServer.open`, called once the node's sockets are open, binds and listens
   on the HTTP port at once (no import). A port already taken is logged and the node
   goes on without HTTP; a client that connects early waits in the listen backlog.
2. A background task imports :mod:`autonomy.nodes.http` (FastAPI, uvicorn) and builds
   the app's routes in a daemon thread, the event loop meanwhile serving messages, then
   serves on that socket.
3. When FastAPI or uvicorn cannot be imported (an image without them), a small
   built-in server answers ``/health``, ``/workers`` and ``/agents`` (the list, as
   ``{"agents": [...]}``) on the same socket instead, so ``autonomy zone status`` still
   learns what such a node runs.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl

from ..settings import Settings

__all__ = ["WebServer", "Served", "App", "bind", "workers_body", "WEB_MODULE"]

log = logging.getLogger("autonomy.http")
#: the module with FastAPI in it, imported off the event loop
WEB_MODULE = "autonomy.nodes.http"
T = TypeVar("T")
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed"}


class Served(Protocol):
    """What the web server needs of a node: its name, its health, its workers, its agents."""

    @property
    def name(self) -> str: ...

    def health(self) -> dict[str, Any]: ...

    async def list_workers(self) -> list[dict[str, Any]]: ...

    async def list_agents(self) -> list[dict[str, Any]]: ...


class App(Protocol):
    """What the runtime needs of an :class:`~autonomy.nodes.http.HttpServer`."""

    #: (host, port) the user asked for; None: the node's settings decide
    explicit_address: tuple[str, int] | None

    def prepare(self, node: Any, settings: Settings) -> None: ...

    async def serve_on(self, sock: socket.socket) -> None: ...

    def stop(self) -> None: ...


async def workers_body(node: Served) -> dict[str, Any]:
    """What ``GET /workers`` answers: ``{"node": name, "workers": [{"name": ...}, ...]}``."""
    return {"node": node.name, "workers": await node.list_workers()}


def bind(host: str, port: int) -> socket.socket | None:
    """A listening TCP socket on (host, port); None (logged) when the port is taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        log.warning("HTTP address %s:%d cannot be used (%s); this node serves no HTTP", host, port, e)
        return None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        log.warning("HTTP port %d is taken (%s); this node serves no HTTP", port, e.strerror or e)
        return None
    sock.setblocking(False)
    return sock


def _in_thread(loop: asyncio.AbstractEventLoop, work: Callable[[], T]) -> asyncio.Future[T]:
    """Run ``work()`` in a daemon thread (a stop never waits for it); its result, or its
    exception, arrives in the returned future."""
    fut: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not fut.done():
            fut.set_result(value) if ok else fut.set_exception(value)

    def run() -> None:
        try:
            value = work()
        except BaseException as e:  # ImportError, or anything a broken install raises
            loop.call_soon_threadsafe(settle, False, e)
        else:
            loop.call_soon_threadsafe(settle, True, value)

    threading.Thread(target=run, name="autonomy-web", daemon=True).start()
    return fut


class WebServer:
    """The node's web server: a socket bound at once, the app served when it is loaded."""

    def __init__(self, node: Served, app: App | None, settings: Settings) -> None:
        self._node = node
        self._app = app
        self._settings = settings
        self._sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None
        self._plain: asyncio.AbstractServer | None = None
        self._closing = False
        self._serving = False

    def address(self) -> tuple[str, int] | None:
        """Where to listen: the user's ``listen_address`` if given, else the settings'
        ``AUTONOMY_HTTP_HOST``/``AUTONOMY_HTTP_PORT`` (None when that port is 0)."""
        explicit = self._app.explicit_address if self._app is not None else None
        if explicit is not None:
            return explicit
        s = self._settings
        return (s.http_host, s.http_port) if s.http_port else None

    def open(self) -> None:
        """Bind the port and start serving in the background; never waits for imports."""
        address = self.address()
        if address is None:
            return
        self._sock = bind(*address)
        if self._sock is None:
            return
        self._task = asyncio.get_running_loop().create_task(self._run(self._sock))

    async def _run(self, sock: socket.socket) -> None:
        app, loop = self._app, asyncio.get_running_loop()
        try:
            if app is None:
                try:
                    module = await _in_thread(loop, lambda: importlib.import_module(WEB_MODULE))
                except ImportError as e:
                    log.warning("no FastAPI or uvicorn here (%s): serving only /health, /workers and /agents", e)
                    self._plain = await asyncio.start_server(self._handle, sock=sock)
                    log.info("HTTP on %s:%d (/health, /workers, /agents)", *sock.getsockname()[:2])
                    return
                app = module.HttpServer()
            ready = app
            await _in_thread(loop, lambda: ready.prepare(self._node, self._settings))  # routes: CPU work
            if self._closing:
                return
            self._app, self._serving = app, True
            await app.serve_on(sock)
            if not self._closing:  # uvicorn gave up (an app whose startup failed)
                log.error("the web server stopped; this node serves no HTTP")
        except asyncio.CancelledError:
            raise
        except BaseException:  # SystemExit from uvicorn too: the node goes on without HTTP
            log.exception("the web server stopped; this node serves no HTTP")

    async def close(self, grace: float = 5.0) -> None:
        """Stop serving: requests in flight get up to ``grace`` seconds to finish; a
        server still loading is dropped at once."""
        self._closing = True
        if self._plain is not None:
            self._plain.close()
        task = self._task
        if task is not None and not task.done():
            if self._serving and self._app is not None:
                self._app.stop()
                await asyncio.wait({task}, timeout=grace)
            task.cancel()  # still loading: nothing to finish
        if self._sock is not None:
            self._sock.close()

    # ------------------------------------------------------------------ the plain server

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One request per connection: ``/health``, ``/workers``, ``/agents`` as JSON, else 404."""
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            parts = line.decode("latin-1").split()
            for _ in range(100):  # skip headers (a bounded number of them)
                h = await asyncio.wait_for(reader.readline(), 10)
                if h in (b"\r\n", b"\n", b""):
                    break
            status, body = await self._route(parts)
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

    async def _route(self, parts: list[str]) -> tuple[int, Any]:
        if len(parts) < 2:
            return 400, {"detail": "bad request"}
        if parts[0] not in ("GET", "HEAD"):
            return 405, {"detail": "only GET"}
        path, _, query = parts[1].partition("?")
        key = self._settings.api_key
        if key and not any(
            secrets.compare_digest(v.encode(), key.encode())
            for k, v in parse_qsl(query, keep_blank_values=True)
            if k == "api_key"
        ):
            return 401, {"detail": "Invalid or missing API key"}
        if path == "/health":
            return 200, self._node.health()
        if path == "/workers":
            return 200, await workers_body(self._node)
        if path == "/agents":
            return 200, {"agents": await self._node.list_agents()}
        return 404, {"detail": "Not Found"}
