"""Agents on a node in this process, against a scripted stand-in model server (not a
model: see standin_model.py): the tool loop, memory per scope and conversation, the
limits, a raising tool, ask-for-input, streaming, the figures, the gateway's variables."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from standin_model import StandIn, call, last, say

from autonomy import Agent, AgentError, Model, Tool
from autonomy.errors import ConfigurationError
from autonomy.models import _client
from autonomy.nodes.node import Node
from autonomy.settings import Settings

Scenario = Callable[[Node, StandIn], Awaitable[Any]]


def run(
    scenario: Scenario, script: Callable[[dict[str, Any]], dict[str, Any]], env: dict[str, str] | None = None
) -> Any:
    """Run ``scenario(node, standin)``: a standalone node without HTTP, models reached at
    the stand-in (``OPENAI_*``, or the gateway's variables when ``env`` names them)."""

    async def go() -> Any:
        async with StandIn(script) as standin:
            values = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": standin.url + "/v1"}
            for k, v in (env or {}).items():
                values[k] = v.replace("{url}", standin.url)
            base = {"NODE": "n1", "AUTONOMY_HTTP_PORT": "0", "AUTONOMY_ROSTER": ""}
            settings = Settings.from_env({**base, **values})
            _client.settings.cache_clear()
            original = _client.settings
            _client.settings = lambda: settings  # type: ignore[assignment]
            node = await Node.open(settings)
            try:
                return await scenario(node, standin)
            finally:
                await node.close()
                _client.settings = original  # type: ignore[assignment]

    return asyncio.run(go())


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def boom(reason: str) -> str:
    """Always fails."""
    raise ValueError(f"broken: {reason}")


def tool_then_answer(body: dict[str, Any]) -> dict[str, Any]:
    """Call ``add`` for a user message, then say what the tool answered."""
    if body["messages"][-1]["role"] == "tool":
        return say(f"the sum is {last(body, 'tool')}")
    return call("add", a=2, b=3)


def test_a_forced_tool_call_reaches_the_reply_and_the_figures() -> None:
    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(node, "You add.", name="adder", model=Model("gpt-4o"), tools=[Tool(add)])
        reply = await agent.send("what is 2+3?")
        assert reply[-1].content.text == "the sum is 5"
        assert [m.role for m in reply] == ["assistant", "tool", "assistant"]
        assert reply[0].tool_calls[0].function.name == "add"
        first = standin.requests[0][0]
        assert first["model"] == "gpt-4o"
        assert first["messages"][0] == {"role": "system", "content": "You add."}
        assert first["tools"][0]["function"]["name"] == "add"
        (status,) = await node.list_agents()
        assert status["name"] == "adder" and status["model"] == "gpt-4o" and status["tools"] == ["add"]
        assert (status["conversations"], status["model_calls"]) == (1, 2)
        assert (status["prompt_tokens"], status["completion_tokens"], status["last_error"]) == (20, 10, None)
        assert (status["tool_calls"], status["tool_errors"]) == (1, 0)
        assert {"name": "adder"} in await node.list_workers()
        json.dumps([dataclasses.asdict(m) for m in reply])  # the SDK's JSON shape

    run(scenario, tool_then_answer)


def test_memory_is_per_scope_and_conversation() -> None:
    def recall(body: dict[str, Any]) -> dict[str, Any]:
        return say(" | ".join(m["content"] for m in body["messages"] if m["role"] == "user"))

    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(node, "Remember.", name="memo")
        await agent.send("alpha", scope="alice", conversation="c1")
        assert (await agent.send("beta", scope="alice", conversation="c1"))[-1].content.text == "alpha | beta"
        assert (await agent.send("gamma", scope="bob", conversation="c1"))[-1].content.text == "gamma"
        assert (await agent.send("delta", scope="alice", conversation="c2"))[-1].content.text == "delta"
        assert standin.requests[0][0]["model"] == "claude-sonnet-4-v1"  # the SDK's default
        found = await agent.conversations(scope="alice")
        assert sorted(c["conversation"] for c in found) == ["c1", "c2"]
        c1 = next(c for c in found if c["conversation"] == "c1")
        assert [m["content"]["text"] for m in c1["messages"] if m["role"] == "user"] == ["alpha", "beta"]

    run(scenario, recall)


def test_max_iterations_ends_the_turn_with_a_clear_message() -> None:
    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(node, "Loop.", tools=[Tool(add)], max_iterations=3)
        reply = await agent.send("go")
        assert "max_iterations (3)" in reply[-1].content.text
        assert len(standin.requests) == 3
        (status,) = await node.list_agents()
        assert "max_iterations" in status["last_error"]
        again = await agent.send("and again")  # the conversation is still one a model accepts
        assert "max_iterations" in again[-1].content.text

    run(scenario, lambda body: call("add", a=1, b=1))


def test_max_execution_time_ends_the_turn_with_a_clear_message() -> None:
    gate = asyncio.Event()
    entered = asyncio.Event()

    async def stuck(x: int) -> str:
        """Never returns."""
        entered.set()
        await gate.wait()
        return "never"

    async def scenario(node: Node, standin: StandIn) -> None:
        # The bound leaves room for the model call before the tool on a loaded machine
        # (0.2 s did not, once): the time must run out inside the tool, never before it.
        agent = await Agent.start(node, "Wait.", tools=[Tool(stuck)], max_execution_time=3)
        reply = await agent.send("go")
        assert entered.is_set(), "the turn ran out of time before the tool was called"
        assert "max_execution_time (3 s)" in reply[-1].content.text
        history = (await agent.conversations())[0]["messages"]
        results = [m for m in history if m["role"] == "tool"]
        assert results and "not run" in results[0]["content"]["text"]

    run(scenario, lambda body: call("stuck", x=1))


def test_a_raising_tool_is_an_error_result_not_a_dead_agent() -> None:
    def script(body: dict[str, Any]) -> dict[str, Any]:
        if body["messages"][-1]["role"] == "tool":
            return say("tool said: " + last(body, "tool"))
        if last(body, "user") == "unknown":
            return call("nosuch")
        return call("boom", reason="why")

    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(node, "Try.", tools=[boom])  # a plain function is wrapped
        reply = await agent.send("go")
        assert "ValueError: broken: why" in reply[-1].content.text
        (status,) = await node.list_agents()
        assert "broken: why" in status["last_error"]
        reply = await agent.send("unknown")
        assert "no tool named 'nosuch'" in reply[-1].content.text
        (status,) = await node.list_agents()
        assert (status["tool_calls"], status["tool_errors"]) == (2, 2)

    run(scenario, script)


def test_ask_for_user_input_pauses_and_the_next_message_resumes() -> None:
    def script(body: dict[str, Any]) -> dict[str, Any]:
        if body["messages"][-1]["role"] == "tool":
            return say(f"booking for {last(body, 'tool')}")
        return call("ask_user_for_input", question="For how many people?")

    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(node, "Book.", enable_ask_for_user_input=True)
        assert standin.requests == []
        reply = await agent.send("book a table", scope="s", conversation="c")
        assert reply[-1].content.text == "For how many people?"
        assert standin.requests[0][0]["tools"][0]["function"]["name"] == "ask_user_for_input"
        (status,) = await node.list_agents()
        assert status["waiting_for_input"] == 1
        reply = await agent.send("four", scope="s", conversation="c")
        assert reply[-1].content.text == "booking for four"
        assert reply[0].role == "tool" and reply[0].content.text == "four"

    run(scenario, script)


def test_streaming_yields_several_snippets_in_order() -> None:
    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(node, "Stream.", tools=[Tool(add)])
        parts = [p async for p in agent.send_stream("2+3?")]
        assert [p.part_nb for p in parts] == list(range(1, len(parts) + 1))
        assert parts[-1].finished and not any(p.finished for p in parts[:-1])
        texts = [m.content.text for p in parts for m in p.snippet.messages if m.role == "assistant"]
        assert "".join(texts).split() == ["the", "sum", "is", "5"]
        assert len([t for t in texts if t]) >= 4  # word by word, as the model wrote
        assert any(m.role == "tool" for p in parts for m in p.snippet.messages)
        assert standin.requests[0][0]["stream"] is True

    run(scenario, tool_then_answer)


def test_send_message_answers_later_and_a_failing_model_is_an_agent_error() -> None:
    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(node, "Echo.", model="nova-micro-v1")
        receiver = await agent.send_message("hello")
        messages = await receiver.receive_message(timeout=30)
        assert messages[-1].content.text == "echo hello"
        broken = await Agent.start(node, "Fail.", model=Model("gpt-4o"))
        with pytest.raises(AgentError, match="stand-in refuses"):
            await broken.send("fail please")
        (status,) = [a for a in await node.list_agents() if a["name"] == broken.name]
        assert status["last_error"]

    def script(body: dict[str, Any]) -> dict[str, Any]:
        if last(body, "user") == "fail please":
            return {"status": 400, "content": "stand-in refuses"}
        return say("echo " + last(body, "user"))

    run(scenario, script)


def test_the_gateway_is_reached_with_its_url_key_and_headers(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("gw-key-from-file\n")
    env = {
        "AUTONOMY_USE_EXTERNAL_APIS_GATEWAY": "1",
        "AUTONOMY_EXTERNAL_APIS_GATEWAY_URL": "{url}",
        "AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY_FILE": str(key_file),
        "CLUSTER": "c0ffee",
        "ZONE": "hello",
        "OPENAI_API_KEY": "",
    }

    async def scenario(node: Node, standin: StandIn) -> None:
        model = Model("claude-sonnet-4-v1", temperature=0.25)
        reply = await model.complete_chat([{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content == "hello there"
        vectors = await model.embeddings(["abc", "de"])
        assert vectors == [[3.0, 1.0], [2.0, 1.0]]
        body, headers = standin.requests[0]
        assert body["model"] == "claude-sonnet-4-v1" and body["temperature"] == 0.25
        assert headers["authorization"] == "Bearer gw-key-from-file"
        assert (headers["x-client-cluster"], headers["x-client-zone"], headers["x-client-node"]) == (
            "c0ffee",
            "hello",
            "n1",
        )
        assert await asyncio.to_thread(Model.list) == ["claude-sonnet-4-v1", "gpt-4o"]

    run(scenario, lambda body: say("hello there"), env)


def test_no_model_api_is_a_configuration_error_naming_the_variables() -> None:
    with pytest.raises(ConfigurationError) as e:
        _client.endpoint(Settings.from_env({"AUTONOMY_ROSTER": ""}))
    assert "AUTONOMY_USE_EXTERNAL_APIS_GATEWAY" in str(e.value) and "OPENAI_API_KEY" in str(e.value)
    gateway = {
        "AUTONOMY_ROSTER": "",
        "AUTONOMY_USE_EXTERNAL_APIS_GATEWAY": "1",
        "AUTONOMY_EXTERNAL_APIS_GATEWAY_URL": "x",
    }
    with pytest.raises(ConfigurationError, match="AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY"):
        _client.endpoint(Settings.from_env(gateway))
    where = _client.endpoint(Settings.from_env({**gateway, "AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY": "secret"}))
    assert where.base_url == "x/v1" and "secret" not in repr(where)


def test_agent_names_follow_the_worker_rule_and_stop_ends_an_agent() -> None:
    async def scenario(node: Node, standin: StandIn) -> None:
        with pytest.raises(ValueError, match="worker name"):
            await Agent.start(node, "x", name="no spaces")
        many = await Agent.start_many(node, "Same.", 3)
        assert len({a.name for a in many}) == 3
        assert len(await node.list_agents()) == 3
        await Agent.stop(node, many[0].name)
        assert len(await node.list_agents()) == 2

    run(scenario, lambda body: say("ok"))


def test_a_turn_out_of_time_answers_every_tool_call_of_the_model_ask_included() -> None:
    """The model asks the user and calls a tool at once; the tool outlasts the turn. The
    conversation must still answer both calls, or a model API refuses the next turn."""
    gate = asyncio.Event()

    async def stuck(x: int) -> str:
        """Never returns."""
        await gate.wait()
        return "never"

    def script(body: dict[str, Any]) -> dict[str, Any]:
        return {"tool_calls": [("ask_user_for_input", {"question": "how many?"}), ("stuck", {"x": 1})]}

    async def scenario(node: Node, standin: StandIn) -> None:
        agent = await Agent.start(
            node, "Wait.", tools=[Tool(stuck)], max_execution_time=3, enable_ask_for_user_input=True
        )
        reply = await agent.send("go")
        assert "max_execution_time" in reply[-1].content.text
        history = (await agent.conversations())[0]["messages"]
        asked = {c["id"] for m in history if m["role"] == "assistant" for c in m.get("tool_calls") or []}
        answered = {m["tool_call_id"] for m in history if m["role"] == "tool"}
        assert len(asked) == 2  # the model's answer was kept: the time ran out in the tool
        assert answered == asked

    run(scenario, script)
