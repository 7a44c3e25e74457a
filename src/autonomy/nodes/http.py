"""The node's web server, as the Autonomy SDK has it: :class:`HttpServer`, :data:`NodeDep`
and :data:`WebSocketNodeDep`.

Every node serves HTTP (port 8000 of its pod in a zone): FastAPI on uvicorn. With no
``http_server`` it serves the built-in routes; hand it your own FastAPI app and your
routes are served beside them, with the node one parameter away::

    from fastapi import FastAPI
    from autonomy import HttpServer, Node, NodeDep

    app = FastAPI()

    @app.get("/greet/{name}")
    async def greet(name: str, node: NodeDep):
        return {"reply": await node.send_and_receive("greeter", name)}

    async def main(node):
        await node.start_worker("greeter", Greeter())

    Node.start(main, http_server=HttpServer(app=app))

Built-in routes (JSON):

==========================  ==========================================================
``GET /``                   ``index.html`` of the working directory, when there is one
``GET /health``             name, uptime, workers, traffic counters, non-empty queues
``GET /workers``            ``{"node": name, "workers": [{"name": ...}, ...]}``
``GET /agents``             ``{"agents": [...]}``, and the agents' routes (:mod:`autonomy.agents._routes`)
``GET /tools``              ``{"tools": [{"name", "description", "server", ...}]}``: MCP and agents' tools
``GET /tools/{name}``       one of them (404: no such tool)
``GET /logs/levels``        ``{"levels": {"default": "INFO", ...}, "available_levels"}``
``POST /logs/levels``       ``{"level": "DEBUG", "module": "agent"}`` (no module: default)
``GET /docs``               Swagger UI over ``/openapi.json``
==========================  ==========================================================

With ``API_KEY`` set in the environment and no ``app`` of yours, every route (``/docs``
and ``/openapi.json`` too) needs ``?api_key=<API_KEY>``, else 401; your own app guards
itself as it likes. ``api=`` takes an object with ``.routes(node)`` (called once the
node is up) and ``.api`` (a FastAPI app), mounted at ``/`` after the built-in routes.

Importing this module loads FastAPI and uvicorn; a node that was given no
``HttpServer`` imports it in a thread, after its sockets are open (:mod:`._http`).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse

from ..agents._routes import add_agent_routes
from ..logs import LEVELS, get_log_levels, set_log_level
from ..settings import Settings
from ._http import workers_body
from ._web import InjectNode, RequireKey, add_docs, parse_listen_address, quiet_uvicorn
from .node import Node

__all__ = ["HttpServer", "NodeDep", "WebSocketNodeDep", "get_node", "get_node_ws", "DEFAULT_LISTEN_ADDRESS"]

log = logging.getLogger("autonomy.http")


class _DefaultAddress(str):
    """The listen address nobody chose: the node's settings decide where it listens."""


#: ``0.0.0.0:8000``, or rather the node's ``AUTONOMY_HTTP_HOST``:``AUTONOMY_HTTP_PORT``
#: (127.0.0.1 for a node outside a zone); a ``listen_address`` you give wins.
DEFAULT_LISTEN_ADDRESS: str = _DefaultAddress("0.0.0.0:8000")


def get_node(request: Request) -> Node:
    """The node serving this HTTP request (what :data:`NodeDep` depends on)."""
    return _node_of(request.state)


def get_node_ws(websocket: WebSocket) -> Node:
    """The node serving this WebSocket (what :data:`WebSocketNodeDep` depends on)."""
    return _node_of(websocket.state)


def _node_of(state: Any) -> Node:
    node = getattr(state, "node", None)
    if not isinstance(node, Node):
        raise RuntimeError("this app is not served by a node: pass it as Node.start(http_server=HttpServer(app=app))")
    return node


#: A route parameter ``node: NodeDep`` receives the node serving the request.
NodeDep = Annotated[Node, Depends(get_node)]
#: The same for a WebSocket route.
WebSocketNodeDep = Annotated[Node, Depends(get_node_ws)]


class HttpServer:
    """The node's web server: give it to ``Node.start(http_server=...)``.

    ``listen_address`` is ``HOST:PORT`` (ValueError otherwise); left out, the node listens
    where its settings say (port 8000 of its pod in a zone). ``app``: your FastAPI app,
    served with the built-in routes added and the node handed to ``NodeDep`` parameters.
    ``api``: an object with ``.routes(node)`` and ``.api`` (FastAPI), mounted at ``/``.
    """

    def __init__(self, listen_address: str = DEFAULT_LISTEN_ADDRESS, app: FastAPI | None = None, api: Any = None):
        self.host, self.port = parse_listen_address(listen_address)
        self.listen_address = str(listen_address)
        #: where the user asked to listen; None when the node's settings decide
        self.explicit_address = None if isinstance(listen_address, _DefaultAddress) else (self.host, self.port)
        self.api = api
        self._own_app = app is None
        self.app = app if app is not None else FastAPI(title="Autonomy node", docs_url=None, redoc_url=None)
        #: the node it serves, once started
        self.node: Node | None = None
        self._server: _Uvicorn | None = None
        self._config: uvicorn.Config | None = None
        self._stopped = False

    def __repr__(self) -> str:
        return f"HttpServer({self.listen_address!r})"

    def prepare(self, node: Node, settings: Settings) -> None:
        """Add the built-in routes and load uvicorn's configuration for ``node``: the
        CPU-bound part, which the runtime runs in a thread, off the event loop."""
        if self.node is not None:
            raise RuntimeError(f"{self!r} already serves node {self.node.name!r}")
        self.node = node
        app = self.app
        app.add_middleware(InjectNode, node=node)
        if self._own_app:
            if settings.api_key:
                app.add_middleware(RequireKey, key=settings.api_key)  # outermost: before anything else
            add_docs(app)
        _builtin_routes(app, node)
        quiet_uvicorn()
        # an app of ours has no lifespan handlers: no task waits on them
        lifespan: Literal["off", "auto"] = "off" if self._own_app else "auto"
        self._config = uvicorn.Config(app, log_config=None, lifespan=lifespan, timeout_graceful_shutdown=5)
        self._config.load()

    async def serve_on(self, sock: socket.socket) -> None:
        """Serve on the bound, listening ``sock`` until :meth:`stop`; ``api.routes(node)``
        runs first, on the event loop, as the SDK calls it."""
        if self._config is None or self.node is None:
            raise RuntimeError(f"{self!r}: prepare() it for a node first")
        if self.api is not None:
            self.api.routes(self.node)
            self.app.mount("/", self.api.api)
        host, port = sock.getsockname()[:2]
        what = "the built-in routes" + ("" if self._own_app else " and the app's")
        server = self._server = _Uvicorn(self._config, lambda: log.info("HTTP on %s:%d (%s)", host, port, what))
        server.should_exit = self._stopped
        await server.serve(sockets=[sock])

    def stop(self) -> None:
        """Ask the server to stop; requests in flight get up to 5 s to finish."""
        self._stopped = True
        if self._server is not None:
            self._server.should_exit = True


class _Uvicorn(uvicorn.Server):
    """uvicorn's server without its signal handlers (the node owns SIGTERM and SIGINT);
    says when it serves."""

    def __init__(self, config: uvicorn.Config, started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = started

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


async def _listed(node: Node, method: str) -> list[Any]:
    """``await node.<method>()`` as a list; [] while the node has no such method."""
    lister = getattr(node, method, None)
    return list(await lister()) if lister is not None else []


def _builtin_routes(app: FastAPI, node: Node) -> None:
    index = Path.cwd() / "index.html"
    if index.is_file():

        @app.get("/", include_in_schema=False)
        async def home() -> FileResponse:
            return FileResponse(index)

    @app.get("/health", tags=["node"])
    async def health() -> dict[str, Any]:
        """This node: name, uptime, workers, traffic counters, non-empty queues."""
        return node.health()

    @app.get("/workers", tags=["node"])
    async def workers() -> dict[str, Any]:
        """The workers this node hosts."""
        return await workers_body(node)

    add_agent_routes(app, node)  # /agents, /agents/{name}, its conversations, POST

    @app.get("/tools", tags=["node"])
    async def tools() -> dict[str, Any]:
        """The tools of this node: its MCP servers' (``server`` names the client) and its agents'."""
        return {"tools": await _listed(node, "list_tools")}

    @app.get("/tools/{name}", tags=["node"])
    async def tool(name: str) -> dict[str, Any]:
        """One tool of this node, by the name a model calls it."""
        for found in await _listed(node, "list_tools"):
            if found.get("name") == name:
                return dict(found)
        raise HTTPException(404, f"Tool '{name}' not found")

    @app.get("/logs/levels", tags=["logs"])
    async def log_levels() -> dict[str, Any]:
        """The default log level and every logger's own."""
        return {"levels": get_log_levels(), "available_levels": list(LEVELS)}

    @app.post("/logs/levels", tags=["logs"])
    async def set_log_levels(request: Request) -> dict[str, Any]:
        """Set the default level (``{"level": "DEBUG"}``) or one logger's
        (``{"level": "DEBUG", "module": "agent"}``)."""
        try:
            data = await request.json()
        except ValueError:
            data = None
        level = data.get("level") if isinstance(data, dict) else None
        module = data.get("module") if isinstance(data, dict) else None
        if not isinstance(level, str) or not isinstance(module, (str, type(None))):
            raise HTTPException(400, 'expected a JSON object like {"level": "DEBUG", "module": "agent"}')
        try:
            if module:
                set_log_level(module, level)
            else:
                set_log_level(level)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        levels = get_log_levels()
        name = module or "default"
        log.info("log level of %r set to %s", name, levels.get(name))
        return {"status": "ok", "module": name, "level": levels.get(name), "levels": levels}
