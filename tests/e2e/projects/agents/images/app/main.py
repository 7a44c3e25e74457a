"""A FastAPI app on the node's web server that asks four agents at once.

GET /ask-all sends one message to each agent with asyncio.gather and answers every
agent's last words; humanize comes from requirements.txt, installed in the -dev stage.
"""

import asyncio

import humanize
from fastapi import FastAPI

from autonomy import Agent, HttpServer, Model, Node, NodeDep

NAMES = ("ada", "bob", "cyd", "dee")
agents = {}
app = FastAPI()


@app.get("/ask-all")
async def ask_all(node: NodeDep):
    replies = await asyncio.gather(
        *(agents[name].send(f"Hello {name}, say something nice.", timeout=60) for name in NAMES)
    )
    return {
        "node": node.name,
        "count": humanize.apnumber(len(replies)),
        "answers": {name: reply[-1].content.text for name, reply in zip(NAMES, replies, strict=True)},
    }


async def main(node):
    for name in NAMES:
        agents[name] = await Agent.start(
            node=node,
            name=name,
            instructions=f"You are {name}. Answer in one short sentence.",
            model=Model("claude-sonnet-4-v1"),
        )


Node.start(main, http_server=HttpServer(app=app))
