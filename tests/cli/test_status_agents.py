"""``zone status`` and the logs server show each node's agents (no Docker).

The zone ``hello`` has three pods: ``main-pod`` (its node answers ``/agents``), ``old-pod``
(an image from before ``/agents``: 404 there) and ``gone-pod`` (no HTTP answer at all).
The engine's status helper is the real ``autonomy.clusters.pod_status``, run in this
process with its HTTP GET replaced by a table of answers, so what the CLI reads is what
the helper prints.
"""

from __future__ import annotations

import contextlib
import email.message
import io
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autonomy.clusters import pod_status
from autonomy_cli import labels as L
from autonomy_cli import main
from autonomy_cli.commands import shared, zone
from autonomy_cli.docker.containers import ContainerView
from autonomy_cli.errors import EngineError
from autonomy_cli.logs.api import LogApi
from autonomy_cli.logs.page import LogPageServer, free_port
from autonomy_cli.zones.agents import AgentStatus, describe, parse_agents, redact
from autonomy_cli.zones.status import agents_by_pod, zone_status

CLUSTER = "c0ffee"
HENRY = {
    "name": "henry",
    "model": "claude-sonnet-4-v1",
    "tools": ["lookup"],
    "exposed_as": None,
    "conversations": 3,
    "waiting_for_input": 1,
    "model_calls": 5,
    "prompt_tokens": 812,
    "completion_tokens": 95,
    "tool_calls": 4,
    "tool_errors": 1,
    "last_error": "APIStatusError: 401 for Authorization: Bearer sk-abcdefghijklmnop",
}
IDLE = {**HENRY, "name": "ada", "conversations": 0, "waiting_for_input": 0, "model_calls": 0}
IDLE.update(prompt_tokens=0, completion_tokens=0, tool_calls=0, tool_errors=0, last_error=None, tools=[])


def _view(pod: str, role: str, container: str = "", node: str = "") -> ContainerView:
    labels = L.ContainerLabels(
        cluster=CLUSTER, zone="hello", pod=pod, instance=pod, role=role, container=container, node=node, infra=pod
    )
    return ContainerView(f"id-{pod}-{role}", f"hello-{pod}-{container or role}", "running", labels, "running")


def _get(instance: str, path: str) -> Any:
    """What each pod's node answers (the stand-in for its HTTP port 8000)."""
    node = f"{CLUSTER}-{instance.removesuffix('-pod')}"
    if instance == "gone-pod":
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
    if path == "health":
        return {"node": node, "status": "ok", "workers": 2, "last_message_at": None}
    if path == "workers":
        return {"node": node, "workers": [{"name": "henry"}, {"name": "ada"}]}
    if instance == "old-pod":
        raise urllib.error.HTTPError("http://old-pod:8000/agents", 404, "Not Found", email.message.Message(), None)
    return {"agents": [HENRY, IDLE]}


class StatusEngine:
    """The two calls ``zone_status`` makes of an engine."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def containers(self, zone: str) -> list[ContainerView]:
        found = []
        for pod in ("main-pod", "old-pod", "gone-pod"):
            name = pod.removesuffix("-pod")
            found += [_view(pod, L.Role.INFRA.value), _view(pod, "app", "main", f"{CLUSTER}-{name}")]
        return found if zone == "hello" else []

    def ask_nodes(self, zone: str, request: dict[str, Any], identity: Any) -> str:
        self.asked.append(request)
        printed = io.StringIO()
        with pytest.MonkeyPatch.context() as m, contextlib.redirect_stdout(printed):
            m.setattr(pod_status, "_get", _get)
            pod_status.main([json.dumps(request)])
        return printed.getvalue().splitlines()[-1]


def test_each_node_gets_its_agents_or_says_why_not() -> None:
    found = {s.instance: s.nodes[0] for s in zone_status(StatusEngine(), "hello")}  # type: ignore[arg-type]
    main_node = found["main-pod"]
    assert main_node.http and main_node.workers == 2
    assert [a.name for a in main_node.agents or []] == ["ada", "henry"]  # by name
    henry = (main_node.agents or [])[1]
    assert (henry.conversations, henry.model_calls, henry.prompt_tokens, henry.completion_tokens) == (3, 5, 812, 95)
    assert (
        henry.last_error is not None
        and "sk-abc" not in henry.last_error
        and henry.last_error.endswith("Authorization: ***")
    )
    old = found["old-pod"]
    assert old.http and old.workers == 2 and old.agents is None and "no /agents" in old.agents_note
    gone = found["gone-pod"]
    assert gone.agents is None and gone.workers is None and gone.note == "no HTTP answer on port 8000"
    assert agents_by_pod(list(zone_status(StatusEngine(), "hello"))) == {  # type: ignore[arg-type]
        "main-pod": {"main": [dict(IDLE), {**HENRY, "last_error": henry.last_error}]}
    }


def test_a_status_helper_older_than_agents_is_told() -> None:
    engine = StatusEngine()
    old = {"http": {i: {"health": {"node": f"{CLUSTER}-{i[:-4]}"}, "workers": {"workers": []}} for i in ("main-pod",)}}
    engine.ask_nodes = lambda *a: json.dumps({**old, "ping": {}})  # type: ignore[method-assign]
    node = next(s for s in zone_status(engine, "hello") if s.instance == "main-pod").nodes[0]  # type: ignore[arg-type]
    assert node.agents is None and "predates agent figures" in node.agents_note


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("AUTONOMY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(shared.out, "_width", 200)  # made at import, when COLUMNS may have been unset
    monkeypatch.setattr(zone, "engine", StatusEngine)
    shared.settings.cache_clear()
    yield main.app
    shared.settings.cache_clear()


def test_status_lists_agents_under_their_node(cli: Any) -> None:
    r = CliRunner().invoke(cli, ["zone", "status", "hello"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("node main "))  # the prefix is cut
    assert "main-pod/main" in lines[at]
    assert lines[at + 1].strip() == "agent ada: 0 conversations, 0 model calls, 0+0 tokens, model claude-sonnet-4-v1"
    assert (
        lines[at + 2]
        .strip()
        .startswith(
            "agent henry: 3 conversations, 5 model calls, 812+95 tokens, 4 tool calls (1 failed), 1 waiting for input, "
            "model claude-sonnet-4-v1, last error: APIStatusError: 401"
        )
    )
    assert "sk-abc" not in r.stdout
    assert "note: agents not known: the node serves no /agents" in " ".join(r.stdout.split())
    header = next(line for line in lines if "container" in line and "workers" in line)
    assert "agents" in header


def test_status_json_carries_the_agents(cli: Any) -> None:
    r = CliRunner().invoke(cli, ["--output", "json", "zone", "status", "hello"])
    assert r.exit_code == 0, r.output
    nodes = {i["instance"]: i["nodes"][0] for i in json.loads(r.stdout)["instances"]}
    henry = nodes["main-pod"]["agents"][1]
    assert {k: v for k, v in henry.items() if k != "last_error"} == {
        k: v for k, v in HENRY.items() if k != "last_error"
    }
    assert "sk-abc" not in r.stdout and henry["last_error"].startswith("APIStatusError: 401")
    assert nodes["old-pod"]["agents"] is None and nodes["old-pod"]["agents_note"]
    assert nodes["gone-pod"]["agents"] is None


# --------------------------------------------------------------------------- the parts


def test_agents_are_read_defensively() -> None:
    body = {
        "agents": [
            {"name": "b", "model_calls": "7", "prompt_tokens": None, "tools": "not a list", "extra": 1},
            "not an agent",
            {"model": "no name"},
            {"name": "a", "conversations": -3, "last_error": "x" * 1000},
        ]
    }
    a, b = parse_agents(body)
    assert (b.name, b.model_calls, b.prompt_tokens, b.tools) == ("b", 7, 0, [])
    assert a.conversations == 0 and a.last_error is not None and len(a.last_error) == 300
    assert parse_agents({"detail": "Not Found"}) == [] and parse_agents([1, 2]) == []


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("POST /v1?api_key=s3cr3t-value failed", "s3cr3t-value"),
        ('{"api_key": "s3cr3t-value"}', "s3cr3t-value"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("Incorrect API key provided: sk-proj-1234567890abcdef", "1234567890abcdef"),
        ("password=hunter22&user=x", "hunter22"),
    ],
)
def test_secrets_in_a_last_error_are_hidden(text: str, hidden: str) -> None:
    shown = redact(text)
    assert hidden not in shown and "***" in shown


def test_a_plain_error_is_kept_as_it_is() -> None:
    assert redact("max_iterations (10) reached\n  at turn 3") == "max_iterations (10) reached at turn 3"
    assert describe(AgentStatus("x", last_error="boom")) == (
        "agent x: 0 conversations, 0 model calls, 0+0 tokens, last error: boom"
    )
    assert describe(AgentStatus("y", conversations=1, model_calls=1)).startswith(
        "agent y: 1 conversation, 1 model call,"
    )
    assert describe(AgentStatus("z", model_calls=2, tool_calls=3, tool_errors=1)) == (
        "agent z: 0 conversations, 2 model calls, 0+0 tokens, 3 tool calls (1 failed)"
    )
    assert parse_agents({"agents": [{"name": "z", "tool_calls": 3, "tool_errors": "x"}]}) == [
        AgentStatus("z", tool_calls=3)
    ]


# --------------------------------------------------------------------------- the logs server


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _fetch(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_logs_server_answers_agents_by_pod_and_container_and_keeps_the_answer_a_while() -> None:
    clock, asked = Clock(), []

    def ask() -> dict[str, Any]:
        asked.append(clock.now)
        return agents_by_pod(zone_status(StatusEngine(), "hello"))  # type: ignore[arg-type]

    api = LogApi("hello", source=lambda: None, agents=ask, agents_max_age=10.0, clock=clock)  # type: ignore[arg-type,return-value]
    server = LogPageServer("hello", lambda stop: iter(()), port=free_port(), api=api)
    server.start()
    try:
        status, body = _fetch(server.url + "/agents")
        assert status == 200 and list(body) == ["main-pod"]
        assert [a["name"] for a in body["main-pod"]["main"]] == ["ada", "henry"]
        assert "sk-abc" not in json.dumps(body)
        clock.now += 9
        assert _fetch(server.url + "/agents") == (200, body) and asked == [100.0]  # kept
        clock.now += 1
        assert _fetch(server.url + "/agents")[0] == 200 and asked == [100.0, 110.0]  # asked again
        page = urllib.request.urlopen(server.url + "/", timeout=10).read().decode()
        assert 'fetch("/agents"' in page
    finally:
        server.close()


def test_logs_server_agents_errors() -> None:
    def broken() -> dict[str, Any]:
        raise EngineError("cannot ask the nodes of zone 'hello': no Docker")

    for api, status, message in (
        (LogApi("hello", source=lambda: None), 404, "does not ask"),  # type: ignore[arg-type,return-value]
        (LogApi("hello", source=lambda: None, agents=broken), 503, "no Docker"),  # type: ignore[arg-type,return-value]
    ):
        server = LogPageServer("hello", lambda stop: iter(()), port=free_port(), api=api)
        server.start()
        try:
            got, body = _fetch(server.url + "/agents")
            assert got == status and message in body["error"]
        finally:
            server.close()
