"""The zone's model gateway, as the CLI plans, renders, writes and deploys it (no Docker).

What must hold: a zone with a node gets the gateway (and, with no provider configured,
the offline model); every app container gets the SDK's three variables, the token only
through a 0600 env file; provider keys reach the gateway's env file and nothing else;
published ports stay on 127.0.0.1 and the gateway listens on one address, never 0.0.0.0.
"""

from __future__ import annotations

import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from fakeengine import FakeEngine

from autonomy_cli import compose, manifest
from autonomy_cli.docker.pipindex import host_ca_file
from autonomy_cli.docker.ports import bridge_gateway
from autonomy_cli.errors import EngineError, PlanError
from autonomy_cli.gateway import (
    CLIENT_KEY,
    CLIENT_URL,
    CLIENT_USE,
    GATEWAY_SERVICE,
    MODEL_SERVICE,
    PROVIDER_ENV,
    TOKEN_ENV,
    GatewaySettings,
    gateway_plan,
    is_offline,
    provider_settings,
)
from autonomy_cli.layout import ZoneFiles
from autonomy_cli.materialize import materialize
from autonomy_cli.plan import ZonePlan, plan
from autonomy_cli.settings import CliSettings
from autonomy_cli.zones.deploy import deploy
from autonomy_cli.zones.events import Event

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CLUSTER = "19f138000c5dcc2eaa7d8f21594fc0c3"
KEY = "sk-test-provider-key-0123456789"
OFFLINE = GatewaySettings("172.17.0.1", 32300, model_image="autonomy-local/smollm2:0123456789abcdef", model_port=32400)
WITH_KEY = GatewaySettings(
    "172.17.0.1",
    32300,
    providers=(("OPENAI_API_KEY", KEY), ("AUTONOMY_GATEWAY_MODEL", "gpt-4.1")),
    provider_source="environment",
)


def _plan(case: str, state: Path, gw: GatewaySettings | None) -> ZonePlan:
    return plan(manifest.load(FIXTURES / case), CLUSTER, Path("/project"), state, host_cpus=2.0, gateway=gw)


def _apps(rendered: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rendered["services"].items() if v["labels"]["computer.autonomy.role"] == "app"}


# --------------------------------------------------------------------------- provider settings


def test_the_secrets_file_is_the_whole_provider_configuration_when_it_names_one() -> None:
    env = {"OPENAI_API_KEY": "from-env", "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "HOME": "/root"}
    assert provider_settings(env, {}) == (
        {"OPENAI_API_KEY": "from-env", "OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"},
        "environment",
    )
    # one provider setting in secrets.yaml: the environment's are not mixed in
    assert provider_settings(env, {"ANTHROPIC_API_KEY": "from-secrets", "OTHER": "x"}) == (
        {"ANTHROPIC_API_KEY": "from-secrets"},
        "secrets",
    )
    assert provider_settings({"OPENAI_API_KEY": ""}, {"OPENAI_BASE_URL": ""}) == ({}, "")


def test_offline_means_no_key_and_no_base_url() -> None:
    assert is_offline({}) and is_offline({"AUTONOMY_GATEWAY_MODEL": "llama3"})
    assert not is_offline({"ANTHROPIC_API_KEY": "k"})
    assert not is_offline({"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"})


def test_settings_read_the_provider_variables_once_and_never_show_them() -> None:
    s = CliSettings.from_env({"OPENAI_API_KEY": KEY, "AUTONOMY_OFFLINE_MODEL": "0", "PATH": "/bin"})
    assert s.providers == (("OPENAI_API_KEY", KEY),) and not s.offline_model
    assert KEY not in repr(s)
    assert CliSettings.from_env({}).offline_model


# --------------------------------------------------------------------------- the plan


def test_gateway_plan_refuses_what_cannot_be_safe(tmp_path: Path) -> None:
    files = ZoneFiles(tmp_path)
    with pytest.raises(PlanError, match="one address"):
        gateway_plan(GatewaySettings("0.0.0.0", 32300, model_image="m", model_port=1), files)
    with pytest.raises(PlanError, match="OPENAI_API_KEY") as e:
        gateway_plan(GatewaySettings("172.17.0.1", 32300, providers=(("OPENAI_API_KEY", "it's"),)), files)
    assert "it's" not in str(e.value)
    with pytest.raises(PlanError, match="only for a gateway without"):
        gateway_plan(
            GatewaySettings("172.17.0.1", 32300, providers=WITH_KEY.providers, model_image="m", model_port=2), files
        )
    with pytest.raises(PlanError, match="port"):
        gateway_plan(GatewaySettings("172.17.0.1", 70000), files)
    # no provider and no offline model (AUTONOMY_OFFLINE_MODEL=0): a gateway that says what to set
    assert gateway_plan(GatewaySettings("172.17.0.1", 32300), files).model is None


def test_a_zone_without_a_node_gets_no_gateway(tmp_path: Path) -> None:
    m = manifest.load(FIXTURES / "hello")
    p = plan(m, CLUSTER, Path("/project"), tmp_path, host_cpus=2.0, node_contexts=(), gateway=OFFLINE)
    assert p.gateway is None
    rendered = compose.render(p)
    assert GATEWAY_SERVICE not in rendered["services"] and MODEL_SERVICE not in rendered["services"]
    assert all(CLIENT_URL not in s.get("environment", {}) for s in rendered["services"].values())


# --------------------------------------------------------------------------- the Compose file


def test_offline_zone_renders_gateway_model_and_app_variables(tmp_path: Path) -> None:
    p = _plan("mcp", tmp_path, OFFLINE)  # a node and a registry service
    rendered = compose.render(p)
    services = rendered["services"]
    gw, model = services[GATEWAY_SERVICE], services[MODEL_SERVICE]
    assert gw["network_mode"] == "host" and "ports" not in gw and "networks" not in gw
    assert gw["entrypoint"][-2:] == ["--listen", "172.17.0.1:32300"]
    assert gw["environment"]["AUTONOMY_GATEWAY_OFFLINE_URL"] == "http://127.0.0.1:32400/v1"
    assert gw["env_file"] == [str(tmp_path / "secrets" / "gateway.env")]
    assert gw["labels"]["computer.autonomy.role"] == "gateway"
    assert gw["labels"]["computer.autonomy.listen"] == "172.17.0.1:32300"
    assert model["ports"] == ["127.0.0.1:32400:8080"] and model["networks"] == ["zone"]
    assert model["image"] == OFFLINE.model_image and model["pull_policy"] == "never"
    for svc in (gw, model):
        assert svc["restart"] == "unless-stopped" and svc["mem_limit"] and svc["cpus"]
        assert {"computer.autonomy.cluster", "computer.autonomy.zone"} <= set(svc["labels"])
    apps = _apps(rendered)
    kinds = {n.is_node for n in p.nodes()}
    assert kinds == {True, False}, "the case must hold a node and a service"
    for name, svc in apps.items():  # nodes and services alike
        env = svc["environment"]
        assert env[CLIENT_USE] == "1" and env[CLIENT_URL] == "http://host.docker.internal:32300", name
        assert str(tmp_path / "secrets" / "gateway-client.env") == svc["env_file"][0], name
        assert CLIENT_KEY not in env and TOKEN_ENV not in env
    for name, svc in services.items():
        if svc["labels"]["computer.autonomy.role"] == "infra":
            assert svc["extra_hosts"] == ["host.docker.internal:host-gateway"], name
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), (name, port)


def test_provider_keys_reach_only_the_gateway(tmp_path: Path) -> None:
    p = _plan("secrets", tmp_path, WITH_KEY)
    materialize(p)
    text = compose.dump(compose.render(p))
    rendered = yaml.safe_load(text)
    assert MODEL_SERVICE not in rendered["services"]  # a provider is configured: no offline model
    assert KEY not in text
    for name, svc in _apps(rendered).items():
        assert not set(PROVIDER_ENV) & set(svc["environment"]), name
        for env_file in svc.get("env_file", []):
            content = Path(env_file).read_text()
            assert KEY not in content and not any(f"{v}=" in content for v in PROVIDER_ENV), (name, env_file)
    gateway_env = Path(rendered["services"][GATEWAY_SERVICE]["env_file"][0]).read_text()
    assert f"OPENAI_API_KEY='{KEY}'" in gateway_env and "AUTONOMY_GATEWAY_MODEL='gpt-4.1'" in gateway_env


def test_the_token_is_private_kept_and_never_in_the_compose_file(tmp_path: Path) -> None:
    p = _plan("hello", tmp_path, OFFLINE)
    materialize(p)
    assert p.gateway is not None
    token_file = p.gateway.token_file
    token = token_file.read_text().strip()
    assert len(token) >= 40
    for f in (token_file, p.gateway.env_file, p.gateway.client_env_file):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert f"{TOKEN_ENV}='{token}'" in p.gateway.env_file.read_text()
    assert p.gateway.client_env_file.read_text() == f"{CLIENT_KEY}='{token}'\n"
    assert token not in compose.dump(compose.render(p))
    materialize(p)  # a redeploy keeps the token (running apps keep working)
    assert token_file.read_text().strip() == token
    other = _plan("hello", tmp_path / "other", OFFLINE)
    materialize(other)
    assert other.gateway is not None and other.gateway.token_file.read_text().strip() != token  # per zone


# --------------------------------------------------------------------------- deploy (fake engine)

PROJECT = """\
name: shop
pods:
  - name: web
    public: true
    containers:
      - name: web
        image: web
      - name: mcp
        image: ghcr.io/example/mcp:1
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "images" / "web").mkdir(parents=True)
    (root / "images" / "web" / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
    (root / "images" / "web" / "main.py").write_text(AGENT_MAIN)
    (root / "autonomy.yaml").write_text(PROJECT)
    return root


AGENT_MAIN = """\
from autonomy import Agent, Model, Node


async def main(node):
    await Agent.start(node=node, name="henry", instructions="Be brief.", model=Model("claude-sonnet-4-v1"))


Node.start(main)
"""


def _settings(tmp_path: Path, **kw: Any) -> CliSettings:
    return CliSettings(home=tmp_path / "home", base_source="auto", public_port=32100, deploy_wait=5, probe="host", **kw)


def _deploy(project: Path, settings: CliSettings, engine: FakeEngine) -> tuple[Any, list[str]]:
    seen: list[Event] = []
    result = deploy(project, settings, on_event=seen.append, engine=engine)  # type: ignore[arg-type]
    return result, [e.text for e in seen]


def test_deploy_with_nothing_configured_runs_the_offline_model_and_says_what_it_is(
    project: Path, tmp_path: Path
) -> None:
    engine = FakeEngine()
    r, said = _deploy(project, _settings(tmp_path), engine)
    assert engine.services("model_image") == ["auto"]
    gw = r.plan.gateway
    assert gw is not None and gw.model is not None and gw.listen == "172.17.0.1:32300"
    assert gw.model.host_port != r.plan.public_port
    text = "\n".join(said)
    assert "http://host.docker.internal:32300" in text and "->" in text
    assert "135M" in text and "trying things out" in text
    assert gw.token_file.read_text().strip() not in text
    # a redeploy keeps the ports the running gateway and model have
    engine.calls.clear()
    again, _ = _deploy(project, _settings(tmp_path), engine)
    assert again.plan.gateway == gw
    assert engine.services("free_port") == []


def test_deploy_waits_for_the_gateway_to_answer_and_warns_when_it_does_not(project: Path, tmp_path: Path) -> None:
    # a redeploy may recreate the gateway: the zone is ready only once it answers
    engine = FakeEngine()
    _deploy(project, _settings(tmp_path), engine)
    names = [name for name, _ in engine.calls]
    assert names.index("wait_http") > names.index("up")
    assert [url for url, _ in engine.services("wait_http")] == ["http://172.17.0.1:32300/health"]
    engine.http_answers = False
    _, said = _deploy(project, _settings(tmp_path), engine)
    assert any("did not answer http://172.17.0.1:32300/health" in line for line in said), said


def test_a_zone_whose_code_makes_no_model_gets_the_gateway_but_no_offline_model(project: Path, tmp_path: Path) -> None:
    (project / "images" / "web" / "main.py").write_text("from autonomy import Node\n\nNode.start()\n")
    engine = FakeEngine()
    r, said = _deploy(project, _settings(tmp_path), engine)
    assert engine.services("model_image") == []  # nothing built: minutes saved for a zone without models
    assert r.plan.gateway is not None and r.plan.gateway.model is None
    assert "135M" not in "\n".join(said)


def test_deploy_with_a_key_runs_no_model_and_keeps_the_key_from_the_apps(project: Path, tmp_path: Path) -> None:
    engine = FakeEngine()
    r, said = _deploy(project, _settings(tmp_path, providers=(("ANTHROPIC_API_KEY", KEY),)), engine)
    assert engine.services("model_image") == []
    assert r.plan.gateway is not None and r.plan.gateway.model is None
    assert KEY not in "\n".join(said)
    assert "providers from the environment" in "\n".join(said)


def test_deploy_takes_providers_from_secrets_yaml_over_the_environment(project: Path, tmp_path: Path) -> None:
    (project / "secrets.yaml").write_text("OPENAI_BASE_URL: http://127.0.0.1:11434/v1\n")
    engine = FakeEngine()
    r, said = _deploy(project, _settings(tmp_path, providers=(("OPENAI_API_KEY", KEY),)), engine)
    gw = r.plan.gateway
    assert gw is not None and dict(gw.providers) == {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"}
    assert KEY not in gw.env_file.read_text()
    assert "providers from the secrets file" in "\n".join(said)


def test_no_offline_model_when_it_is_turned_off(project: Path, tmp_path: Path) -> None:
    engine = FakeEngine()
    r, said = _deploy(project, _settings(tmp_path, offline_model=False), engine)
    assert engine.services("model_image") == [] and r.plan.gateway is not None and r.plan.gateway.model is None
    assert "135M" not in "\n".join(said)


# --------------------------------------------------------------------------- the host's facts


class _Api:
    def __init__(self, ipam: list[dict[str, str]]) -> None:
        self.ipam = ipam

    def inspect_network(self, name: str) -> dict[str, Any]:
        assert name == "bridge"
        return {"IPAM": {"Config": self.ipam}}


def test_the_bridge_gateway_is_read_from_the_engine() -> None:
    def client(ipam: list[dict[str, str]]) -> Any:
        return SimpleNamespace(api=_Api(ipam))

    assert bridge_gateway(client([{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}])) == "172.17.0.1"
    # an engine that names only the subnet (Debian's docker.io): its first address
    assert bridge_gateway(client([{"Subnet": "10.200.0.0/24"}])) == "10.200.0.1"
    # an engine with IPv6 on the bridge (daemon.json "ipv6": true) may name that gateway
    # first: host-gateway, what the apps resolve, is the IPv4 one
    dual = [
        {"Subnet": "fd00:dead::/64", "Gateway": "fd00:dead::1"},
        {"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"},
    ]
    assert bridge_gateway(client(dual)) == "172.17.0.1"
    with pytest.raises(EngineError):
        bridge_gateway(client([{"Subnet": "fd00:dead::/64", "Gateway": "fd00:dead::1"}]))
    with pytest.raises(EngineError):
        bridge_gateway(client([]))


def test_the_host_ca_bundle_is_found_as_for_builds(tmp_path: Path) -> None:
    ca = tmp_path / "proxy-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert host_ca_file({"SSL_CERT_FILE": str(ca)}, files=[]) == ca
    assert host_ca_file({"PIP_CERT": str(ca), "SSL_CERT_FILE": "/nonexistent"}, files=[]) == ca
    found = host_ca_file({}, files=[])
    assert found is None or found.is_file()


def test_answers_http_polls_a_server_on_this_host_until_it_answers() -> None:
    import http.server
    import socket
    import threading

    from autonomy_cli.docker.ports import answers_http

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/health"
    assert not answers_http(url, 0.3)  # nobody listens
    server = http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
    server.RequestHandlerClass.do_GET = lambda self: (self.send_response(200), self.end_headers())  # type: ignore[method-assign]
    timer = threading.Timer(0.5, lambda: threading.Thread(target=server.serve_forever, daemon=True).start())
    timer.start()
    try:
        assert answers_http(url, 10)  # up half a second later: found on a later try
    finally:
        timer.join()
        server.shutdown()
        server.server_close()
