"""The node's side of MCP: its clients, its server, and the tools it lists.

:class:`McpNode` is a part of :class:`~autonomy.nodes.node.Node` (a base class): the
methods the SDK's node has for MCP (``call_mcp_tool``, ``mcp_tool_spec``, ``mcp_tools``,
``list_tools``) and the node's start and stop of its clients and server. Nothing of
the ``mcp`` package is loaded here: the clients and the server load it
(:mod:`autonomy.nodes.mcp`), and a node given neither never does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, McpError
from ..tools.tool import parse_arguments

if TYPE_CHECKING:
    from .workers import Workers

__all__ = ["McpNode"]

log = logging.getLogger("autonomy.mcp")


class McpNode:
    """MCP clients and server of a node (mixed into :class:`~autonomy.nodes.node.Node`)."""

    _mcp_clients: dict[str, Any]
    _mcp_server: Any
    exposed: dict[str, str]
    _workers: Workers

    def _init_mcp(self) -> None:
        self._mcp_clients = {}
        self._mcp_server = None

    async def _open_mcp(self, mcp_clients: Any = None, mcp_server: Any = None) -> None:
        """Start connecting ``clients`` (in the background) and serving ``server``."""
        clients, server = mcp_clients, mcp_server
        for client in list(clients or []):
            if not all(hasattr(client, a) for a in ("name", "address", "call_tool", "start")):
                raise ConfigurationError("Node.start(mcp_clients=...)", f"{client!r} is not an McpClient")
            if client.name in self._mcp_clients:
                raise ConfigurationError("Node.start(mcp_clients=...)", f"two clients are named {client.name!r}")
            self._mcp_clients[client.name] = client
        for client in self._mcp_clients.values():
            client.start()
        if server is not None:
            if not hasattr(server, "start"):
                raise ConfigurationError("Node.start(mcp_server=...)", f"{server!r} is not an McpServer")
            self._mcp_server = server
            await server.start(self)

    async def _close_mcp(self) -> None:
        server, self._mcp_server = self._mcp_server, None
        if server is not None:
            await server.stop()
        for client in self._mcp_clients.values():
            await client.stop()

    @property
    def mcp_clients(self) -> dict[str, Any]:
        """This node's MCP clients by name."""
        return dict(self._mcp_clients)

    def _mcp_client(self, server_name: str) -> Any:
        client = self._mcp_clients.get(server_name)
        if client is None:
            known = ", ".join(self._mcp_clients) or "none: give Node.start(mcp_clients=[McpClient(...)])"
            raise McpError(server_name, f"this node has no MCP client named {server_name!r} (clients: {known})")
        return client

    async def mcp_tool_spec(self, server_name: str, tool_name: str) -> dict[str, Any] | None:
        """``{"name", "description", "input_schema"}`` of a tool its server lists; None
        when there is no such client, it is not connected, or the server has no such tool."""
        client = self._mcp_clients.get(server_name)
        return None if client is None else client.tool(tool_name)

    async def call_mcp_tool(self, server_name: str, tool_name: str, tool_args_as_json: str | None) -> str:
        """Call ``tool_name`` on the server of client ``server_name`` with the JSON
        arguments; the result's text. McpError when it could not run."""
        client = self._mcp_client(server_name)
        arguments = parse_arguments(tool_args_as_json)
        if client.connected and client.tool(tool_name) is None:
            listed = ", ".join(t["name"] for t in client.tools()) or "none"
            raise McpError(server_name, f"MCP server {server_name!r} has no tool {tool_name!r} (tools: {listed})")
        text: str = await client.call_tool(tool_name, arguments)
        return text

    async def mcp_tools(self) -> list[dict[str, Any]]:
        """Every connected server's tools: ``{"name": "<server>_<tool>", "tool", "server",
        "description", "input_schema"}``."""
        found = []
        for server, client in self._mcp_clients.items():
            for t in client.tools():
                found.append({"name": f"{server}_{t['name']}", "tool": t["name"], "server": server, **_rest(t)})
        return found

    async def list_tools(self) -> list[dict[str, Any]]:
        """What ``GET /tools`` lists: the MCP servers' tools (see :meth:`mcp_tools`),
        then the other tools of this node's agents: ``{"name", "description", "server",
        "agents"}`` (``server`` None for a function; an MCP tool whose server is not
        connected has its server and no description)."""
        tools = await self.mcp_tools()
        listed = {t["name"] for t in tools}
        own: dict[str, dict[str, Any]] = {}
        for agent in self._workers.objects():
            if getattr(agent, "is_agent", False) is not True:
                continue
            for name, tool in agent.tools.items():
                if name in listed:
                    continue
                server = getattr(tool, "server_name", None)
                description = getattr(tool, "description", "") if server is None else ""
                entry = own.setdefault(name, {"name": name, "description": description, "server": server, "agents": []})
                entry["agents"].append(agent.name)
        return tools + list(own.values())

    def mcp_status(self) -> list[dict[str, Any]]:
        """Each MCP client: name, address, connected, last error, tools."""
        return [c.status() for c in self._mcp_clients.values()]


def _rest(tool: dict[str, Any]) -> dict[str, Any]:
    return {"description": tool.get("description", ""), "input_schema": tool.get("input_schema")}
