"""A node with a web app, as SDK users write one.

WEB_MODE=default: the built-in routes only; app: a FastAPI app of its own with NodeDep
routes; api: an object with .routes(node) and .api mounted. WEB_LISTEN sets
HttpServer(listen_address=...).
"""

import os

from fastapi import FastAPI, WebSocket

from autonomy import HttpServer, Node, NodeDep, WebSocketNodeDep, info


class Greeter:
    async def handle_message(self, context, message):
        await context.reply(f"Hello, {message}!")


app = FastAPI()


@app.get("/greet/{name}")
async def greet(name: str, node: NodeDep):
    return {"reply": await node.send_and_receive("greeter", name, timeout=10), "node": node.name}


@app.websocket("/ws")
async def echo(websocket: WebSocket, node: WebSocketNodeDep):
    await websocket.accept()
    await websocket.send_text(await node.send_and_receive("greeter", await websocket.receive_text()))
    await websocket.close()


class Api:
    def __init__(self):
        self.api = FastAPI()

    def routes(self, node):
        @self.api.get("/hello/{name}")
        async def hello(name: str, via: NodeDep):
            return {"reply": await node.send_and_receive("greeter", name, timeout=10), "same": via is node}


mode = os.environ.get("WEB_MODE", "default")
listen = {"listen_address": os.environ["WEB_LISTEN"]} if os.environ.get("WEB_LISTEN") else {}
if mode == "app":
    server = HttpServer(app=app, **listen)
elif mode == "api":
    server = HttpServer(api=Api(), **listen)
else:
    server = HttpServer(**listen) if listen else None


async def main(node):
    await node.start_worker("greeter", Greeter())
    info("web app ready")


Node.start(main, http_server=server)
