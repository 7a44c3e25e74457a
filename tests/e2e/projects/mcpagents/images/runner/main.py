"""A runner clone's node: it starts its own agent clock, whose tool is get_current_time
of the time server in this pod (localhost:8001). The instructions name the node, so a
reply can say which node's agent answered."""

import os

from autonomy import Agent, McpClient, McpTool, Model, Node


async def main(node):
    await Agent.start(
        node=node,
        name="clock",
        instructions=f"NODE={os.environ['NODE']}. You tell the time with your tool.",
        model=Model("claude-sonnet-4-v1"),
        tools=[McpTool("time", "get_current_time")],
    )


Node.start(main, mcp_clients=[McpClient(name="time", address="http://localhost:8001/sse")])
