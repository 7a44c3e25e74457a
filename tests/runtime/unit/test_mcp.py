"""Tools over MCP: a real MCP server over SSE (FastMCP, mcp_tool_server.py, in its own
process) and agents whose model is the scripted stand-in of standin_model.py (not a
model: it forces the tool calls). McpTool's name and schema, a call's real output in the
reply, error and malformed results, a server unreachable at start, killed and restarted
under a conversation, McpServer exposing an agent, ``GET /tools``."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from standin_model import StandIn, call, last, say
from test_web_server import fetch

from autonomy import Agent, McpClient, McpError, McpServer, McpTool, Model, Tool
from autonomy.models import _client
from autonomy.nodes.node import Node
from autonomy.settings import Settings
from autonomy.testing import free_port

SERVER = Path(__file__).with_name("mcp_tool_server.py")


@contextmanager
def tool_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The MCP server on 127.0.0.1:port, killed at the end."""
    proc = subprocess.Popen([sys.executable, str(SERVER), str(port)])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def run(
    scenario: Callable[[Node, StandIn], Awaitable[Any]],
    script: Callable[[dict[str, Any]], dict[str, Any]],
    clients: list[McpClient] | None = None,
    server: McpServer | None = None,
    http_port: int = 0,
) -> Any:
    async def go() -> Any:
        async with StandIn(script) as standin:
            env = {"NODE": "n1", "AUTONOMY_HTTP_PORT": str(http_port), "AUTONOMY_ROSTER": ""}
            env.update(OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=standin.url + "/v1")
            settings = Settings.from_env(env)
            original = _client.settings
            _client.settings = lambda: settings  # type: ignore[assignment]
            node = await Node.open(settings, mcp_clients=clients, mcp_server=server)
            try:
                return await scenario(node, standin)
            finally:
                await node.close()
                _client.settings = original  # type: ignore[assignment]

    return asyncio.run(go())


async def until(condition: Callable[[], bool]) -> None:
    """Wait (at most 60 s) for something a background task does."""
    async with asyncio.timeout(60):
        while not condition():
            await asyncio.sleep(0.02)


def calls_the_tool(body: dict[str, Any]) -> dict[str, Any]:
    """The user names the tool and its JSON arguments ("calc_add {...}"); the model calls
    it, then reports the tool's result."""
    if body["messages"][-1]["role"] == "tool":
        return say(f"tool said: {last(body, 'tool')}")
    name, _, arguments = last(body, "user").partition(" ")
    return call(name, **json.loads(arguments or "{}"))


def test_the_tool_is_named_server_tool_and_takes_the_servers_schema() -> None:
    port = free_port()
    assert McpTool("calc", "add").name == "calc_add"
    with pytest.raises(ValueError):
        McpTool("calc", "a.b")
    with pytest.raises(ValueError):
        McpClient("calc", "localhost:8001")
    client = McpClient("calc", f"http://127.0.0.1:{port}/sse")

    async def scenario(node: Node, standin: StandIn) -> None:
        await client.wait_connected(60)
        tool = McpTool("calc", "add")
        tool.bind(node)
        spec = (await tool.spec())["function"]
        assert spec["name"] == "calc_add" and spec["description"] == "Add two integers."
        assert spec["parameters"]["required"] == ["a", "b"]
        assert spec["parameters"]["properties"]["a"]["type"] == "integer"
        missing = McpTool("calc", "nope")
        missing.bind(node)
        assert "does not list it" in (await missing.spec())["function"]["description"]
        with pytest.raises(McpError, match="no tool 'nope'"):
            await missing.invoke("{}")
        assert {t["name"] for t in await node.mcp_tools()} == {"calc_add", "calc_fail", "calc_broken"}

    with tool_server(port):
        run(scenario, calls_the_tool, [client])


def test_an_agent_calls_the_tool_and_gets_its_output_errors_and_malformed_results() -> None:
    port = free_port()
    client = McpClient("calc", f"http://127.0.0.1:{port}/sse")

    async def scenario(node: Node, standin: StandIn) -> None:
        await client.wait_connected(60)
        tools = [McpTool("calc", "add"), McpTool("calc", "fail"), McpTool("calc", "broken")]
        agent = await Agent.start(node, "You use tools.", name="user", model=Model("gpt-4o"), tools=tools)
        reply = await agent.send('calc_add {"a": 20, "b": 22}', conversation="c1")
        assert reply[-1].content.text == "tool said: 42"
        assert reply[0].tool_calls[0].function.name == "calc_add"
        assert json.loads(reply[0].tool_calls[0].function.arguments) == {"a": 20, "b": 22}
        assert reply[1].role == "tool" and reply[1].content.text == "42"
        sent = standin.requests[0][0]["tools"]
        assert [t["function"]["name"] for t in sent] == ["calc_add", "calc_fail", "calc_broken"]
        assert sent[0]["function"]["parameters"]["required"] == ["a", "b"]

        failed = (await agent.send('calc_fail {"reason": "test"}', conversation="c1"))[-1].content.text
        assert failed.startswith("tool said: error:") and "failing on purpose: test" in failed
        broken = (await agent.send("calc_broken {}", conversation="c1"))[-1].content.text
        assert broken.startswith("tool said: error:") and "no usable result" in broken
        assert "42" in (await agent.send('calc_add {"a": 40, "b": 2}', conversation="c1"))[-1].content.text

        (conversation,) = await agent.conversations()
        recorded = [(m["role"], m["content"]["text"]) for m in conversation["messages"] if m["role"] == "tool"]
        assert recorded[0] == ("tool", "42") and recorded[1][1].startswith("error:") and len(recorded) == 4

    with tool_server(port):
        run(scenario, calls_the_tool, [client])


def test_an_unreachable_server_is_logged_and_the_node_starts(caplog: pytest.LogCaptureFixture) -> None:
    address = f"http://127.0.0.1:{free_port()}/sse"
    client = McpClient("ghost", address)

    async def scenario(node: Node, standin: StandIn) -> None:
        await until(lambda: client.last_error is not None)
        agent = await Agent.start(node, "You use tools.", tools=[McpTool("ghost", "add")])
        text = (await agent.send('ghost_add {"a": 1, "b": 2}'))[-1].content.text
        assert text.startswith("tool said: error:") and "not connected" in text and address in text
        return await node.list_workers()

    with caplog.at_level(logging.WARNING, logger="autonomy.mcp"):
        assert run(scenario, calls_the_tool, [client])
    (line,) = [r.getMessage() for r in caplog.records if "cannot reach" in r.getMessage()]
    assert "'ghost'" in line and address in line and "ConnectError" in line


def test_a_server_killed_and_restarted_under_a_conversation() -> None:
    port = free_port()
    client = McpClient("calc", f"http://127.0.0.1:{port}/sse")

    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(node, "You use tools.", tools=[McpTool("calc", "add")])
        with tool_server(port):
            await client.wait_connected(60)
            assert (await agent.send('calc_add {"a": 1, "b": 1}', conversation="c"))[-1].content.text == "tool said: 2"
        # the server is gone (killed): the model gets an error result, the agent answers
        text = (await agent.send('calc_add {"a": 2, "b": 2}', conversation="c"))[-1].content.text
        assert text.startswith("tool said: error:") and "MCP server 'calc'" in text
        with tool_server(port):  # back on the same port: the client reconnects
            await client.wait_connected(60)
            text = (await agent.send('calc_add {"a": 3, "b": 3}', conversation="c"))[-1].content.text
            assert text == "tool said: 6"

    run(scenario, calls_the_tool, [client])


def test_mcp_server_exposes_an_agent_to_an_mcp_client() -> None:
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    server = McpServer("127.0.0.1:0")

    def answers(body: dict[str, Any]) -> dict[str, Any]:
        return say(f"you said {last(body, 'user')}")

    async def scenario(node: Node, standin: StandIn) -> None:
        await Agent.start(node, "You echo.", name="echo", exposed_as="echo_agent")
        async with sse_client(f"http://127.0.0.1:{server.bound_port}/sse") as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                (tool,) = (await session.list_tools()).tools
                assert tool.name == "echo_agent" and tool.inputSchema["required"] == ["message"]
                result = await session.call_tool("echo_agent", {"message": "hello"})
                assert not result.isError and result.content[0].text == "you said hello"
                unknown = await session.call_tool("nobody", {"message": "hello"})
                assert unknown.isError

    run(scenario, answers, server=server)


def test_get_tools_lists_mcp_and_agent_tools() -> None:
    port, http = free_port(), free_port()
    client = McpClient("calc", f"http://127.0.0.1:{port}/sse")

    def add(a: int, b: int) -> int:
        """Add locally."""
        return a + b

    async def scenario(node: Node, standin: StandIn) -> None:
        await client.wait_connected(60)
        await Agent.start(node, "x", name="a1", tools=[Tool(add), McpTool("calc", "add"), McpTool("off", "x")])
        tools = {t["name"]: t for t in json.loads((await fetch(http, "/tools"))[1])["tools"]}
        assert tools["calc_add"]["server"] == "calc" and tools["calc_add"]["description"] == "Add two integers."
        assert tools["add"] == {"name": "add", "description": "Add locally.", "server": None, "agents": ["a1"]}
        assert tools["off_x"]["server"] == "off"
        status, one = await fetch(http, "/tools/calc_fail")
        assert status == 200 and json.loads(one)["description"] == "Always fails."
        assert (await fetch(http, "/tools/nope"))[0] == 404

    with tool_server(port):
        run(scenario, calls_the_tool, [client], http_port=http)


def test_a_node_without_mcp_never_loads_it() -> None:
    code = (
        "import sys, autonomy, autonomy.nodes.node, autonomy.tools.mcp\n"
        "autonomy.McpTool('a', 'b'); autonomy.McpClient('a', 'http://x:1/sse'); autonomy.McpServer\n"
        "print('mcp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
