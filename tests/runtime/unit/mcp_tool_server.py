"""A real MCP server over SSE for the tests (FastMCP of the ``mcp`` package), run as
``python mcp_tool_server.py PORT``: it serves ``http://127.0.0.1:PORT/sse`` until killed.

Tools: ``add`` (two integers), ``fail`` (always raises: an MCP error result) and
``broken`` (answers a result whose ``content`` is not a list: not a tools/call result).
"""

from __future__ import annotations

import sys

import uvicorn
from mcp import types
from mcp.server.fastmcp import FastMCP

server = FastMCP("test-tools")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"failing on purpose: {reason}")


@server.tool()
def broken() -> types.CallToolResult:
    """Answers something that is not a tool result."""
    return types.CallToolResult.model_construct(content="not a list of content", isError=False)


if __name__ == "__main__":
    uvicorn.run(server.sse_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
