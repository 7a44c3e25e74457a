"""Run inside the node's container: list the tools of the MCP server at the pod's
localhost:8001 with the `mcp` package's SSE client, one name a line."""

import asyncio
import sys

from mcp import ClientSession
from mcp.client.sse import sse_client


async def main(url: str) -> None:
    async with sse_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        for tool in tools.tools:
            print(tool.name)
        result = await session.call_tool("get_current_time", {"timezone": "UTC"})
        print("RESULT", result.content[0].text.replace("\n", " "))


asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8001/sse"))
