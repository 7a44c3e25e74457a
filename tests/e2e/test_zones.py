"""Deploy the examples on a real Docker engine, as a user would, and take them down.

Each test deploys with the ``autonomy`` command, checks what the user would see (log
lines, the HTTP endpoint, ``docker inspect``), and deletes the zone in ``finally``; a
zone left behind fails the test.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from devtools import ROOT, leftovers

from clirun import LABEL

pytestmark = pytest.mark.e2e
EXAMPLES = ROOT / "examples"
PROJECTS = Path(__file__).resolve().parent / "projects"


def container(client, zone: str, instance: str, name: str):
    found = client.containers.list(
        all=True, filters={"label": [f"{LABEL}zone={zone}", f"{LABEL}instance={instance}", f"{LABEL}container={name}"]}
    )
    assert len(found) == 1, f"{zone}/{instance}/{name}: {found}"
    return found[0]


def wait_log(client, zone: str, instance: str, name: str, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        logs = container(client, zone, instance, name).logs().decode(errors="replace")
        if text in logs:
            return logs
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not in the logs of {instance}/{name}:\n{logs[-3000:]}")
        time.sleep(0.5)


class Zone:
    """Deploy a project folder; always delete it again, then insist nothing is left."""

    def __init__(self, cli, client, project: Path, zone: str) -> None:
        self.cli, self.client, self.project, self.zone = cli, client, project, zone

    def __enter__(self) -> Zone:
        r = self.cli("zone", "deploy", "--dir", str(self.project))
        self.deploy_output = r.stdout + r.stderr
        if r.returncode != 0:
            self.__exit__()
            raise AssertionError(f"deploy of {self.project.name} failed ({r.returncode}):\n{self.deploy_output}")
        return self

    def __exit__(self, *exc: object) -> None:
        r = self.cli("zone", "delete", self.zone, "--images", "-y")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(self.client, self.zone) == []


def test_hello_deploys_answers_on_32100_and_is_deleted(cli, cold_engine, autonomy_home):
    client = cold_engine
    with Zone(cli, client, EXAMPLES / "hello", "hello") as z:
        assert "base image:" in z.deploy_output
        assert "answered in" in z.deploy_output  # the node answered an encrypted ping
        assert "HTTP: http://127.0.0.1:32100" in z.deploy_output
        logs = wait_log(client, "hello", "main-pod", "main", "`main` received: hello")
        assert "`echoer` received: hello" in logs
        health = json.load(urllib.request.urlopen("http://127.0.0.1:32100/health", timeout=10))
        assert health["status"] == "ok" and health["node"].endswith("-hello-main-pod-main")
        assert json.load(urllib.request.urlopen("http://127.0.0.1:32100/workers", timeout=10))["workers"] == [
            {"name": "echoer"}
        ]
        # nothing of the zone is published beyond 127.0.0.1
        for c in client.containers.list(filters={"label": f"{LABEL}zone=hello"}):
            for bindings in (c.attrs["HostConfig"].get("PortBindings") or {}).values():
                for b in bindings or []:
                    assert b["HostIp"] == "127.0.0.1", (c.name, bindings)
        # a regular pod: 0.25 CPU and 256 MiB on its container
        main = container(client, "hello", "main-pod", "main")
        assert main.attrs["HostConfig"]["NanoCpus"] == 250_000_000
        assert main.attrs["HostConfig"]["Memory"] == 256 * 2**20
        listed = cli("zone", "list", "--json")
        assert listed.returncode == 0
        zones = {z["zone"]: z for z in json.loads(listed.stdout)}
        assert zones["hello"]["urls"] == ["http://127.0.0.1:32100"]
        assert zones["hello"]["running"] == 1
        shown = cli("cluster", "show", "--json")
        assert shown.returncode == 0 and len(json.loads(shown.stdout)["id"]) == 32
    assert not (autonomy_home / "zones" / "hello").exists()  # keys are gone too
    again = cli("zone", "delete", "hello", "-y")
    assert again.returncode == 0 and "nothing to delete" in again.stdout


def _hello_copy(tmp_path: Path, zone: str) -> Path:
    project = tmp_path / zone
    shutil.copytree(EXAMPLES / "hello", project)
    manifest = project / "autonomy.yaml"
    manifest.write_text(manifest.read_text().replace("name: hello", f"name: {zone}"))
    return project


def test_readiness_pings_from_a_container_when_asked(cli, cold_engine, tmp_path):
    # the way used where the host cannot reach the zone's network (Docker Desktop, rootless)
    project = _hello_copy(tmp_path, "hellobox")
    r = cli("zone", "deploy", "--dir", str(project), env={"AUTONOMY_PROBE": "container"})
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert "1 of 1 node(s) answered an encrypted ping from a container on the zone's network" in r.stdout, r.stdout
        assert "answered in" in r.stdout
        probes = cold_engine.containers.list(all=True, filters={"label": f"{LABEL}zone-probe=hellobox"})
        assert probes == []  # the probe container is gone once it has answered
    finally:
        assert cli("zone", "delete", "hellobox", "--images", "-y").returncode == 0
        assert leftovers(cold_engine, "hellobox") == []


def test_an_old_node_does_not_answer_for_its_successor(cli, cold_engine, tmp_path):
    project = _hello_copy(tmp_path, "hellonext")
    r = cli("zone", "deploy", "--dir", str(project))
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        assert "1 of 1 node(s) answered an encrypted ping from this host" in r.stdout, r.stdout
        # the successor is a node image that never starts its node; the old one answers until
        # Compose replaces it
        (project / "images" / "main" / "main.py").write_text(
            "import time\nfrom autonomy import Node\n\nif time.time() < 0:\n    Node.start()\ntime.sleep(3600)\n"
        )
        r = cli("zone", "deploy", "--dir", str(project), "--wait", "4")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "0 of 1 node(s) answered" in r.stdout, r.stdout
        assert "did not answer within 4 s" in r.stderr, r.stderr
    finally:
        assert cli("zone", "delete", "hellonext", "--images", "-y").returncode == 0
        assert leftovers(cold_engine, "hellonext") == []


def test_counter_example(cli, cold_engine):
    with Zone(cli, cold_engine, EXAMPLES / "counter", "counter"):
        logs = wait_log(cold_engine, "counter", "main-pod", "main", "Count: 2")
        assert "LOG: Application started" in logs


def test_multinode_example_and_redeploy_in_place(cli, cold_engine, tmp_path):
    client = cold_engine
    project = tmp_path / "multinode"
    shutil.copytree(EXAMPLES / "multinode", project)
    with Zone(cli, client, project, "multinode"):
        logs = wait_log(client, "multinode", "client-pod", "client", "Client completed all messages", timeout=90)
        assert "Received reply 4: Hello! You said: Goodbye!" in logs
        assert "Greeter received: Goodbye!" in wait_log(client, "multinode", "runner-pod", "runner", "Greeter received")
        runner_before = container(client, "multinode", "runner-pod", "runner").id
        client_before = container(client, "multinode", "client-pod", "client").id

        # nothing changed: no image is rebuilt, no container recreated
        r = cli("zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "(none changed)" in r.stdout, r.stdout
        image = client.images.get("autonomy-multinode-runner")
        assert image.labels[f"{LABEL}zone"] == "multinode" and len(image.labels[f"{LABEL}context"]) == 64
        ours = [h for h in client.api.history(image.id) if f"LABEL {LABEL}cluster" in (h.get("CreatedBy") or "")]
        assert len(ours) == 1  # every label of ours in one build step
        assert container(client, "multinode", "runner-pod", "runner").id == runner_before
        assert container(client, "multinode", "client-pod", "client").id == client_before

        # change the runner's code: only its container is recreated
        main = project / "images" / "runner" / "main.py"
        main.write_text(
            main.read_text().replace(
                'reply = f"Hello! You said: {message}"', 'reply = f"Hi again! You said: {message}"'
            )
        )
        r = cli("zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        assert "(changed: autonomy-multinode-runner)" in r.stdout, r.stdout
        assert container(client, "multinode", "runner-pod", "runner").id != runner_before
        assert container(client, "multinode", "client-pod", "client").id == client_before

        # remove the client pod from autonomy.yaml: its containers go away
        manifest = project / "autonomy.yaml"
        text = manifest.read_text()
        manifest.write_text(text[: text.index("  - name: client-pod")])
        r = cli("zone", "deploy", "--dir", str(project))
        assert r.returncode == 0, r.stdout + r.stderr
        instances = {
            c.labels.get(LABEL + "instance")
            for c in client.containers.list(all=True, filters={"label": f"{LABEL}zone=multinode"})
        }
        assert instances == {"runner-pod", None}  # None: the zone's model gateway, of no pod


def test_distribute_example_clones_and_clamped_big_size(cli, cold_engine):
    client = cold_engine
    with Zone(cli, client, EXAMPLES / "distribute", "distribute") as z:
        assert z.deploy_output.count("answered in") == 6
        logs = wait_log(client, "distribute", "main-pod", "main", "Processed 4 chunks across 5 runners", timeout=90)
        assert "{'processed': 3, 'items': ['item10', 'item11', 'item12']}" in logs
        runners = client.containers.list(
            filters={"label": [f"{LABEL}zone=distribute", f"{LABEL}pod=runner-pod", f"{LABEL}role=app"]}
        )
        assert len(runners) == 5
        host_cpus = __import__("os").cpu_count()
        expected = min(4, host_cpus) * 1_000_000_000
        for c in runners:
            assert c.attrs["HostConfig"]["NanoCpus"] == expected
            assert c.attrs["HostConfig"]["Memory"] == 2 * 2**30
            assert c.labels[LABEL + "size"] == "big"
        if host_cpus < 4:
            assert "clamped" in z.deploy_output or "host has" in z.deploy_output
        # each clone is its own pod: own hostname
        hostnames = {
            c.attrs["Config"]["Hostname"]
            for c in client.containers.list(filters={"label": [f"{LABEL}zone=distribute", f"{LABEL}role=infra"]})
        }
        assert hostnames == {"main-pod", *{f"runner-pod-{i}" for i in range(5)}}


def test_pod_containers_share_localhost_and_pods_do_not(cli, cold_engine):
    client = cold_engine
    with Zone(cli, client, PROJECTS / "pods", "pods"):
        wait_log(client, "pods", "pair", "client", "SHARED OK: hello from the server")
        wait_log(client, "pods", "other", "prober", "ISOLATED OK")


def test_hand_started_container_with_its_own_key_delivers_nothing(cli, cold_engine, autonomy_home):
    client = cold_engine
    with Zone(cli, client, EXAMPLES / "hello", "hello"):
        roster = autonomy_home / "zones" / "hello" / "roster.json"
        intruder = (PROJECTS / "intruder.py").read_text()
        out = client.containers.run(
            "ghcr.io/build-trust/autonomy-python",
            ["python3", "-c", intruder],
            network="autonomy-hello",
            volumes={str(roster): {"bind": "/roster.json", "mode": "ro"}},
            labels={LABEL + "test": "1"},
            remove=True,
        ).decode()
        assert "NO REPLY" in out, out
        logs = wait_log(client, "hello", "main-pod", "main", "is not in the roster of zone 'hello'")
        assert "deny connection from" in logs
        assert logs.count("`echoer` received") == 1  # only the example's own message


def test_container_that_dies_during_start_fails_the_deploy_with_its_logs(cli, cold_engine):
    client = cold_engine
    try:
        r = cli("zone", "deploy", "--dir", str(PROJECTS / "crash"), "--wait", "60")
        out = r.stdout + r.stderr
        assert r.returncode == 1, out
        assert "while the zone was starting" in out
        assert "ValueError: the database URL is missing" in out  # its last log lines
        assert "starting up, about to fail" in out
        assert "Traceback (most recent call last)" in out  # the container's, not ours:
        assert "autonomy_cli" not in out
    finally:
        r = cli("zone", "delete", "crash", "--images", "-y")
        assert r.returncode == 0
        assert leftovers(client, "crash") == []


def test_taken_portal_port_is_refused_naming_its_holder(cli, cold_engine, tmp_path):
    project = tmp_path / "portal"
    shutil.copytree(EXAMPLES / "hello", project)
    manifest = project / "autonomy.yaml"
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    manifest.write_text(
        manifest.read_text().replace("name: hello", "name: portal")
        + f"    portals:\n      outlets:\n        - to: localhost:7000\n          inlet_from: localhost:{port}\n"
    )
    try:
        r = cli("zone", "deploy", "--dir", str(project))
        out = r.stdout + r.stderr
        assert r.returncode == 2, out
        assert f"port 127.0.0.1:{port}" in out and "is held by process" in out
        assert leftovers(cold_engine, "portal") == []  # nothing started
    finally:
        holder.close()
        cli("zone", "delete", "portal", "--images", "-y")


def test_pod_restarts_as_one_when_its_infra_container_restarts(cli, cold_engine):
    """compose#8918: the app container must not be left in a dead network namespace."""
    client = cold_engine
    with Zone(cli, client, EXAMPLES / "hello", "hello"):
        infra = client.containers.list(filters={"label": [f"{LABEL}zone=hello", f"{LABEL}role=infra"]})[0]
        app = container(client, "hello", "main-pod", "main")
        started = app.attrs["State"]["StartedAt"]
        infra.restart(timeout=5)
        deadline = time.monotonic() + 60
        while True:
            app.reload()
            if app.attrs["State"]["StartedAt"] != started and app.status == "running":
                break
            assert time.monotonic() < deadline, app.logs().decode()[-2000:]
            time.sleep(0.5)
        assert "the pod's network is gone" in app.logs().decode()
        # and the pod answers again on its public port, through the new namespace
        while True:
            try:
                health = json.load(urllib.request.urlopen("http://127.0.0.1:32100/health", timeout=5))
                break
            except OSError:
                assert time.monotonic() < deadline + 30
                time.sleep(0.5)
        assert health["status"] == "ok"
