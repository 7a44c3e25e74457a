"""The node's web server in a deployed zone: a FastAPI app with NodeDep routes on the
public pod (127.0.0.1:32100) beside the built-in routes and index.html, and a node that
moved its web server to 9000 and wants the API_KEY its autonomy.yaml gives it."""

from __future__ import annotations

import json
import shutil
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from test_zones import PROJECTS, Zone, container

pytestmark = pytest.mark.e2e
KEY = "e2e-key-7f3a9c"  # as tests/e2e/projects/webapp/autonomy.yaml says


def fetch(url: str, wait: float = 60) -> tuple[int, str]:
    """(status, body) of GET ``url``; retried while the pod's web server is still loading
    (the deploy waits for the nodes' pings, not for their FastAPI)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def fetch_json(url: str) -> Any:
    status, body = fetch(url)
    assert status == 200, (url, status, body)
    return json.loads(body)


def test_a_fastapi_app_with_node_dep_routes_serves_the_public_pod(cli, cold_engine, tmp_path):
    client = cold_engine
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        inlet = s.getsockname()[1]
    project = tmp_path / "webapp"
    shutil.copytree(PROJECTS / "webapp", project)
    manifest = project / "autonomy.yaml"
    manifest.write_text(manifest.read_text().replace("INLET_PORT", str(inlet)))
    index = (project / "images" / "app" / "index.html").read_text()
    with Zone(cli, client, project, "webapp") as z:
        assert "HTTP: http://127.0.0.1:32100" in z.deploy_output
        public = "http://127.0.0.1:32100"
        main = fetch_json(f"{public}/greet/Alice")
        assert main["reply"] == "Hello, Alice!" and main["node"].endswith("-webapp-main-pod-main")
        remote = fetch_json(f"{public}/greet-remote/Bob")  # a route that messages the pod's other node
        assert remote == {"reply": "Hello, Bob!", "node": main["node"].replace("-main-pod-main", "-main-pod-keyed")}
        assert fetch_json(f"{public}/workers") == {"node": main["node"], "workers": [{"name": "greeter"}]}
        assert fetch_json(f"{public}/agents") == {"agents": []}
        assert fetch(f"{public}/") == (200, index)
        assert fetch(f"{public}/docs")[0] == 200  # FastAPI's own, of the user's app

        keyed = f"http://127.0.0.1:{inlet}"  # the keyed container's port 9000, through the outlet
        for path in ("/workers", "/hello/Carol", "/", "/docs"):
            assert fetch(f"{keyed}{path}")[0] == 401, path
            assert fetch(f"{keyed}{path}?api_key=wrong")[0] == 401, path
        assert fetch_json(f"{keyed}/workers?api_key={KEY}")["workers"] == [{"name": "greeter"}]
        assert fetch_json(f"{keyed}/hello/Carol?api_key={KEY}") == {"reply": "Hello, Carol!", "same": True}
        assert fetch(f"{keyed}/?api_key={KEY}") == (200, index)
        logs = container(client, "webapp", "main-pod", "keyed").logs().decode(errors="replace")
        assert "HTTP on 0.0.0.0:9000" in logs and KEY not in logs
        main_logs = container(client, "webapp", "main-pod", "main").logs().decode(errors="replace")
        assert "HTTP on 0.0.0.0:8000" in main_logs
