"""The node's web server in node processes: built-in routes, index.html, a FastAPI app
with NodeDep routes, an ``api=`` object, API_KEY, log levels, ``listen_address``, a node
that answers pings while FastAPI is still loading, and Node.start's keywords."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hardkit import PING, REPLY, REQUEST, ask, dealer, node_key
from zonekit import app

from autonomy.testing import LocalPod, LocalZone, free_port

KEY = "k3y-" + os.urandom(6).hex()


def call(port: int, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, JSON or text) of GET, or POST ``body`` as JSON."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pods = [
        LocalPod("plain-pod", app("web_app"), env={"AUTONOMY_LOG_LEVEL": "INFO,uvicorn.access=INFO"}),
        LocalPod("keyed-pod", app("web_app"), env={"API_KEY": KEY, "AUTONOMY_LOG_LEVEL": "INFO,uvicorn.access=INFO"}),
        LocalPod("app-pod", app("web_app"), env={"WEB_MODE": "app", "API_KEY": KEY}),
        LocalPod("api-pod", app("web_app"), env={"WEB_MODE": "api"}),
    ]
    zone = LocalZone(pods, workdir=tmp_path_factory.mktemp("web"), http=True)
    zone.start()
    try:
        for node in zone.nodes:
            zone.wait_for(node.entry.instance, "web app ready")
            node.wait_http()
        yield zone
    finally:
        zone.stop()


def test_built_in_routes_answer_with_their_shapes(web: LocalZone) -> None:
    node = web.node("plain-pod")
    port = node.http_port
    assert call(port, "/workers") == (200, {"node": node.name, "workers": [{"name": "greeter"}]})
    assert call(port, "/agents") == (200, {"agents": []})
    assert call(port, "/tools") == (200, {"tools": []})
    status, health = call(port, "/health")
    assert status == 200 and health["node"] == node.name and health["workers"] == 1
    status, page = call(port, "/docs")
    assert status == 200 and "swagger-ui" in page
    status, schema = call(port, "/openapi.json")
    assert status == 200 and {"/workers", "/agents", "/tools", "/logs/levels"} <= set(schema["paths"])
    assert call(port, "/") == (200, (app("web_app").parent / "index.html").read_text())
    assert call(port, "/nope")[0] == 404


def test_log_levels_are_read_and_changed_over_http(web: LocalZone) -> None:
    port = web.node("plain-pod").http_port
    status, body = call(port, "/logs/levels")
    assert status == 200 and body["levels"]["default"] == "INFO" and "DEBUG" in body["available_levels"]
    status, body = call(port, "/logs/levels", {"level": "DEBUG", "module": "agent"})
    assert status == 200 and body["levels"]["agent"] == "DEBUG" and body["module"] == "agent"
    assert call(port, "/logs/levels")[1]["levels"]["agent"] == "DEBUG"
    assert call(port, "/logs/levels", {"level": "chatty"})[0] == 400
    assert call(port, "/logs/levels", {"level": "warning"})[1]["levels"]["default"] == "WARNING"
    assert call(port, "/logs/levels", {"level": "info"})[1]["levels"]["default"] == "INFO"


def test_api_key_guards_the_runtime_app_and_is_never_logged(web: LocalZone) -> None:
    node = web.node("keyed-pod")
    port = node.http_port
    for path in ("/workers", "/health", "/docs", "/openapi.json", "/"):
        assert call(port, path)[0] == 401, path
        assert call(port, f"{path}?api_key=nope")[0] == 401, path
    assert call(port, f"/workers?api_key={KEY}") == (200, {"node": node.name, "workers": [{"name": "greeter"}]})
    assert call(port, f"/?api_key={KEY}")[0] == 200
    status, page = call(port, f"/docs?api_key={KEY}")
    assert status == 200 and f"/openapi.json?api_key={KEY}" in page
    assert call(port, f"/openapi.json?api_key={KEY}")[0] == 200
    log = node.log()
    assert "GET /workers?api_key=***" in log  # uvicorn's access log, with the key hidden
    assert KEY not in log


def test_a_user_app_with_node_dep_routes_beside_the_built_in_ones(web: LocalZone) -> None:
    node = web.node("app-pod")
    port = node.http_port
    assert call(port, "/greet/Alice") == (200, {"reply": "Hello, Alice!", "node": node.name})
    # the user's app guards itself: API_KEY gates only the runtime's own app (as the SDK)
    assert call(port, "/workers") == (200, {"node": node.name, "workers": [{"name": "greeter"}]})
    assert call(port, "/")[0] == 200 and call(port, "/agents") == (200, {"agents": []})
    assert call(port, "/docs")[0] == 200  # FastAPI's own, of the user's app


def test_an_api_object_is_mounted(web: LocalZone) -> None:
    node = web.node("api-pod")
    assert call(node.http_port, "/hello/Bob") == (200, {"reply": "Hello, Bob!", "same": True})
    assert call(node.http_port, "/workers")[1]["workers"] == [{"name": "greeter"}]


def test_a_listen_address_given_wins_over_the_zone_port(local_zone: Any) -> None:
    port = free_port()
    z = local_zone([LocalPod("main-pod", app("web_app"), env={"WEB_LISTEN": f"127.0.0.1:{port}"})], http=True)
    z.wait_for("main-pod", f"HTTP on 127.0.0.1:{port} (")
    node = z.node("main-pod")
    assert call(port, "/workers") == (200, {"node": node.name, "workers": [{"name": "greeter"}]})
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{node.http_port}/workers", timeout=2)


_GATE = '''
"""Stands in for FastAPI until the file $WEB_IMPORT_GATE exists, then hands over."""
import os, sys, time
print("fastapi import waits at the gate", flush=True)
while not os.path.exists(os.environ["WEB_IMPORT_GATE"]):
    time.sleep(0.01)
here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
del sys.modules["fastapi"]
import fastapi as real
sys.modules["fastapi"] = real
'''


def test_a_node_answers_pings_and_messages_while_its_web_server_loads(tmp_path: Path) -> None:
    """FastAPI's import is held at a gate: the node must answer meanwhile."""
    fake = tmp_path / "gate" / "fastapi"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(textwrap.dedent(_GATE))
    gate = tmp_path / "open"
    path = os.pathsep.join(p for p in (str(fake.parent), os.environ.get("PYTHONPATH", "")) if p)
    pods = [
        LocalPod("main-pod", app("serve"), env={"PYTHONPATH": path, "WEB_IMPORT_GATE": str(gate)}),
        LocalPod("tester-pod", None, container="tester", autostart=False),
    ]
    with LocalZone(pods, workdir=tmp_path / "zone", http=True) as z:
        z.wait_for("main-pod", "fastapi import waits at the gate")
        target = z.node("main-pod")
        _, public, secret = node_key(z.node("tester-pod"))
        sock = dealer(target, public, secret)
        try:
            pong = ask(sock, PING, "", corr=1)
            assert pong is not None and pong[0] == REPLY and json.loads(pong[3])["name"] == target.name
            missing = ask(sock, REQUEST, "nobody", b"x", corr=2)
            assert missing is not None and b"nobody" in missing[3]  # the router answers requests too
        finally:
            sock.close()
        assert "HTTP on" not in target.log()  # still at the gate
        gate.touch()
        target.wait_http()
        assert call(target.http_port, "/workers")[1]["workers"] == []


def _start(env: dict[str, str], tmp_path: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "AUTONOMY_HTTP_PORT": "0", "AUTONOMY_ROSTER": "", **env}
    return subprocess.run(
        [sys.executable, str(app("start_keywords"))],
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )


def test_node_start_takes_the_sdk_keywords_and_returns_when_main_ends(tmp_path: Path) -> None:
    r = _start({"START_NAME": "laptop-node", "START_WAIT": "0"}, tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "node name: laptop-node" in out and "Node.start returned" in out
    assert "Node.start(some_future_option=...) is accepted and not used" in out
    for key in ("ticket", "allow", "cache_secure_channels", "use_local_db"):
        assert f"Node.start({key}=" not in out


def test_main_failing_without_waiting_is_raised_by_node_start(tmp_path: Path) -> None:
    r = _start({"START_WAIT": "0", "MAIN_FAILS": "1"}, tmp_path)
    assert r.returncode == 1 and "RuntimeError: main failed on purpose" in r.stderr
    assert "Node.start returned" not in r.stdout


def test_the_environment_overrides_wait_until_interrupted(tmp_path: Path) -> None:
    r = _start({"START_WAIT": "1", "AUTONOMY_WAIT_UNTIL_INTERRUPTED": "false"}, tmp_path)
    assert r.returncode == 0 and "Node.start returned" in r.stdout


def test_in_a_zone_the_roster_names_the_node(local_zone: Any) -> None:
    z = local_zone([LocalPod("main-pod", app("start_keywords"), env={"START_NAME": "other"})])
    node = z.node("main-pod")
    out = z.wait_for("main-pod", "node name:")
    assert f"node name: {node.name}" in out
    assert f"Node.start(name='other') ignored: in a zone this node is {node.name}" in out
    assert node.process is not None and node.process.poll() is None  # waits until interrupted
