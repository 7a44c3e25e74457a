"""A node with a web app, as SDK users write one.

WEB_MODE=app: a FastAPI app of its own (HttpServer(app=...)), whose routes reach the node
through NodeDep; api: an object with .routes(node) and .api, mounted (HttpServer(api=...)).
WEB_LISTEN: HttpServer(listen_address=...).
"""

import os

from fastapi import FastAPI

from autonomy import HttpServer, Node, NodeDep, Zone, info


class Greeter:
    async def handle_message(self, context, message):
        await context.reply(f"Hello, {message}!")


app = FastAPI()


@app.get("/greet/{name}")
async def greet(name: str, node: NodeDep):
    return {"reply": await node.send_and_receive("greeter", name, timeout=10), "node": node.name}


@app.get("/greet-remote/{name}")
async def greet_remote(name: str, node: NodeDep):
    keyed = await Zone.node(node, "keyed")
    return {"reply": await keyed.send_and_receive("greeter", name, timeout=10), "node": keyed.name}


class Api:
    def __init__(self):
        self.api = FastAPI()

    def routes(self, node):
        @self.api.get("/hello/{name}")
        async def hello(name: str, via: NodeDep):
            return {"reply": await node.send_and_receive("greeter", name, timeout=10), "same": via is node}


listen = {"listen_address": os.environ["WEB_LISTEN"]} if os.environ.get("WEB_LISTEN") else {}
if os.environ.get("WEB_MODE") == "app":
    server = HttpServer(app=app, **listen)
else:
    server = HttpServer(api=Api(), **listen)


async def main(node):
    await node.start_worker("greeter", Greeter())
    info("web app ready")


Node.start(main, http_server=server)
