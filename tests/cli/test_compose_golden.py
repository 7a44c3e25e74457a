"""Golden tests: tests/fixtures/<case>/autonomy.yaml -> compose.yaml beside it.

Each case is loaded, planned and rendered with fixed inputs (cluster id, state folder,
host CPUs, and a placeholder project folder, so the goldens do not depend on where the
repository is checked out), then compared with ``compose.yaml`` in the case's folder.

To accept a deliberate change of the output, regenerate and review the diff::

    AUTONOMY_UPDATE_GOLDEN=1 python3 -m pytest tests/cli/test_compose_golden.py
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from autonomy_cli import compose, manifest
from autonomy_cli.docker.compose_cli import find_compose
from autonomy_cli.gateway import GatewaySettings
from autonomy_cli.materialize import materialize
from autonomy_cli.plan import ZonePlan, plan
from clirun import LABEL

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLUSTER = "19f138000c5dcc2eaa7d8f21594fc0c3"
PROJECT = Path("/project")
HOST_CPUS = 2.0
UPDATE = os.environ.get("AUTONOMY_UPDATE_GOLDEN") == "1"
#: what a deploy with no provider configured decides: the offline model behind the gateway
GATEWAY = GatewaySettings(
    listen_host="172.17.0.1",
    port=32190,
    model_image="autonomy-local/smollm2:0123456789abcdef",
    model_port=32290,
    ca_file=Path("/etc/ssl/certs/ca-certificates.crt"),
)
ZONE_ROLES = ("gateway", "model")  # containers of the zone that belong to no pod
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "autonomy.yaml").is_file())


def _plan(case: str, *, project: Path = PROJECT, state_root: Path = Path("/home/user/.autonomy/zones")) -> ZonePlan:
    m = manifest.load(FIXTURES / case)
    return plan(m, CLUSTER, project, state_root / m.name, host_cpus=HOST_CPUS, gateway=GATEWAY)


def test_enough_cases() -> None:
    assert len(CASES) >= 8, CASES


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    text = compose.dump(compose.render(_plan(case)))
    golden = FIXTURES / case / "compose.yaml"
    if UPDATE or not golden.exists():
        golden.write_text(text)
        if not UPDATE:
            pytest.fail(f"{golden} did not exist; wrote it: review and commit it")
    assert text == golden.read_text(), (
        f"{case}: rendered compose differs from {golden} (AUTONOMY_UPDATE_GOLDEN=1 to accept)"
    )


@pytest.mark.parametrize("case", CASES)
def test_render_is_pure_and_rules_hold(case: str) -> None:
    p = _plan(case)
    first, second = compose.render(p), compose.render(p)
    assert first == second
    assert compose.dump(first) == compose.dump(second)
    services: dict[str, Any] = first["services"]
    for name, svc in services.items():
        labels = svc["labels"]
        assert svc["restart"] == "unless-stopped" and svc["logging"]["driver"] == "json-file"
        if labels[f"{LABEL}role"] in ZONE_ROLES:  # checked in test_gateway_plan.py
            assert {f"{LABEL}cluster", f"{LABEL}zone"} <= set(labels) and "cpus" in svc and "mem_limit" in svc
            continue
        for key in ("cluster", "zone", "pod", "clone", "instance", "size", "role"):
            assert f"{LABEL}{key}" in labels, (name, key)
        assert svc["restart"] == "unless-stopped"
        assert svc["logging"]["driver"] == "json-file"
        assert "cpus" in svc and "mem_limit" in svc
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), port
        if labels[f"{LABEL}role"] == "app":
            infra = labels[f"{LABEL}infra"]
            assert svc["network_mode"] == f"service:{infra}"
            assert services[infra]["hostname"] == infra
            assert f"{LABEL}container" in labels
            if f"{LABEL}node" in labels:  # a node: its identity, key and roster
                assert svc["environment"]["NODE"] == labels[f"{LABEL}node"]
                assert len([v for v in svc["volumes"] if isinstance(v, str)]) == 2  # the rest: named volumes
            else:  # a service: no identity, nothing of the zone's keys mounted
                assert "NODE" not in svc["environment"] and "AUTONOMY_KEY" not in svc["environment"]
                assert "volumes" not in svc and svc["environment"]["AUTONOMY_DEPLOYED_AS"] == "service"
    # each local image is built by exactly one service
    builds = [svc["image"] for svc in services.values() if "build" in svc]
    assert len(builds) == len(set(builds)) == len(p.builds)
    # the network is the engine's (created labelled before Compose starts): external here
    assert first["networks"] == {compose.NETWORK_KEY: {"name": compose.network_name(p.zone), "external": True}}
    assert compose.network_labels(p) == {f"{LABEL}cluster": p.cluster, f"{LABEL}zone": p.zone}


def test_secret_values_stay_out_of_the_compose_file() -> None:
    text = compose.dump(compose.render(_plan("secrets")))
    golden = (FIXTURES / "secrets" / "compose.yaml").read_text()
    secrets = yaml.safe_load((FIXTURES / "secrets" / "secrets.yaml").read_text())
    for value in secrets.values():
        assert value not in text
        assert value not in golden
    assert "/home/user/.autonomy/zones/secrets/secrets/main-pod--main.env" in text
    assert "/home/user/.autonomy/zones/secrets/secrets/main-pod--brave.env" in text


def test_volumes_are_named_labelled_and_mounted() -> None:
    d = compose.render(_plan("volumes"))
    volumes = d["volumes"]
    assert list(volumes) == [
        "autonomy-volumes-main-pod--data",
        "autonomy-volumes-main-pod--cache",
        "autonomy-volumes-db-0--store",
        "autonomy-volumes-db-1--store",
    ]
    for key, volume in volumes.items():
        assert volume["name"] == key  # a fixed name: Compose does not prefix it, every deploy finds it
        assert volume["labels"][f"{LABEL}zone"] == "volumes"  # zone delete finds it by this label
        assert f"{LABEL}role" not in volume["labels"]
    assert d["services"]["main-pod--reader"]["volumes"][2] == {
        "type": "volume",
        "source": "autonomy-volumes-main-pod--data",
        "target": "/srv/data $$HOME",
        "read_only": True,
    }
    assert "volumes" not in compose.render(_plan("hello"))


def test_env_forms_and_their_secrets() -> None:
    d = compose.render(_plan("envforms"))
    env = d["services"]["main-pod--main"]["environment"]
    assert {k: env[k] for k in ("LOG_LEVEL", "MODE", "PORT")} == {"LOG_LEVEL": "INFO", "MODE": "fast", "PORT": "8080"}
    assert not {"name", "value", "API_KEY", "TOKEN"} & set(env)
    text = compose.dump(d)
    for value in yaml.safe_load((FIXTURES / "envforms" / "secrets.yaml").read_text()).values():
        assert value not in text


def test_dollar_is_escaped_for_compose() -> None:
    d = compose.render(_plan("envmap"))
    assert d["services"]["main-pod--main"]["environment"]["PRICE"] == "costs $$5"
    d = compose.render(_plan("args"))
    assert d["services"]["worker--main"]["command"] == ["--port", "8001", "--name", "worker $$HOSTNAME"]


def test_public_port_moves_past_inlets() -> None:
    d = compose.render(_plan("portals"))
    assert d["services"]["main-pod"]["ports"] == ["127.0.0.1:32101:8000", "127.0.0.1:32100:61000"]
    assert d["services"]["main-pod"]["command"] == ["--forward", "61000=127.0.0.1:7000"]
    assert d["services"]["db-pod-0"]["ports"] == ["127.0.0.1:32200:61000"]
    assert d["services"]["db-pod-0"]["command"] == ["--forward", "61000=127.0.0.1:5432"]
    assert "ports" not in d["services"]["db-pod-1"] and "command" not in d["services"]["db-pod-1"]


def _compose_or_skip() -> list[str]:
    """The installed Compose (plugin or v1); without one, skip, or fail under
    ``AUTONOMY_REQUIRE_DOCKER=1`` (CI must check the rendered files)."""
    found = find_compose()
    if found is None:
        if os.environ.get("AUTONOMY_REQUIRE_DOCKER", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail("AUTONOMY_REQUIRE_DOCKER=1 but neither `docker compose` nor `docker-compose` is installed")
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    return list(found)


@pytest.mark.parametrize("case", CASES)
def test_docker_compose_accepts(case: str, tmp_path: Path) -> None:
    """Compose (v1 or v2, whichever is installed) parses the rendered file (``config``
    does not talk to the engine)."""
    command = _compose_or_skip()
    p = _plan(case, project=FIXTURES / case, state_root=tmp_path)
    materialize(p)  # env files must exist for `config`
    out = tmp_path / "compose.yaml"
    out.write_text(compose.dump(compose.render(p)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    result = subprocess.run(
        [*command, "-p", compose.project_name(p.zone), "-f", str(out), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr


def test_the_outlets_label_tells_zone_inlet_where_each_forwarder_is() -> None:
    from autonomy_cli.labels import ContainerLabels
    from autonomy_cli.zones.inlet import _outlets

    services = compose.render(_plan("aliases"))["services"]
    infra = ContainerLabels.read(services["db-pod"]["labels"])
    # both of db-pod's outlets, the published 5432 and the unpublished 6379, have a forwarder
    assert _outlets(infra.outlets) == {5432: 61000, 6379: 61001}
    assert services["db-pod"]["command"] == ["--forward", "61000=127.0.0.1:5432", "--forward", "61001=127.0.0.1:6379"]
    assert services["db-pod"]["ports"] == ["127.0.0.1:32111:61000"]  # 6379 is not published
    assert _outlets("") == {} and _outlets("7000=61000,junk") == {7000: 61000}
