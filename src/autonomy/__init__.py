"""Autonomy: nodes that host workers and exchange messages with the rest of their zone.

A *worker* is any object with ``async def handle_message(self, context, message)``. A
*node* hosts workers and talks, encrypted and mutually authenticated (CurveZMQ), to the
other nodes of its *zone*::

    from autonomy import Node

    class Greeter:
        async def handle_message(self, context, message):
            await context.reply(f"Hello, {message}!")

    async def main(node):
        await node.start_worker("greeter", Greeter())
        print(await node.send_and_receive("greeter", "Alice", timeout=10))

    Node.start(main)

Messages are ``str``. Each worker handles one message at a time; messages from one
sender to one worker arrive in order. Errors of delivery are ``RuntimeError`` subclasses
(see :mod:`autonomy.errors`), a timeout's text contains "timeout".

The package, room by room::

    autonomy/
    ├── nodes/       node.py (Node), workers.py (Context), remote.py (RemoteNode),
    │                mailbox.py (Mailbox), http.py (HttpServer, NodeDep: the web server),
    │                mcp.py (McpClient, McpServer: tools over MCP),
    │                and the node's machinery: _client, _router, _deadlines,
    │                _shipping (objects by value), _http (starting the web server
    │                off the event loop), _web (its middleware), _serve (the process),
    │                _mcp_node (the node's MCP clients and server), _mcp_server
    ├── transport/   envelope.py (the wire), channel.py, security.py (CURVE, ZAP),
    │                roster.py (roster and key files)
    ├── agents/      agent.py (Agent), reference.py (AgentReference), messages.py,
    │                repl.py (Repl), _turn (the tool loop), _routes (/agents over HTTP)
    ├── models/      model.py (Model: chat and embeddings, through the zone's gateway)
    ├── tools/       tool.py (Tool: a function with a JSON schema for the model),
    │                mcp.py (McpTool: a tool of an MCP server the node is connected to)
    ├── clusters/    zone.py (Zone), and programs the CLI runs in a zone's containers
    │                (``python -m autonomy.clusters.<name>``): infra, relay,
    │                pod_status, and gateway/ (the zone's model gateway: routing.py
    │                decides which backend serves a model name, server.py forwards)
    ├── logs/        the log format; info, warning, error, debug
    ├── errors.py    AutonomyError and its tree
    ├── settings.py  the typed settings a node reads once
    ├── probe.py     ``python -m autonomy.probe``: does every node answer?
    └── testing.py   LocalZone: a zone of node processes on 127.0.0.1

A module or name that starts with ``_`` is the runtime's own; every other module lists
what it offers in ``__all__``. ``import autonomy`` loads no asyncio and no ZeroMQ: the
node machinery loads when ``Node``, ``Zone``, ``RemoteNode``, ``Context`` or ``Mailbox`` is first used,
FastAPI with ``HttpServer``, ``NodeDep`` or ``WebSocketNodeDep``, the OpenAI client
when a ``Model`` first calls its API, and the ``mcp`` package when a node is given an
``McpClient`` or an ``McpServer``.
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    AgentError,
    AutonomyError,
    ConfigurationError,
    MalformedReply,
    McpError,
    MessageTimeout,
    MessagingError,
    NodeUnreachable,
    NotAllowed,
    WorkerExists,
    WorkerFailed,
    WorkerNotFound,
)
from .logs import debug, error, get_logger, info, set_log_level, set_log_levels, warning

if TYPE_CHECKING:
    from .agents.agent import Agent
    from .agents.reference import AgentReference
    from .agents.repl import Repl
    from .clusters.zone import Zone
    from .models.model import Model
    from .nodes.http import HttpServer, NodeDep, WebSocketNodeDep
    from .nodes.mailbox import Mailbox
    from .nodes.mcp import McpClient, McpServer
    from .nodes.node import Node
    from .nodes.remote import RemoteNode
    from .nodes.workers import Context
    from .tools.mcp import McpTool
    from .tools.tool import Tool

# name -> the module that defines it
_LAZY = {
    "Agent": "autonomy.agents.agent",
    "AgentReference": "autonomy.agents.reference",
    "Repl": "autonomy.agents.repl",
    "Model": "autonomy.models.model",
    "Tool": "autonomy.tools.tool",
    "McpTool": "autonomy.tools.mcp",
    "McpClient": "autonomy.nodes.mcp",
    "McpServer": "autonomy.nodes.mcp",
    "Context": "autonomy.nodes.workers",
    "HttpServer": "autonomy.nodes.http",
    "NodeDep": "autonomy.nodes.http",
    "WebSocketNodeDep": "autonomy.nodes.http",
    "Mailbox": "autonomy.nodes.mailbox",
    "Node": "autonomy.nodes.node",
    "RemoteNode": "autonomy.nodes.remote",
    "Zone": "autonomy.clusters.zone",
}


def __getattr__(name: str) -> Any:
    # the node machinery (asyncio, zmq sockets, cloudpickle) loads on first use, so that
    # tools needing only the roster or the errors (the CLI) do not pay for it
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'autonomy' has no attribute {name!r}")


__all__ = [
    "Node",
    "Agent",
    "AgentReference",
    "Model",
    "Tool",
    "McpTool",
    "McpClient",
    "McpServer",
    "Repl",
    "Zone",
    "RemoteNode",
    "Context",
    "Mailbox",
    "HttpServer",
    "NodeDep",
    "WebSocketNodeDep",
    "info",
    "warning",
    "error",
    "debug",
    "get_logger",
    "set_log_level",
    "set_log_levels",
    "AutonomyError",
    "ConfigurationError",
    "MessagingError",
    "MessageTimeout",
    "WorkerNotFound",
    "WorkerFailed",
    "WorkerExists",
    "NodeUnreachable",
    "MalformedReply",
    "NotAllowed",
    "AgentError",
    "McpError",
]
