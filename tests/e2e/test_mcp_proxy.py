"""MCP servers next to a node, on a real Docker engine (projects/mcp).

The pod pairs a node with two containers of ``ghcr.io/build-trust/mcp-proxy``, which the
CLI builds here (no registry gives it): ``uvx mcp-server-time`` (a Python MCP server
fetched from PyPI when the container starts) and ``npx -y
@modelcontextprotocol/server-brave-search`` (an npm package). The deploy completes
without waiting for either (they are services); from inside the node's container the
``mcp`` package of the base image lists the time server's tools on the pod's
localhost:8001 and calls one; the npm server's container says in one line why it did not
start (npm's registry is unreachable, or, where it is reachable, the server's own error
without BRAVE_API_KEY).
"""

from __future__ import annotations

import time

import pytest
from devtools import copy_project, leftovers, run_cli

from clirun import LABEL

pytestmark = pytest.mark.e2e
NEEDS_IMAGES = ("mcp",)  # built on the side: tests/e2e/prebuild.py

MCP_IMAGE = "ghcr.io/build-trust/mcp-proxy"
BRAVE_LINE = "mcp-proxy: the MCP server `npx -y @modelcontextprotocol/server-brave-search` did not start or stopped: "


def _container(client, zone: str, name: str):
    found = client.containers.list(
        all=True, filters={"label": [f"{LABEL}zone={zone}", f"{LABEL}container={name}", f"{LABEL}role=app"]}
    )
    assert len(found) == 1, [c.name for c in found]
    return found[0]


def test_a_node_reaches_its_pods_mcp_server_and_a_failing_one_says_why(cold_engine, autonomy_home, tmp_path):
    client, zone = cold_engine, "mcp"
    project = copy_project("mcp", tmp_path, zone)
    try:
        r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project), timeout=3000)
        out = r.stdout + r.stderr
        assert r.returncode == 0, out[-6000:]
        assert f"MCP proxy image {MCP_IMAGE}:" in out, out[-6000:]
        assert "2 service(s), not waited for" in out, out[-6000:]
        image = client.images.get(MCP_IMAGE)
        assert image.labels.get(f"{LABEL}managed") == "true"  # built here, not pulled

        # the node's container reaches the time server on the pod's localhost, with the
        # base image's `mcp` SSE client (the server is fetched by uvx: retried until up)
        main = _container(client, zone, "main")
        deadline = time.monotonic() + 300
        while True:
            code, output = main.exec_run(["python", "list_tools.py", "http://localhost:8001/sse"])
            text = output.decode(errors="replace")
            if code == 0:
                break
            assert time.monotonic() < deadline, text[-3000:] + _container(client, zone, "time").logs().decode()[-3000:]
            time.sleep(2)
        names = text.split()
        assert "get_current_time" in names and "convert_time" in names, text
        assert "RESULT" in text and '"timezone": "UTC"' in text, text

        # the npm server cannot start: one line of its container's log says why
        brave = _container(client, zone, "brave")
        while True:
            lines = brave.logs().decode(errors="replace").splitlines()
            said = [line for line in lines if line.startswith(BRAVE_LINE)]
            if said:
                break
            assert time.monotonic() < deadline, "\n".join(lines[-40:])
            time.sleep(2)
        reason = said[0][len(BRAVE_LINE) :]
        assert reason.endswith(")") and "exit code" in reason, said[0]
        assert any(word in reason for word in ("registry.npmjs.org", "BRAVE_API_KEY", "request to")), said[0]
    finally:
        r = run_cli(autonomy_home, "zone", "delete", zone, "-y", "--images")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(client, zone) == []
