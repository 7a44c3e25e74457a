"""The node's web server in one process: the built-in routes, a user's FastAPI app with
``NodeDep``, an ``api=`` object, the API key, log levels, a taken port, the plain server
of an image without FastAPI, and the small parts (addresses, redaction, settings)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from autonomy import HttpServer, Model, NodeDep, WebSocketNodeDep
from autonomy.agents.agent import AgentWorker
from autonomy.logs import get_log_levels, set_log_level
from autonomy.nodes import _http
from autonomy.nodes._web import RedactKey, RequireKey, parse_listen_address
from autonomy.nodes.http import get_node, get_node_ws
from autonomy.nodes.node import Node
from autonomy.settings import Settings
from autonomy.testing import free_port


class Greeter:
    async def handle_message(self, context: Any, message: str) -> None:
        await context.reply(f"Hello, {message}!")


async def fetch(port: int, path: str, body: Any = None) -> tuple[int, str]:
    """GET (or POST ``body`` as JSON) on 127.0.0.1:port; (status, text). A server still
    loading leaves the connection waiting in the listen backlog: no polling needed."""

    def go() -> tuple[int, str]:
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    return await asyncio.to_thread(go)


def serve(scenario: Callable[[Node, int], Awaitable[Any]], http_server: Any = None, **changes: Any) -> Any:
    """Run ``scenario(node, port)`` against a standalone node serving HTTP on a free port."""
    port = free_port()

    async def go() -> Any:
        env = {"NODE": "web", "AUTONOMY_HTTP_PORT": str(port), "AUTONOMY_ROSTER": ""}
        settings = dataclasses.replace(Settings.from_env(env), **changes)
        node = await Node.open(settings, http_server)
        try:
            await node.start_worker("greeter", Greeter())
            return await scenario(node, port)
        finally:
            await node.close()

    return asyncio.run(go())


def test_the_built_in_routes_answer_with_the_sdk_shapes() -> None:
    async def scenario(node: Node, port: int) -> None:
        status, text = await fetch(port, "/workers")
        assert (status, json.loads(text)) == (200, {"node": "web", "workers": [{"name": "greeter"}]})
        assert json.loads((await fetch(port, "/agents"))[1]) == {"agents": []}
        assert json.loads((await fetch(port, "/tools"))[1]) == {"tools": []}
        health = json.loads((await fetch(port, "/health"))[1])
        assert health["status"] == "ok" and health["node"] == "web" and health["workers"] == 1
        status, page = await fetch(port, "/docs")
        assert status == 200 and "swagger" in page.lower() and "/openapi.json" in page
        schema = json.loads((await fetch(port, "/openapi.json"))[1])
        assert {"/workers", "/agents", "/tools", "/health", "/logs/levels"} <= set(schema["paths"])
        assert (await fetch(port, "/nope"))[0] == 404
        assert (await fetch(port, "/"))[0] == 404  # no index.html in the working directory

    serve(scenario)


def test_index_html_of_the_working_directory_is_served_at_root(tmp_path: Path, monkeypatch: Any) -> None:
    (tmp_path / "index.html").write_text("<h1>my app</h1>")
    monkeypatch.chdir(tmp_path)

    async def scenario(node: Node, port: int) -> tuple[int, str]:
        return await fetch(port, "/")

    assert serve(scenario) == (200, "<h1>my app</h1>")


def test_log_levels_are_read_and_set() -> None:
    async def scenario(node: Node, port: int) -> None:
        body = json.loads((await fetch(port, "/logs/levels"))[1])
        assert "default" in body["levels"] and "DEBUG" in body["available_levels"]
        status, text = await fetch(port, "/logs/levels", {"level": "debug", "module": "agent"})
        assert status == 200, text
        assert json.loads(text)["module"] == "agent" and json.loads(text)["level"] == "DEBUG"
        assert logging.getLogger("agent").level == logging.DEBUG
        assert json.loads((await fetch(port, "/logs/levels"))[1])["levels"]["agent"] == "DEBUG"
        assert (await fetch(port, "/logs/levels", {"level": "loud"}))[0] == 400
        assert (await fetch(port, "/logs/levels", ["DEBUG"]))[0] == 400

    try:
        serve(scenario)
    finally:
        logging.getLogger("agent").setLevel(logging.NOTSET)


def test_a_user_app_gets_the_node_and_the_built_in_routes() -> None:
    app = FastAPI()

    @app.get("/greet/{name}")
    async def greet(name: str, node: NodeDep) -> dict[str, str]:
        return {"reply": await node.send_and_receive("greeter", name, timeout=5), "node": node.name}

    async def scenario(node: Node, port: int) -> None:
        assert json.loads((await fetch(port, "/greet/Alice"))[1]) == {"reply": "Hello, Alice!", "node": "web"}
        assert json.loads((await fetch(port, "/workers"))[1])["workers"] == [{"name": "greeter"}]

    # an API key guards only the runtime's own app: the user's guards itself
    serve(scenario, HttpServer(app=app), api_key="k")


def test_an_api_object_is_mounted_beside_the_built_in_routes() -> None:
    class Api:
        def __init__(self) -> None:
            self.api = FastAPI()
            self.node: Any = None

        def routes(self, node: Any) -> None:
            self.node = node

            @self.api.get("/hello/{name}")
            async def hello(name: str, via: NodeDep) -> dict[str, Any]:
                return {"reply": await node.send_and_receive("greeter", name, timeout=5), "same": via is node}

    api = Api()

    async def scenario(node: Node, port: int) -> None:
        assert json.loads((await fetch(port, "/hello/Bob"))[1]) == {"reply": "Hello, Bob!", "same": True}
        assert api.node is node
        assert json.loads((await fetch(port, "/workers"))[1])["node"] == "web"

    serve(scenario, HttpServer(api=api))


def test_an_api_key_guards_every_route_of_the_runtime_app() -> None:
    async def scenario(node: Node, port: int) -> None:
        for path in ("/workers", "/health", "/docs", "/openapi.json", "/nope"):
            assert (await fetch(port, path))[0] == 401, path
            assert (await fetch(port, path + "?api_key=wrong"))[0] == 401, path
        assert (await fetch(port, "/workers?api_key="))[0] == 401
        status, text = await fetch(port, "/workers?api_key=s3cret")
        assert status == 200 and json.loads(text)["workers"] == [{"name": "greeter"}]
        status, page = await fetch(port, "/docs?api_key=s3cret")
        assert status == 200 and "/openapi.json?api_key=s3cret" in page  # the page can load its schema
        assert (await fetch(port, "/openapi.json?api_key=s3cret"))[0] == 200

    serve(scenario, api_key="s3cret")


def test_a_taken_port_is_logged_and_the_node_goes_on(caplog: Any) -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]

    async def go() -> str:
        env = {"NODE": "web", "AUTONOMY_HTTP_PORT": str(port), "AUTONOMY_ROSTER": ""}
        node = await Node.open(Settings.from_env(env))
        try:
            await node.start_worker("greeter", Greeter())
            return await node.send_and_receive("greeter", "Eve", timeout=5)
        finally:
            await node.close()

    try:
        with caplog.at_level(logging.WARNING, logger="autonomy.http"):
            assert asyncio.run(go()) == "Hello, Eve!"
    finally:
        holder.close()
    assert f"HTTP port {port} is taken" in caplog.text


def test_without_fastapi_a_plain_server_answers_health_workers_and_agents(monkeypatch: Any, caplog: Any) -> None:
    monkeypatch.setattr(_http, "WEB_MODULE", "autonomy.nodes._not_installed")

    async def scenario(node: Node, port: int) -> None:
        assert (await fetch(port, "/workers"))[0] == 401
        status, text = await fetch(port, "/workers?api_key=k")
        assert (status, json.loads(text)) == (200, {"node": "web", "workers": [{"name": "greeter"}]})
        assert json.loads((await fetch(port, "/health?api_key=k"))[1])["status"] == "ok"
        assert (await fetch(port, "/agents"))[0] == 401
        status, text = await fetch(port, "/agents?api_key=k")
        assert (status, json.loads(text)) == (200, {"agents": await node.list_agents()})
        await node.start_worker("henry", AgentWorker("henry", "Be brief.", Model("m"), [], 5, 60.0, False, None))
        agents = json.loads((await fetch(port, "/agents?api_key=k"))[1])["agents"]
        assert [a["name"] for a in agents] == ["henry"] and agents[0]["model_calls"] == 0
        assert (await fetch(port, "/docs?api_key=k"))[0] == 404

    with caplog.at_level(logging.WARNING, logger="autonomy.http"):
        serve(scenario, api_key="k")
    assert "serving only /health, /workers and /agents" in caplog.text


def test_an_app_that_fails_to_start_leaves_the_node_serving(caplog: Any) -> None:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    server = HttpServer(app=FastAPI(lifespan=lifespan))

    async def scenario(node: Node, port: int) -> str:
        web = node._http
        assert web is not None and web._task is not None
        await asyncio.wait_for(asyncio.wait({web._task}), 30)  # uvicorn gave up (sys.exit)
        return await node.send_and_receive("greeter", "Ann", timeout=5)

    with caplog.at_level(logging.ERROR, logger="autonomy.http"):
        assert serve(scenario, server) == "Hello, Ann!"
    assert "the web server stopped; this node serves no HTTP" in caplog.text


def test_listen_addresses() -> None:
    assert parse_listen_address("0.0.0.0:8000") == ("0.0.0.0", 8000)
    assert parse_listen_address("localhost:9000") == ("localhost", 9000)
    assert parse_listen_address("[::]:7000") == ("::", 7000)
    for bad in ("8000", "host:", "host:port", "host:70000", ""):
        with pytest.raises(ValueError, match="listen_address"):
            parse_listen_address(bad)
    with pytest.raises(ValueError, match="listen_address"):
        HttpServer(listen_address="nowhere")


def test_a_listen_address_given_wins_over_the_settings() -> None:
    settings = Settings.from_env({"NODE": "n", "AUTONOMY_ROSTER": "", "AUTONOMY_HTTP_PORT": "8123"})
    default, given = HttpServer(), HttpServer(listen_address="0.0.0.0:9000")
    assert default.listen_address == "0.0.0.0:8000" and default.explicit_address is None
    assert _http.WebServer(None, default, settings).address() == ("127.0.0.1", 8123)  # type: ignore[arg-type]
    assert _http.WebServer(None, None, settings).address() == ("127.0.0.1", 8123)  # type: ignore[arg-type]
    assert _http.WebServer(None, given, settings).address() == ("0.0.0.0", 9000)  # type: ignore[arg-type]
    off = dataclasses.replace(settings, http_port=0)
    assert _http.WebServer(None, None, off).address() is None  # type: ignore[arg-type]
    assert _http.WebServer(None, given, off).address() == ("0.0.0.0", 9000)  # type: ignore[arg-type]


def test_node_deps_are_fastapi_dependencies() -> None:
    for dep, getter in ((NodeDep, get_node), (WebSocketNodeDep, get_node_ws)):
        assert dep.__origin__ is Node  # type: ignore[attr-defined]
        assert dep.__metadata__[0].dependency is getter  # type: ignore[attr-defined]


def test_the_key_check_and_the_redaction() -> None:
    guard = RequireKey(FastAPI(), "k&1")
    assert guard.allowed({"query_string": b"api_key=k%261"})
    assert guard.allowed({"query_string": b"x=1&api_key=k%261"})
    assert not guard.allowed({"query_string": b"api_key=k"})
    assert not guard.allowed({"query_string": b""})
    record = logging.LogRecord(
        "uvicorn.access", 20, "", 0, '%s - "%s %s"', ("1.2.3.4", "GET", "/x?api_key=k&a=1"), None
    )
    RedactKey().filter(record)
    assert record.getMessage() == '1.2.3.4 - "GET /x?api_key=***&a=1"'


def test_log_levels_in_force() -> None:
    try:
        set_log_level("web.test", "WARN")
        assert get_log_levels()["web.test"] == "WARNING"
        assert "default" in get_log_levels()
    finally:
        logging.getLogger("web.test").setLevel(logging.NOTSET)


def test_settings_keep_the_api_key_out_of_sight() -> None:
    s = Settings.from_env({"NODE": "n", "AUTONOMY_ROSTER": "", "API_KEY": "s3cret"})
    assert s.api_key == "s3cret" and "s3cret" not in repr(s)
    assert Settings.from_env({"NODE": "n", "AUTONOMY_ROSTER": "", "API_KEY": ""}).api_key is None
    for raw, value in (("true", True), ("0", False), ("", None), ("Off", False)):
        env = {"NODE": "n", "AUTONOMY_ROSTER": "", "AUTONOMY_WAIT_UNTIL_INTERRUPTED": raw}
        assert Settings.from_env(env).wait_until_interrupted is value
