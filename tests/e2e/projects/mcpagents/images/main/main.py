"""The public pod's node: agent clock, whose tool is get_current_time of the time server
in this pod (localhost:8001), and GET /runners, which asks agent clock of every runner
node of the zone (each started its own) and answers what each said."""

import asyncio
import json
import os

from fastapi import FastAPI

from autonomy import Agent, HttpServer, McpClient, McpTool, Model, Node, NodeDep, Zone

app = FastAPI()


@app.get("/runners")
async def ask_runners(node: NodeDep):
    runners = await Zone.nodes(node, filter="runner")
    replies = await asyncio.gather(
        *(r.send_and_receive("clock", "What time is it in UTC?", timeout=120) for r in runners),
        return_exceptions=True,
    )
    answers = {}
    for runner, reply in zip(runners, replies, strict=True):
        if isinstance(reply, BaseException):
            answers[runner.name] = {"error": f"{type(reply).__name__}: {reply}"}
        else:
            answers[runner.name] = json.loads(reply)
    return {"asked_by": node.name, "runners": answers}


async def main(node):
    await Agent.start(
        node=node,
        name="clock",
        instructions=f"NODE={os.environ['NODE']}. You tell the time with your tool.",
        model=Model("claude-sonnet-4-v1"),
        tools=[McpTool("time", "get_current_time")],
    )


Node.start(
    main,
    mcp_clients=[McpClient(name="time", address="http://localhost:8001/sse")],
    http_server=HttpServer(app=app),
)
