"""`autonomy zone status` on a real Docker engine (projects/status: two pods, three nodes)."""

from __future__ import annotations

import json
import time

import pytest
from devtools import copy_project, images_of, leftovers, run_cli

from clirun import LABEL

pytestmark = pytest.mark.e2e


def test_status_shows_state_nodes_workers_agents_and_last_message(cold_engine, autonomy_home, tmp_path):
    client, zone = cold_engine, "dvstat"
    project = copy_project("status", tmp_path, zone)
    try:
        r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        deployed = time.time()
        cluster = json.loads((autonomy_home / "cluster.json").read_text())["id"]
        caller = client.containers.list(filters={"label": [f"{LABEL}zone={zone}", f"{LABEL}container=caller"]})[0]
        deadline = time.monotonic() + 60
        while b"keeper got message 3" not in caller.logs():
            assert time.monotonic() < deadline, caller.logs().decode()[-3000:]
            time.sleep(0.5)

        t0 = time.monotonic()
        r = run_cli(autonomy_home, "zone", "status", zone, "--json")
        took = time.monotonic() - t0
        assert r.returncode == 0, r.stdout + r.stderr
        status = json.loads(r.stdout)
        assert status["zone"] == zone
        by_instance = {i["instance"]: i for i in status["instances"]}
        own = by_instance.pop("")  # the zone's own containers, in no pod: the model gateway
        assert own["pod"] == "(zone)" and [n["kind"] for n in own["nodes"]] == ["gateway"]
        assert own["nodes"][0]["agents"] is None
        assert set(by_instance) == {"alpha", "beta"}
        nodes = {}
        for inst in by_instance.values():
            assert inst["state"] == "running"
            for n in inst["nodes"]:
                assert n["state"] == "running"
                nodes[n["container"]] = n
        assert {c: n["node"] for c, n in nodes.items()} == {
            c: f"{cluster}-{zone}-{i}-{c}" for c, i in (("keeper", "alpha"), ("helper", "alpha"), ("caller", "beta"))
        }
        assert nodes["keeper"]["workers"] == 4 and nodes["keeper"]["worker_names"] == ["k0", "k1", "k2", "henry"]
        assert nodes["keeper"]["http"] is True
        # the agent, never sent a message, with its figures at zero (asked at /agents)
        assert nodes["keeper"]["agents"] == [
            {
                "name": "henry",
                "model": "claude-sonnet-4-v1",
                "tools": [],
                "exposed_as": None,
                "conversations": 0,
                "waiting_for_input": 0,
                "model_calls": 0,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "tool_calls": 0,
                "tool_errors": 0,
                "last_error": None,
            }
        ]
        assert nodes["helper"]["agents"] is None and nodes["caller"]["agents"] == []
        assert nodes["helper"]["workers"] == 1  # no HTTP of its own: asked over ZeroMQ
        assert nodes["helper"]["http"] is False and "keeper" in nodes["helper"]["note"]
        assert nodes["caller"]["workers"] == 0
        # the caller's messages came after the deploy (and its readiness pings) ended
        assert nodes["keeper"]["last_message_at"] is not None and nodes["keeper"]["last_message_at"] > deployed
        assert nodes["keeper"]["last_message"]
        assert took < 15, f"zone status took {took:.1f} s"

        table = run_cli(autonomy_home, "zone", "status", "--dir", str(project))
        assert table.returncode == 0, table.stdout + table.stderr
        for word in ("alpha", "beta", "keeper", "helper", "caller", "running", "s ago"):
            assert word in table.stdout, table.stdout
        assert "agent henry: 0 conversations, 0 model calls, 0+0 tokens" in table.stdout, table.stdout
        assert not client.containers.list(all=True, filters={"label": f"{LABEL}zone-probe={zone}"})

        missing = run_cli(autonomy_home, "zone", "status", "dvnothere")
        assert missing.returncode == 0 and "not running" in missing.stdout
    finally:
        r = run_cli(autonomy_home, "zone", "delete", zone, "--images", "-y")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(client, zone) == []
        assert images_of(client, zone) == []
