"""Inlets (autonomy_cli.zones.inlet): 127.0.0.1:<port> -> <pod>:<port> inside a zone's network."""

from __future__ import annotations

import json
import urllib.request

import pytest
from devtools import copy_project, images_of, inlets_of, leftovers, run_cli

from clirun import LABEL

pytestmark = pytest.mark.e2e


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as f:
        return json.loads(f.read())


def test_forward_to_a_pod_port_and_to_the_zone_http(cold_engine, autonomy_home, tmp_path):
    from autonomy_cli.zones.inlet import inlet_http, inlet_port

    client, zone = cold_engine, "dvinlet"
    project = copy_project("status", tmp_path, zone)  # no public pod: nothing is published
    try:
        r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "HTTP:" not in r.stdout

        with inlet_port(zone, "alpha", 8000, 0) as inlet:
            assert inlet.forwarded and inlet.local_port != 8000
            health = _get(f"{inlet.url}/health")
            assert health["status"] == "ok" and health["node"].endswith(f"-{zone}-alpha-keeper")
            workers = _get(f"{inlet.url}/workers")["workers"]
            assert sorted(w["name"] for w in workers) == ["henry", "k0", "k1", "k2"]  # an agent is a worker too
            relay = client.containers.list(filters={"label": f"{LABEL}zone-probe={zone}"})
            assert len(relay) == 1
            bindings = relay[0].attrs["HostConfig"]["PortBindings"]
            assert [b["HostIp"] for bs in bindings.values() for b in bs] == ["127.0.0.1"]
            with inlet_port(zone, "beta", 8000) as second:  # two inlets at once
                assert _get(f"{second.url}/health")["node"].endswith(f"-{zone}-beta-caller")
        assert inlets_of(client, zone) == []

        # a zone with two pods and none public: `--to http` must be told which pod
        with pytest.raises(Exception, match="no public pod"):
            inlet_http(zone)

        # the relay goes with the zone: `zone delete` while an inlet runs leaves nothing
        inlet = inlet_port(zone, "alpha", 8000, 0)
        try:
            r = run_cli(autonomy_home, "zone", "delete", zone, "--images", "-y")
            assert r.returncode == 0, r.stdout + r.stderr
            assert leftovers(client, zone) == []
        finally:
            inlet.close()
        assert inlets_of(client, zone) == []
    finally:
        r = run_cli(autonomy_home, "zone", "delete", zone, "--images", "-y")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(client, zone) == []
        assert images_of(client, zone) == []
        assert inlets_of(client, zone) == []


def test_inlet_http_forwards_to_the_only_pod(cold_engine, autonomy_home, tmp_path):
    from autonomy_cli.docker.ports import port_free
    from autonomy_cli.zones.inlet import inlet_http

    client, zone = cold_engine, "dvhttp"
    project = copy_project("devloop", tmp_path, zone)
    manifest = project / "autonomy.yaml"
    text = manifest.read_text()
    manifest.write_text(text[: text.index("  - name: steady")])  # one pod, not public
    manifest.write_text(manifest.read_text().replace("clones: 2", "clones: 1"))
    try:
        r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        port = next(p for p in range(32150, 32250) if port_free(p))
        with inlet_http(zone, port) as inlet:
            assert inlet.forwarded and inlet.local_port == port
            assert _get(f"http://127.0.0.1:{port}/health")["node"].endswith(f"-{zone}-ticker-ticker")
    finally:
        r = run_cli(autonomy_home, "zone", "delete", zone, "--images", "-y")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(client, zone) == []
        assert inlets_of(client, zone) == []
