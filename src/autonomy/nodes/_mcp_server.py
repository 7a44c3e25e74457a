"""``McpServer``: the node's exposed workers as MCP tools over SSE (see :mod:`.mcp`).

A worker started with ``start_worker(..., exposed_as="x")`` (``Agent.start(...,
exposed_as="x")``) is tool ``x``: its input is ``{"message": str, "scope"?: str,
"conversation"?: str}``; an agent's answer is its reply's last message, another
worker's is its reply. The list is read at each ``tools/list``, so agents started
later are listed too. An agent that fails, or a worker that is gone, is an error result.

The ASGI app is the two endpoints of MCP's SSE transport: ``GET /sse`` opens a session
(its first event names the URL to post to), ``POST /messages/?session_id=...`` carries
the client's requests. uvicorn serves it on the node's event loop, without its own
signal handlers (the node owns SIGTERM and SIGINT).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

__all__ = ["McpServer", "DEFAULT_MCP_LISTEN_ADDRESS"]

log = logging.getLogger("autonomy.mcp")

DEFAULT_MCP_LISTEN_ADDRESS = "0.0.0.0:8001"
_INPUT = {
    "type": "object",
    "properties": {
        "message": {"type": "string", "description": "What to say to the agent"},
        "scope": {"type": "string", "description": "Whose conversation it is (a user's id), optional"},
        "conversation": {"type": "string", "description": "Which conversation of that scope, optional"},
    },
    "required": ["message"],
}


def _parse(text: str) -> tuple[str, int]:
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"McpServer: listen_address must be HOST:PORT such as '0.0.0.0:8001', not {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class McpServer:
    """Serve the node's exposed agents as MCP tools; give it to ``Node.start(mcp_server=...)``."""

    def __init__(self, listen_address: str = DEFAULT_MCP_LISTEN_ADDRESS) -> None:
        self.host, self.port = _parse(listen_address)
        self.listen_address = listen_address
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    def __repr__(self) -> str:
        return f"McpServer({self.listen_address!r})"

    @property
    def bound_port(self) -> int | None:
        """The port it listens on (the one picked when ``listen_address`` ends in ``:0``)."""
        return int(self._sock.getsockname()[1]) if self._sock is not None else None

    async def start(self, node: Any) -> None:
        """Listen and serve ``node``'s exposed workers (the node calls this). A port
        that cannot be bound is logged; the node goes on without an MCP server."""
        import uvicorn

        try:
            sock = socket.create_server((self.host, self.port), reuse_port=False, backlog=128)
        except OSError as e:
            log.error("MCP server cannot listen on %s (%s); this node serves no MCP", self.listen_address, e)
            return
        sock.setblocking(False)
        self._sock = sock
        config = uvicorn.Config(_app(node), log_config=None, lifespan="off", timeout_graceful_shutdown=1)
        server = self._server = _quiet_server(config)
        self._task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]), name="mcp-server")
        tools = ", ".join(node.exposed.values()) or "none yet"
        log.info("MCP server on %s:%d/sse (exposed: %s)", self.host, self.bound_port, tools)

    async def stop(self) -> None:
        """Stop serving; open sessions are closed."""
        task, self._task = self._task, None
        if self._server is not None:
            self._server.should_exit = True
            self._server.force_exit = True  # SSE sessions never end by themselves
        if task is not None:
            try:
                await asyncio.wait_for(task, 5)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                log.exception("the MCP server stopped with an error")
        if self._sock is not None:
            self._sock.close()


def _app(node: Any) -> Any:
    """The ASGI app: MCP's SSE transport and a low-level MCP server over ``node``."""
    from mcp import types
    from mcp.server.lowlevel import Server
    from mcp.server.sse import SseServerTransport

    server: Any = Server(f"autonomy-{node.name}")
    transport = SseServerTransport("/messages/")

    def exposed() -> dict[str, str]:  # tool name -> worker name
        return {tool: worker for worker, tool in dict(node.exposed).items()}

    @server.list_tools()  # type: ignore[untyped-decorator]
    async def list_tools() -> list[types.Tool]:
        return [
            types.Tool(name=tool, description=f"Send a message to agent {worker!r}; its answer.", inputSchema=_INPUT)
            for tool, worker in exposed().items()
        ]

    @server.call_tool()  # type: ignore[untyped-decorator]
    async def call_tool(name: str, arguments: dict[str, Any]) -> list[types.TextContent]:
        worker = exposed().get(name)
        if worker is None:
            raise ValueError(f"no tool {name!r} (tools: {', '.join(exposed()) or 'none'})")
        message = str(arguments.get("message", ""))
        scope, conversation = str(arguments.get("scope") or ""), str(arguments.get("conversation") or "")
        return [types.TextContent(type="text", text=await _ask(node, worker, message, scope, conversation))]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path, method = scope.get("path", ""), scope.get("method", "")
        if path == "/sse" and method == "GET":
            async with transport.connect_sse(scope, receive, send) as (read, write):
                await server.run(read, write, server.create_initialization_options())
        elif path.startswith("/messages") and method == "POST":
            await transport.handle_post_message(scope, receive, send)
        else:
            body = b"MCP over SSE: GET /sse"
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": body})

    return app


async def _ask(node: Any, worker: str, message: str, scope: str, conversation: str) -> str:
    """An exposed worker's answer to ``message``: an agent's last message, or the reply."""
    from ..agents.reference import AgentReference

    if any(a.get("name") == worker for a in await node.list_agents()):
        reply = await AgentReference(worker, node).send(message, scope, conversation, timeout=300)
        return str(reply[-1].content.text) if reply else ""
    return str(await node.send_and_receive(worker, message, timeout=300))


def _quiet_server(config: Any) -> Any:
    """A uvicorn server without its signal handlers (the node owns SIGTERM and SIGINT)."""
    import uvicorn

    class Quiet(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Quiet(config)
