"""``McpTool``: a tool of an MCP server, for an agent's model.

::

    from autonomy import Agent, McpClient, McpTool, Node

    async def main(node):
        await Agent.start(node, "You search the web.", tools=[McpTool("brave", "brave_web_search")])

    Node.start(main, mcp_clients=[McpClient(name="brave", address="http://localhost:8001/sse")])

The model sees it as ``<server>_<tool>`` (``brave_brave_web_search``), with the
description and input schema the server lists for it (read again at each turn, so a
server that restarts with new tools is seen anew). A call runs ``tools/call`` on the
node's client of that name (:class:`~autonomy.nodes.mcp.McpClient`) and the result's
text is what the model reads. A server that is not connected, that goes away during
the call, that answers an error or a result that is not one: each raises
:class:`~autonomy.errors.McpError`, which the agent gives its model as an error result.

This module loads nothing of the ``mcp`` package: the node's client does.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import McpError
from .tool import parse_arguments

__all__ = ["McpTool"]

_NAME = re.compile(r"[A-Za-z0-9_-]+")
#: what OpenAI's API takes as a function name
_MAX_NAME = 64


class McpTool:
    """Tool ``tool_name`` of the MCP server the node's ``McpClient(server_name, ...)`` reaches."""

    def __init__(self, server_name: str, tool_name: str) -> None:
        for what, value in (("server_name", server_name), ("tool_name", tool_name)):
            if not isinstance(value, str) or not _NAME.fullmatch(value):
                raise ValueError(f"McpTool: {what} {value!r} may only contain letters, digits, '_' and '-'")
        self.server_name = server_name
        self.tool_name = tool_name
        #: the name the model calls it by
        self.name = f"{server_name}_{tool_name}"
        if len(self.name) > _MAX_NAME:
            raise ValueError(f"McpTool: {self.name!r} is longer than the {_MAX_NAME} characters a model takes")
        #: the node whose MCP client runs the calls (given by the agent that uses it)
        self.node: Any = None

    def __repr__(self) -> str:
        return f"McpTool({self.server_name!r}, {self.tool_name!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["node"] = None  # bound again on the node the agent runs on
        return state

    def bind(self, node: Any) -> None:
        """Run calls through ``node``'s MCP clients (the agent calls this)."""
        self.node = node

    async def spec(self) -> dict[str, Any]:
        """OpenAI's function spec: the server's description and input schema of the tool.

        While the server is not connected (or does not list the tool) the spec says so
        and takes any arguments: the turn goes on, and a call gives the model the reason."""
        listed = None
        finder = getattr(self.node, "mcp_tool_spec", None)
        if finder is not None:
            listed = await finder(self.server_name, self.tool_name)
        if listed is None:
            description = (
                f"Tool {self.tool_name!r} of MCP server {self.server_name!r}, which does not list it now "
                "(not connected): a call fails until it does."
            )
            parameters: dict[str, Any] = {"type": "object", "properties": {}}
        else:
            description = listed.get("description") or f"Tool {self.tool_name!r} of MCP server {self.server_name!r}."
            parameters = listed.get("input_schema") or {"type": "object", "properties": {}}
        return {
            "type": "function",
            "function": {"name": self.name, "description": description, "parameters": parameters},
        }

    async def invoke(self, json_argument: str | None) -> str:
        """Call the tool on its server with the model's JSON arguments; the result's text."""
        parse_arguments(json_argument)  # not a JSON object: a ToolError, before any traffic
        caller = getattr(self.node, "call_mcp_tool", None)
        if caller is None:
            raise McpError(self.server_name, f"{self!r} is not used by an agent on a node: no MCP client to call")
        text: str = await caller(self.server_name, self.tool_name, json_argument)
        return text
