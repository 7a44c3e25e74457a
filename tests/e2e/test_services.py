"""Services and outlets on a real Docker engine, and an image that cannot be had.

projects/services: four containers built on the base image, none of them a node that the
CLI can see (three plain HTTP servers, one that starts a node under another name). The
deploy must not wait for any of them, outlets must reach a server bound to the pod's
127.0.0.1, and the hidden node must say in its log why it runs alone.

projects/unpullable: a Dockerfile FROM an image no registry gives; the deploy stops
before anything of the zone exists.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from devtools import copy_project, images_of, leftovers, run_cli

from clirun import LABEL

pytestmark = pytest.mark.e2e


def _get(port: int, deadline: float) -> str:
    """The body of GET http://127.0.0.1:<port>/, retried until ``deadline`` (the server may
    still be starting right after the deploy: services are not waited for)."""
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_services_are_not_waited_for_and_outlets_reach_loopback(cold_engine, autonomy_home, tmp_path):
    client, zone = cold_engine, "services"
    project = copy_project("services", tmp_path, zone)
    try:
        r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project))
        out = r.stdout + r.stderr
        assert r.returncode == 0, out
        # every container is a service: said so, and no readiness wait at all
        assert "4 service(s), not waited for" in out, out
        assert "encrypted ping" not in out and "did not answer" not in out, out
        rows = [line for line in r.stdout.splitlines() if "│" in line or "|" in line]
        table = [line for line in rows if any(c in line for c in ("loopback", "wide", "other", "sneaky"))]
        assert len(table) == 4 and all("service" in line for line in table), r.stdout
        assert "127.0.0.1:32102 -> front:7000" in r.stdout, r.stdout

        deadline = time.monotonic() + 60
        # the outlet reaches a server bound to 127.0.0.1 inside the pod (a plain port
        # publish cannot), and one bound to 0.0.0.0
        assert _get(32102, deadline) == "hello from loopback\n"
        assert _get(32103, deadline) == "hello from wide\n"

        # least privilege: a service has no node identity, no key, no roster
        apps = client.containers.list(filters={"label": [f"{LABEL}zone={zone}", f"{LABEL}role=app"]})
        assert len(apps) == 4
        for c in apps:
            assert f"{LABEL}node" not in c.labels, c.name
            mounts = {m["Destination"] for m in c.attrs["Mounts"]}
            assert "/run/autonomy/node.key" not in mounts and "/run/autonomy/roster.json" not in mounts
        keys = sorted(p.name for p in (autonomy_home / "zones" / zone / "keys").glob("*.key"))
        assert keys == ["probe.key"], keys

        # a service that starts a node all the same says why it runs alone
        sneaky = next(c for c in apps if c.labels[f"{LABEL}container"] == "sneaky")
        while b"deployed it as a service" not in sneaky.logs():
            assert time.monotonic() < deadline, sneaky.logs().decode()[-2000:]
            time.sleep(0.3)

        status = run_cli(autonomy_home, "zone", "status", zone, "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        kinds = {n["container"]: n["kind"] for i in json.loads(status.stdout)["instances"] for n in i["nodes"]}
        assert kinds == dict.fromkeys(("loopback", "wide", "other", "sneaky"), "service")
    finally:
        r = run_cli(autonomy_home, "zone", "delete", zone, "-y", "--images")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(client, zone) == []


def test_an_image_that_cannot_be_pulled_stops_the_deploy_first(cold_engine, autonomy_home, tmp_path):
    client, zone = cold_engine, "unpullable"
    project = copy_project("unpullable", tmp_path, zone)
    try:
        r = run_cli(autonomy_home, "zone", "deploy", "--dir", str(project))
        assert r.returncode == 2, r.stdout + r.stderr
        assert "images/ui/Dockerfile: image cgr.dev/chainguard/node:latest" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
        assert leftovers(client, zone) == []  # no container, network or volume of the zone
        assert images_of(client, zone) == []  # not even the image that could be built
    finally:
        run_cli(autonomy_home, "zone", "delete", zone, "-y", "--images")
        assert leftovers(client, zone) == []
