"""Agents in a deployed zone, with no provider key and no network: the zone's gateway and
the bundled offline model (SmolLM2-135M, built once and kept) answer them.

projects/agents is deployed once for the module (see its autonomy.yaml):

* main-pod, the SDK examples' shape: agent henry answers ``POST /agents/henry`` on the
  public pod (127.0.0.1:32100) with the model's words, as one JSON answer or streamed as
  newline-delimited JSON; a Repl in front of henry on the pod's own 127.0.0.1:7000
  answers a line through a portal outlet;
* app-pod, a two-stage image (humanize installed by pip in the -dev stage) whose FastAPI
  app asks four agents at once: all four answer.

Then the zone is deployed again with ``OPENAI_BASE_URL`` pointing at a scripted
OpenAI-compatible **stand-in** on this host's 127.0.0.1 (tests/e2e/standin.py, not a
model): it asks for agent keeper's tool first, then answers with the tool's result it
was sent. The HTTP reply carries that result, which names the container's node: the tool
ran in the container, and its result went to the model and into the reply.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools import Dev, copy_project, deploy_with_providers, http_request, leftovers, run_cli
from standin import MODEL, StandIn, tool_call, tool_results

pytestmark = pytest.mark.e2e
NEEDS_IMAGES = ("dev", "model")  # built on the side: tests/e2e/prebuild.py

ZONE = "agents"
HARBOR_CODE = "kestrel-5521"  # what keeper's tool answers (projects/agents/images/main/main.py)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Zone:
    """The deployed project: its folder, its URLs, what the deploy said."""

    def __init__(self, project: Path, output: str, repl_port: int, app_port: int) -> None:
        self.project, self.output = project, output
        found = re.search(r"HTTP: (http://127\.0\.0\.1:\d+)", output)
        assert found, output
        self.http = found.group(1)
        self.repl_port, self.app_port = repl_port, app_port


@pytest.fixture(scope="module")
def zone(cold_engine: Any, autonomy_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zone]:
    project = copy_project("agents", tmp_path_factory.mktemp("agents"), ZONE)
    repl_port, app_port = _free_port(), _free_port()
    manifest = project / "autonomy.yaml"
    text = manifest.read_text().replace("REPL_PORT", str(repl_port)).replace("APP_PORT", str(app_port))
    manifest.write_text(text)
    try:
        yield Zone(project, deploy_with_providers(autonomy_home, project), repl_port, app_port)
    finally:
        r = run_cli(autonomy_home, "zone", "delete", ZONE, "-y", "--images")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(cold_engine, ZONE) == []


def _answer(status: int, body: str) -> str:
    """The text of the last message of a ``POST /agents/<name>`` answer."""
    assert status == 200, (status, body)
    messages = json.loads(body)
    assert isinstance(messages, list) and messages, body
    return str(messages[-1]["content"]["text"])


@pytest.mark.timeout(1800)  # may build the offline model's image (and the -dev image) first
def test_an_sdk_example_agent_answers_with_the_offline_models_words(zone: Zone) -> None:
    assert "135M" in zone.output, zone.output  # the bundled offline model serves the zone
    text = _answer(*http_request(f"{zone.http}/agents/henry", {"message": "Hello Henry, who are you?"}))
    assert text.strip(), text  # the model's words
    status, body = http_request(f"{zone.http}/agents/henry")
    henry = json.loads(body)
    assert status == 200 and henry["model_calls"] >= 1 and henry["last_error"] is None, body


def test_a_streamed_answer_comes_as_several_json_lines(zone: Zone) -> None:
    status, body = http_request(f"{zone.http}/agents/henry?stream=true", {"message": "Tell me about the sea."})
    assert status == 200, body
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert len(lines) >= 3, body
    assert not [line for line in lines if line.get("type") == "error"], body
    words = "".join(m["content"]["text"] for line in lines for m in line["messages"] if m["role"] == "assistant")
    assert words.strip(), body


def test_agents_are_listed_and_an_unknown_one_is_404(zone: Zone) -> None:
    status, body = http_request(f"{zone.http}/agents")
    assert status == 200, body
    agents = {a["name"]: a for a in json.loads(body)["agents"]}
    assert {"henry", "keeper"} <= set(agents), body
    assert agents["henry"]["model"] == "claude-sonnet-4-v1" and agents["keeper"]["tools"] == ["harbor_code"], body
    status, body = http_request(f"{zone.http}/agents/nobody", {"message": "hello?"})
    assert status == 404, (status, body)


def test_four_agents_asked_at_once_from_a_fastapi_route_all_answer(zone: Zone) -> None:
    status, body = http_request(f"http://127.0.0.1:{zone.app_port}/ask-all")
    assert status == 200, body
    reply = json.loads(body)
    assert reply["count"] == "four" and reply["node"].endswith("-agents-app-pod-app"), reply  # humanize, from pip
    assert sorted(reply["answers"]) == ["ada", "bob", "cyd", "dee"], reply
    assert all(text.strip() for text in reply["answers"].values()), reply


def _read_chunk(sock: socket.socket, buffer: bytearray) -> str | None:
    """One chunk of the Repl's framing (its length in bytes, a newline, the bytes); None
    for ``0\\n``, the end of an answer."""

    def fill(n: int) -> None:
        while len(buffer) < n:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError(f"the Repl closed the connection; unread: {bytes(buffer)!r}")
            buffer.extend(data)

    while b"\n" not in buffer:
        fill(len(buffer) + 1)
    head, _, _ = bytes(buffer).partition(b"\n")
    size = int(head)
    del buffer[: len(head) + 1]
    if size == 0:
        return None
    fill(size)
    text = bytes(buffer[:size]).decode()
    del buffer[:size]
    return text


def _connect_repl(port: int) -> tuple[socket.socket, str]:
    """A connection to the Repl through the outlet and its welcome text. The outlet's
    forwarder accepts before the Repl listens, then closes: connect again until welcomed."""
    deadline = time.monotonic() + 90
    while True:
        sock = socket.create_connection(("127.0.0.1", port), timeout=240)
        try:
            welcome = _read_chunk(sock, bytearray())
            assert welcome is not None
            return sock, welcome
        except ConnectionError:
            sock.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _chat(port: int) -> None:
    """Connect to the Repl on this host's ``port``, send a line, read its whole answer."""
    sock, welcome = _connect_repl(port)
    with sock:
        assert "Welcome to Autonomy" in welcome and "-agents-main-pod-main/henry" in welcome, welcome
        sock.sendall(b"Hello Henry, how is the weather?\n")
        buffer = bytearray()
        parts: list[str] = []
        while (part := _read_chunk(sock, buffer)) is not None:
            parts.append(part)
        answer = "".join(parts)
        assert "Agent communication error" not in answer, answer
        assert answer.strip(), parts
        sock.sendall(b":q\n")


def test_the_repl_answers_a_line_through_a_portal_outlet(zone: Zone) -> None:
    assert f"127.0.0.1:{zone.repl_port} -> main-pod:7000" in zone.output, zone.output
    _chat(zone.repl_port)


def test_zone_inlet_reaches_a_repl_behind_an_outlet_without_inlet_from(zone: Zone, autonomy_home: Path) -> None:
    # example 001's outlet: deploy publishes nothing and says to run `zone inlet`; the Repl
    # listens on the pod's 127.0.0.1, which only the pod's own forwarder reaches
    assert "main-pod:7001 have no inlet_from" in zone.output, zone.output
    port = _free_port()
    inlet = Dev(autonomy_home, zone.project, ("zone", "inlet", "--to", "main-pod:7001", "--port", str(port), ZONE))
    try:
        inlet.wait_for(rf"127\.0\.0\.1:{port}")
        _chat(port)
    finally:
        inlet.stop()


def _keeper_script(body: dict[str, Any]) -> dict[str, Any]:
    """The stand-in's script: ask for the tool, then say what the tool answered."""
    results = tool_results(body)
    if not results:
        return tool_call("call_harbor_1", "harbor_code", {"harbor": "Lisbon"})
    return {"content": f"The keeper says: {results[-1]}"}


def test_a_tool_runs_in_the_container_and_its_result_reaches_the_reply(
    zone: Zone, autonomy_home: Path, cold_engine: Any
) -> None:
    with StandIn(_keeper_script) as standin:
        out = deploy_with_providers(autonomy_home, zone.project, OPENAI_BASE_URL=standin.url)
        assert standin.url in out and "135M" not in out, out
        status, body = http_request(f"{zone.http}/agents/keeper", {"message": "What is the code of Lisbon's harbor?"})
        text = _answer(status, body)
        assert HARBOR_CODE in text and "-agents-main-pod-main" in text, body  # the tool's result, from the container
        messages = json.loads(body)
        assert any(m.get("role") == "tool" or m.get("tool_calls") for m in messages), body
        chats = [s for s in standin.seen if s["path"] == "/v1/chat/completions"]
        assert len(chats) >= 2, chats
        assert chats[0]["model"] == MODEL and [t["function"]["name"] for t in chats[0]["tools"]] == ["harbor_code"]
        assert not tool_results(chats[0]) and HARBOR_CODE in tool_results(chats[-1])[-1], chats
