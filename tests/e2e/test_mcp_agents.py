"""Agents whose tool is an MCP server's, each pod with its own server, on a real Docker
engine (projects/mcpagents, deployed once for the module).

The zone has two pod kinds: a public ``main-pod`` and a ``runner`` pod with ``clones:
2``. Every pod pairs a node with a container of ``ghcr.io/build-trust/mcp-proxy`` (built
here) that runs PyPI's time server (``uvx mcp-server-time``) on the pod's
localhost:8001. Each node starts agent ``clock`` with ``McpTool("time",
"get_current_time")``, which its model knows as ``time_get_current_time``; the runner
nodes start theirs themselves.

The model is a scripted OpenAI-compatible **stand-in** on this host's 127.0.0.1
(tests/e2e/standin.py, not a model), reached through the zone's gateway
(``OPENAI_BASE_URL``): it asks for the tool first, then answers
``<node> says: <what the tool answered>``, the node read from the agent's instructions.
So a reply that carries the time server's JSON shows that the tool ran on that node's
MCP client and that its result went to the model and into the reply:

* ``POST /agents/clock`` on the public pod answers the time server's output;
* ``GET /runners`` on the public pod asks agent clock of both runner clones with
  ``send_and_receive``: each answers, naming its own node, with the time server's output;
* the main pod's MCP container is killed in the middle of a conversation (when the model
  is asked for its first step): the tool call gives the model an error result and the
  agent still answers; meanwhile both runners still answer from their own servers; once
  the container is started again, the main node's client reconnects and the same
  conversation gets the time again.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools import PROVIDERS, copy_project, http_request, leftovers, run_cli
from standin import MODEL, StandIn, tool_call

from clirun import LABEL

pytestmark = pytest.mark.e2e
NEEDS_IMAGES = ("mcp",)  # built on the side: tests/e2e/prebuild.py

ZONE = "mcpagents"
TOOL = "time_get_current_time"  # McpTool("time", "get_current_time"), as the model knows it
UTC = '"timezone": "UTC"'  # in the time server's answer to get_current_time(timezone="UTC")
#: seconds to wait for an MCP server fetched by uvx when its container starts
SERVER_START = 300
#: seconds the main node's client may take to reconnect once its server is back
RECONNECT = 90


class Script:
    """The stand-in's script: ask for the tool when the user's last message has no tool
    result yet, else answer with the last one. ``kill_main``, when set, is called (once)
    as the main node's agent asks its model for the first step of a turn."""

    def __init__(self) -> None:
        self.kill_main: Any = None
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages", [])
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        since = messages[users[-1] + 1 :] if users else messages
        results = [str(m.get("content")) for m in since if m.get("role") == "tool"]
        system = " ".join(str(m.get("content")) for m in messages if m.get("role") == "system")
        found = re.search(r"NODE=(\S+?)\.", system)
        node = found.group(1) if found else "an unknown node"
        if results:
            return {"content": f"{node} says: {results[-1]}"}
        if node.endswith("-main-pod-main"):
            with self._lock:
                kill, self.kill_main = self.kill_main, None
            if kill is not None:
                kill()
        return tool_call(f"call_{len(messages)}", TOOL, {"timezone": "UTC"})


class Zone:
    """The deployed project: its public URL, what the deploy said, the stand-in."""

    def __init__(self, output: str, standin: StandIn, script: Script, home: Path) -> None:
        self.output, self.standin, self.script, self.home = output, standin, script, home
        found = re.search(r"HTTP: (http://127\.0\.0\.1:\d+)", output)
        assert found, output
        self.http = found.group(1)


@pytest.fixture(scope="module")
def zone(cold_engine: Any, autonomy_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    project = copy_project("mcpagents", tmp_path_factory.mktemp("mcpagents"), ZONE)
    script = Script()
    with StandIn(script) as standin:
        try:
            settings = {name: "" for name in PROVIDERS} | {"OPENAI_BASE_URL": standin.url}
            r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project), env=settings, timeout=3000)
            out = r.stdout + r.stderr
            assert r.returncode == 0, out[-6000:]
            yield Zone(out, standin, script, autonomy_home)
        finally:
            r = run_cli(autonomy_home, "zone", "delete", ZONE, "-y", "--images")
            assert r.returncode == 0, r.stdout + r.stderr
            assert leftovers(cold_engine, ZONE) == []


def _last_text(messages: list[dict[str, Any]]) -> str:
    assert messages, messages
    return str(messages[-1]["content"]["text"])


def _ask_main(zone: Zone, conversation: str) -> str:
    """Agent clock of the main pod, asked over HTTP: the text of its last message."""
    body = {"message": "What time is it in UTC?", "conversation": conversation}
    status, text = http_request(f"{zone.http}/agents/clock", body)
    assert status == 200, (status, text)
    return _last_text(json.loads(text))


def _ask_runners(zone: Zone) -> dict[str, str]:
    """runner node -> the last words of its agent clock, asked by the main node."""
    status, text = http_request(f"{zone.http}/runners")
    assert status == 200, (status, text)
    reply = json.loads(text)
    assert reply["asked_by"].endswith("-mcpagents-main-pod-main"), reply
    return {
        name: (answer["error"] if "error" in answer else _last_text(answer["messages"]))
        for name, answer in reply["runners"].items()
    }


def _container(client: Any, instance: str, name: str) -> Any:
    labels = [f"{LABEL}zone={ZONE}", f"{LABEL}instance={instance}", f"{LABEL}container={name}", f"{LABEL}role=app"]
    found = client.containers.list(all=True, filters={"label": labels})
    assert len(found) == 1, [c.name for c in found]
    return found[0]


def _until(what: str, ask: Any, done: Any, seconds: float) -> Any:
    """``ask()`` again every 2 s until ``done(answer)``; fails past ``seconds`` with the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        answer = ask()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"{what}: still {answer!r}"
        time.sleep(2)


@pytest.mark.timeout(3600)  # may build the base and MCP proxy images first
def test_the_main_agent_answers_with_its_pods_time_server_output(zone: Zone) -> None:
    assert zone.standin.url in zone.output and "MCP proxy image ghcr.io/build-trust/mcp-proxy:" in zone.output
    text = _until("agent clock of main-pod", lambda: _ask_main(zone, "first"), lambda t: UTC in t, SERVER_START)
    assert text.startswith(f"{_main_node(zone)} says: {{") and '"datetime"' in text, text
    # the model was offered the server's own description and input schema of the tool
    chats = [s for s in zone.standin.seen if s["path"] == "/v1/chat/completions" and _from_main(s)]
    assert chats and chats[-1]["model"] == MODEL, chats
    spec = next(t["function"] for t in chats[-1]["tools"] if t["function"]["name"] == TOOL)
    assert "timezone" in spec["parameters"]["properties"], spec
    status, body = http_request(f"{zone.http}/tools")
    assert status == 200, body
    listed = {t["name"]: t for t in json.loads(body)["tools"]}
    assert listed[TOOL]["server"] == "time" and listed[TOOL]["tool"] == "get_current_time", body


def test_each_runner_clone_answers_from_its_own_time_server(zone: Zone) -> None:
    answers = _until(
        "the runners' agents",
        lambda: _ask_runners(zone),
        lambda a: len(a) == 2 and all(UTC in t for t in a.values()),
        SERVER_START,
    )
    assert sorted(n.rsplit("-", 2)[-2] for n in answers) == ["0", "1"], answers  # runner-0 and runner-1
    for node, text in answers.items():
        assert node.endswith(("-mcpagents-runner-0-runner", "-mcpagents-runner-1-runner")), answers
        assert text.startswith(f"{node} says: {{"), answers  # that node's agent, its tool's result


def test_a_killed_tool_server_gives_an_error_result_and_its_restart_the_time_again(
    zone: Zone, cold_engine: Any
) -> None:
    _until("agent clock of main-pod", lambda: _ask_main(zone, "talk"), lambda t: UTC in t, SERVER_START)
    _until("the runners", lambda: _ask_runners(zone), lambda a: all(UTC in t for t in a.values()), SERVER_START)
    server = _container(cold_engine, "main-pod", "time")

    def kill() -> None:
        server.kill()
        server.wait(timeout=60)  # gone before the model's answer asks for the tool

    zone.script.kill_main = kill
    text = _ask_main(zone, "talk")  # the same conversation: its second turn
    assert zone.script.kill_main is None, "the stand-in was not asked by the main node's agent"
    assert text.startswith(f"{_main_node(zone)} says: error: ") and "MCP server 'time'" in text, text
    assert UTC not in text, text
    status, body = http_request(f"{zone.http}/agents/clock")
    figures = json.loads(body)
    assert status == 200 and TOOL in (figures["last_error"] or ""), body
    assert figures["tool_calls"] >= 2 and figures["tool_errors"] >= 1, body  # the tool calls are counted
    shown = run_cli(zone.home, "zone", "status", ZONE)
    assert "tool calls (" in shown.stdout and "failed)" in shown.stdout, shown.stdout  # and shown per agent

    # the runners' servers are their own: they still answer the time
    answers = _ask_runners(zone)
    assert len(answers) == 2 and all(UTC in t for t in answers.values()), answers

    server.reload()
    if server.status != "running":  # a killed container stays down (restart: unless-stopped)
        server.start()
    text = _until("agent clock of main-pod after the restart", lambda: _ask_main(zone, "talk"), lambda t: UTC in t,
                  RECONNECT)  # fmt: skip
    assert text.startswith(f"{_main_node(zone)} says: {{"), text
    status, body = http_request(f"{zone.http}/agents/clock/conversations")
    turns = [m for c in json.loads(body)["conversations"] if c["conversation"] == "talk" for m in c["messages"]]
    assert sum(m["role"] == "user" for m in turns) >= 3, turns  # one conversation went on throughout


def _main_node(zone: Zone) -> str:
    """The main node's full name, as its ``GET /workers`` says it."""
    status, body = http_request(f"{zone.http}/workers")
    assert status == 200, body
    name = str(json.loads(body)["node"])
    assert name.endswith("-mcpagents-main-pod-main"), body
    return name


def _from_main(request: dict[str, Any]) -> bool:
    return any("-main-pod-main." in str(m.get("content")) for m in request.get("messages", []) if m["role"] == "system")
