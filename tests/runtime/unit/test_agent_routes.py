"""The node's ``/agents`` routes and the Repl, against a scripted stand-in model server
(not a model: see standin_model.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

from standin_model import StandIn, call, last, say

from autonomy import Agent, Repl, Tool
from autonomy.models import _client
from autonomy.nodes.node import Node
from autonomy.settings import Settings
from autonomy.testing import free_port


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def script(body: dict[str, Any]) -> dict[str, Any]:
    if body["messages"][-1]["role"] == "tool":
        return say(f"the sum is {last(body, 'tool')}")
    if "add" in last(body, "user"):
        return call("add", a=2, b=3)
    return say("you said " + last(body, "user"))


async def fetch(port: int, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, str]:
    def go() -> tuple[int, str]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {} if data is None else {"Content-Type": "application/json"}
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    return await asyncio.to_thread(go)


def serve(scenario: Callable[[Node, int], Awaitable[Any]]) -> Any:
    port = free_port()

    async def go() -> Any:
        async with StandIn(script) as standin:
            env = {"NODE": "web", "AUTONOMY_HTTP_PORT": str(port), "AUTONOMY_ROSTER": ""}
            env.update(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=standin.url + "/v1")
            settings = Settings.from_env(env)
            original = _client.settings
            _client.settings = lambda: settings  # type: ignore[assignment]
            node = await Node.open(settings)
            try:
                await Agent.start(node, "You add.", name="adder", tools=[Tool(add)])
                return await scenario(node, port)
            finally:
                await node.close()
                _client.settings = original  # type: ignore[assignment]

    return asyncio.run(go())


def test_the_agent_routes_answer_in_the_sdks_shapes() -> None:
    async def scenario(node: Node, port: int) -> None:
        status, text = await fetch(port, "/agents")
        agents = json.loads(text)["agents"]
        assert status == 200 and [a["name"] for a in agents] == ["adder"]
        status, text = await fetch(port, "/agents/adder?timeout=60", {"message": "add 2 and 3", "scope": "u1"})
        reply = json.loads(text)
        assert status == 200 and reply[-1]["content"] == {"text": "the sum is 5", "type": "text"}
        assert reply[-1]["role"] == "assistant" and reply[1]["role"] == "tool" and reply[1]["name"] == "add"
        status, text = await fetch(port, "/agents/adder", "hello")  # a bare JSON body is the message
        assert status == 200 and json.loads(text)[-1]["content"]["text"] == "you said hello"
        entry = json.loads((await fetch(port, "/agents/adder"))[1])
        assert (entry["name"], entry["conversations"], entry["model_calls"]) == ("adder", 2, 3)
        found = json.loads((await fetch(port, "/agents/adder/conversations"))[1])
        assert found["type"] == "get_conversations_response" and len(found["conversations"]) == 2
        one = json.loads((await fetch(port, "/agents/adder/scopes/u1/conversations"))[1])["conversations"]
        assert [c["scope"] for c in one] == ["u1"]
        assert one[0]["messages"][0]["content"]["text"] == "add 2 and 3"
        none = json.loads((await fetch(port, "/agents/adder/scopes/u1/conversations/other"))[1])
        assert none["conversations"] == []

    serve(scenario)


def test_unknown_agents_are_404_and_bad_bodies_400() -> None:
    async def scenario(node: Node, port: int) -> None:
        for path in ("/agents/nobody", "/agents/nobody/conversations", "/agents/nobody/scopes/s/conversations"):
            status, text = await fetch(port, path)
            assert status == 404 and "nobody" in json.loads(text)["detail"]
        assert (await fetch(port, "/agents/nobody", {"message": "hi"}))[0] == 404
        assert (await fetch(port, "/agents/adder", raw=b"{not json"))[0] == 400
        assert (await fetch(port, "/agents/adder", {"message": 42}))[0] == 400

    serve(scenario)


def test_stream_true_answers_newline_delimited_snippets() -> None:
    async def scenario(node: Node, port: int) -> None:
        status, text = await fetch(port, "/agents/adder?stream=true", {"message": "add please", "conversation": "c"})
        lines = [json.loads(line) for line in text.splitlines()]
        assert status == 200 and len(lines) > 3
        assert all(line["type"] == "conversation_snippet" and line["conversation"] == "c" for line in lines)
        words = [m["content"]["text"] for line in lines for m in line["messages"] if m["role"] == "assistant"]
        assert "".join(words).split() == ["the", "sum", "is", "5"]

    serve(scenario)


def test_the_repl_chats_line_by_line_in_the_sdks_framing() -> None:
    async def read_answer(reader: asyncio.StreamReader) -> str:
        """Chunks (length, newline, bytes) until ``0\\n``."""
        out = b""
        while True:
            size = int((await reader.readline()).strip())
            if size == 0:
                return out.decode()
            out += await reader.readexactly(size)

    async def read_notice(reader: asyncio.StreamReader) -> str:
        size = int((await reader.readline()).strip())
        return (await reader.readexactly(size)).decode()

    async def scenario(node: Node, port: int) -> None:
        agent = await Agent.start(node, "Chat.", name="chatty")
        repl = await Repl.start(agent, listen_address=f"127.0.0.1:{free_port()}")
        try:
            reader, writer = await asyncio.open_connection(repl.host, repl.port)
            welcome = await read_notice(reader)
            assert "chatty" in welcome and ":quit" in welcome
            writer.write(b"hello there\n")
            assert (await read_answer(reader)).strip() == "you said hello there"
            writer.write(b":scope team\n")
            assert "Scope set to team" in await read_notice(reader)
            writer.write(b'"""\nline one\nline two\n"""\n')
            assert (await read_answer(reader)).strip() == "you said line one\nline two"  # one message
            found = await agent.conversations(scope="team")
            assert len(found) == 1
            writer.write(b":q\n")
            assert await reader.read() == b""
            writer.close()
        finally:
            await repl.stop()

    serve(scenario)


def test_messages_serialise_as_the_sdks() -> None:
    from autonomy.agents.messages import AssistantMessage, TextContent

    assert dataclasses.asdict(AssistantMessage(TextContent("hi"))) == {
        "content": {"text": "hi", "type": "text"},
        "phase": "executing",
        "thinking": False,
        "tool_calls": [],
        "role": "assistant",
    }
