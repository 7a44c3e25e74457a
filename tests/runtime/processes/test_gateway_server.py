"""The model gateway forwarding to a STAND-IN model server (standin_models.py: a scripted
OpenAI-compatible server on 127.0.0.1, not a model): the token check, chat (plain,
streamed, with tools), embeddings, the model list, names and keys replaced on the way,
upstream errors, a closed port; then the real ``python -m autonomy.clusters.gateway``
queried with the openai library's AsyncOpenAI, as the SDK queries it."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standin_models import LISTED, STREAM_PIECES, TOOL_CALL, StandIn, stand_in

from autonomy.clusters.gateway import server
from autonomy.clusters.gateway._upstream import Upstream
from autonomy.clusters.gateway.routing import GatewayConfig, backends
from autonomy.errors import ConfigurationError
from autonomy.testing import free_port

TOKEN = "zone-token-7f3a"
KEY = "sk-standin-key-91c2"
SRC = Path(__file__).resolve().parents[3] / "src"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


@pytest.fixture
def upstream() -> Iterator[StandIn]:
    with stand_in() as s:
        yield s


def call(config: GatewayConfig, method: str, path: str, body: Any = None, token: str | None = TOKEN) -> httpx.Response:
    """One request to the gateway app, in this process (the app's httpx client reaches
    the stand-in over real TCP)."""

    async def go() -> httpx.Response:
        async with httpx.AsyncClient() as outbound:
            app = server.create_app(config, client=outbound)
            transport = httpx.ASGITransport(app=app)
            headers = {"X-Client-Node": "main-pod"} | ({"Authorization": f"Bearer {token}"} if token else {})
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                return await client.request(method, path, json=body, headers=headers)

    return asyncio.run(go())


def compatible(s: StandIn) -> GatewayConfig:
    return GatewayConfig(token=TOKEN, openai_api_key=KEY, openai_base_url=s.url)


def chat(content: str, model: str = "claude-sonnet-4-v1", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def assert_upstream_saw_key_not_token(s: StandIn) -> None:
    assert s.requests
    for r in s.requests:
        assert r.headers.get("Authorization") == f"Bearer {KEY}"
        assert TOKEN not in json.dumps(r.headers) + json.dumps(r.body)
        assert "X-Client-Node" not in r.headers


def test_the_token_is_required_and_compared_in_constant_time(
    upstream: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = compatible(upstream)
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(server.hmac, "compare_digest", spy)
    for token in (None, "wrong", TOKEN + "x", ""):
        r = call(config, "POST", "/v1/chat/completions", chat("hi"), token=token)
        assert r.status_code == 401, token
        assert r.json()["error"]["code"] == "invalid_api_key"
    assert call(config, "GET", "/v1/models", token="wrong").status_code == 401
    assert upstream.posts() == []
    assert call(config, "POST", "/v1/chat/completions", chat("hi")).status_code == 200
    assert (TOKEN.encode(), TOKEN.encode()) in compared
    health = call(config, "GET", "/health", token=None)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "backends": ["compatible"]}
    assert KEY not in health.text and TOKEN not in health.text


def test_every_route_but_health_refuses_a_wrong_token(upstream: StandIn) -> None:
    """Each route the app has, found from the app itself: a route added later without
    the token check fails here."""
    from fastapi.routing import APIRoute

    config = compatible(upstream)
    routes = [r for r in server.create_app(config).routes if isinstance(r, APIRoute)]
    assert {r.path for r in routes} >= {"/health", "/v1/models", "/v1/chat/completions", "/v1/embeddings"}
    for route in routes:
        for method in route.methods:
            r = call(config, method, route.path, chat("hi"), token="wrong")
            assert r.status_code == (200 if route.path == "/health" else 401), (method, route.path)
    assert upstream.posts() == []


def test_chat_rewrites_the_model_and_replaces_the_token_with_the_key(
    upstream: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="autonomy.gateway"):
        r = call(compatible(upstream), "POST", "/v1/chat/completions", chat("hello", temperature=0.2))
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == "echo: hello"
    (sent,) = upstream.posts()
    assert sent.path == "/v1/chat/completions"
    assert sent.body == chat("hello", model=LISTED[0], temperature=0.2)
    assert_upstream_saw_key_not_token(upstream)
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "autonomy.gateway"]
    assert len(lines) == 1
    assert "model=claude-sonnet-4-v1 backend=compatible upstream=stand-in-model status=200" in lines[0]
    assert "node=main-pod" in lines[0]
    assert TOKEN not in caplog.text and KEY not in caplog.text


def test_a_request_logs_one_line_whatever_its_model_name(upstream: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    """The model name is the client's text: a newline in it must not forge a log line."""
    with caplog.at_level(logging.INFO, logger="autonomy.gateway"):
        call(compatible(upstream), "POST", "/v1/chat/completions", chat("hi", model="x\nforged status=200"))
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "autonomy.gateway"]
    assert len(lines) == 1
    assert "\n" not in lines[0] and "\r" not in lines[0]


def test_a_listed_name_keeps_its_listed_id(upstream: StandIn) -> None:
    r = call(compatible(upstream), "POST", "/v1/chat/completions", chat("x", model="deepseek-r1"))
    assert r.status_code == 200
    assert upstream.posts()[0].body["model"] == "deepseek-r1:7b"


def test_a_stream_arrives_as_several_server_sent_events(upstream: StandIn) -> None:
    r = call(compatible(upstream), "POST", "/v1/chat/completions", chat("hi", stream=True))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in r.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    pieces = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[:-1]]
    assert pieces == [*STREAM_PIECES, None]
    assert upstream.posts()[0].body["stream"] is True
    assert_upstream_saw_key_not_token(upstream)


def test_tools_and_tool_calls_pass_through_unchanged(upstream: StandIn) -> None:
    r = call(compatible(upstream), "POST", "/v1/chat/completions", chat("weather?", tools=TOOLS, tool_choice="auto"))
    assert r.status_code == 200
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    expected = json.loads(json.dumps(TOOL_CALL))
    expected["function"]["name"] = "get_weather"
    assert choice["message"]["tool_calls"] == [expected]
    assert upstream.posts()[0].body["tools"] == TOOLS
    assert upstream.posts()[0].body["tool_choice"] == "auto"


def test_embeddings(upstream: StandIn) -> None:
    body = {"model": "embed-english-v3", "input": ["a", "b"]}
    r = call(compatible(upstream), "POST", "/v1/embeddings", body)
    assert r.status_code == 200
    assert [d["embedding"] for d in r.json()["data"]] == [[0.1, 0.2, 0.3]] * 2
    (sent,) = upstream.posts()
    assert sent.path == "/v1/embeddings"
    assert sent.body == {"model": "stand-in-embed", "input": ["a", "b"]}
    assert_upstream_saw_key_not_token(upstream)


def test_models_lists_the_sdk_names_and_the_servers_own(upstream: StandIn) -> None:
    r = call(compatible(upstream), "GET", "/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    for name in ("claude-sonnet-4-v1", "nova-pro-v1", "gpt-4o", "o3", "text-embedding-3-small", *LISTED):
        assert name in ids
    assert {m["object"] for m in body["data"]} == {"model"}
    assert {m["owned_by"] for m in body["data"]} == {"compatible"}
    assert_upstream_saw_key_not_token(upstream)


def test_upstream_errors_keep_their_status_and_shape(upstream: StandIn) -> None:
    r = call(compatible(upstream), "POST", "/v1/chat/completions", chat("please fail"))
    assert r.status_code == 429
    assert r.json()["error"] == {"message": "slow down", "type": "rate_limit_error", "code": "rate"}
    r = call(compatible(upstream), "POST", "/v1/chat/completions", chat("fail plainly", stream=True))
    assert r.status_code == 500
    error = r.json()["error"]
    assert error["type"] == "upstream_error" and "backend compatible answered 500: boom" in error["message"]
    assert KEY not in r.text


def test_a_closed_port_gives_502_naming_the_backend() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    config = GatewayConfig(token=TOKEN, openai_api_key=KEY, openai_base_url=url)
    for body in (chat("hi"), chat("hi", stream=True)):
        r = call(config, "POST", "/v1/chat/completions", body)
        assert r.status_code == 502
        message = r.json()["error"]["message"]
        assert message.startswith(f"backend compatible ({url}) is unreachable: ConnectError")
        assert KEY not in r.text and TOKEN not in r.text


def test_no_app_without_a_token() -> None:
    with pytest.raises(ConfigurationError, match="AUTONOMY_GATEWAY_TOKEN"):
        server.create_app(GatewayConfig(token="", anthropic_api_key=KEY))


def test_an_unreachable_url_is_shown_without_its_password() -> None:
    url = f"http://user:hunter2@127.0.0.1:{free_port()}/v1"
    r = call(GatewayConfig(token=TOKEN, openai_base_url=url), "POST", "/v1/chat/completions", chat("hi"))
    assert r.status_code == 502
    assert "hunter2" not in r.text and "(http://127.0.0.1:" in r.json()["error"]["message"]


def test_bad_requests_and_nothing_to_serve() -> None:
    config = GatewayConfig(token=TOKEN, anthropic_api_key=KEY)
    r = call(config, "POST", "/v1/chat/completions", {"messages": []})
    assert r.status_code == 400 and "'model'" in r.json()["error"]["message"]
    r = call(config, "POST", "/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"})
    assert r.status_code == 503
    assert "Anthropic has no embeddings" in r.json()["error"]["message"]


def test_each_provider_gets_its_own_key_as_bearer() -> None:
    config = GatewayConfig(token=TOKEN, anthropic_api_key="ak-1", openai_api_key="ok-2")
    have = backends(config)
    offline = backends(GatewayConfig(token=TOKEN, offline_url="http://offline:8081/v1"))["offline"]

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            up = Upstream(config, client=client)
            assert up.headers(have["anthropic"])["Authorization"] == "Bearer ak-1"
            assert up.headers(have["openai"])["Authorization"] == "Bearer ok-2"
            assert "Authorization" not in up.headers(offline)

    asyncio.run(go())


def _wait_for_port(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("the gateway did not listen")


def test_the_gateway_program_serves_the_openai_library(upstream: StandIn) -> None:
    openai = pytest.importorskip("openai")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "SSL_CERT_FILE")}
    env |= {
        "PYTHONPATH": str(SRC),
        "AUTONOMY_GATEWAY_TOKEN": TOKEN,
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": upstream.url,
    }
    cmd = [sys.executable, "-m", "autonomy.clusters.gateway", "--listen", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for_port(port, proc)

        async def sdk() -> None:
            headers = {"X-Client-Cluster": "c1", "X-Client-Zone": "z1", "X-Client-Node": "main-pod"}
            client = openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=TOKEN, default_headers=headers)
            async with client:
                ids = [m.id async for m in client.models.list()]
                assert "claude-sonnet-4-v1" in ids and "stand-in-model" in ids
                reply = await client.chat.completions.create(
                    model="claude-sonnet-4-v1", messages=[{"role": "user", "content": "hi"}]
                )
                assert reply.choices[0].message.content == "echo: hi"
                stream = await client.chat.completions.create(
                    model="nova-micro-v1", messages=[{"role": "user", "content": "hi"}], stream=True
                )
                pieces = [chunk.choices[0].delta.content async for chunk in stream if chunk.choices[0].delta.content]
                assert pieces == list(STREAM_PIECES)
                called = await client.chat.completions.create(
                    model="gpt-4o",
                    messages=[{"role": "user", "content": "weather?"}],
                    tools=TOOLS,
                )
                calls = called.choices[0].message.tool_calls or []
                named = [(c.function.name, c.function.arguments) for c in calls]
                assert named == [("get_weather", '{"city": "Paris"}')]
                vectors = await client.embeddings.create(model="titan-embed", input=["a"])
                assert vectors.data[0].embedding == [0.1, 0.2, 0.3]
                with pytest.raises(openai.AuthenticationError):
                    await openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="nope").models.list()

        asyncio.run(sdk())
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert_upstream_saw_key_not_token(upstream)
    assert "everything -> the OpenAI-compatible server at" in output
    assert "model=nova-micro-v1 backend=compatible upstream=stand-in-model status=200" in output
    assert TOKEN not in output and KEY not in output


def test_the_program_exits_2_naming_a_missing_token() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTONOMY_GATEWAY_")} | {"PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "autonomy.clusters.gateway", "--listen", f"127.0.0.1:{free_port()}"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: AUTONOMY_GATEWAY_TOKEN: required: the token clients must send"
    assert "Traceback" not in done.stderr


def test_fields_the_upstream_model_refuses_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """claude-opus-4-v1 goes to Anthropic as claude-opus-4-8, which refuses sampling
    parameters; the request that leaves the gateway (caught before the network) has none."""
    sent: list[tuple[str, str, dict[str, Any]]] = []

    async def catch(self: Upstream, backend: Any, path: str, body: dict[str, Any]) -> httpx.Response:
        sent.append((backend.name, path, body))
        return httpx.Response(200, json={"ok": True}, request=httpx.Request("POST", backend.base_url + path))

    monkeypatch.setattr(Upstream, "send", catch)
    config = GatewayConfig(token=TOKEN, anthropic_api_key=KEY)
    for model in ("claude-opus-4-v1", "claude-sonnet-4-v1"):
        assert call(config, "POST", "/v1/chat/completions", chat("hi", model=model, temperature=0.3)).status_code == 200
    assert sent == [
        ("anthropic", "/chat/completions", chat("hi", model="claude-opus-4-8")),
        ("anthropic", "/chat/completions", chat("hi", model="claude-sonnet-4-6", temperature=0.3)),
    ]
