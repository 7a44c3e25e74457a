"""The zone's model gateway on a real Docker engine.

projects/gateway: one node. Deployed with no provider configured, the zone runs the
gateway and the bundled offline model (SmolLM2-135M: its image is built once and kept,
so a session builds it at most once); from inside the app container, with only the
SDK's variables, the gateway lists models and the real offline model answers a chat.
Redeployed with ``OPENAI_BASE_URL`` pointing at a server on this host's 127.0.0.1, the
gateway reaches it: that server is a scripted OpenAI-compatible **stand-in**
(tests/e2e/standin.py, not a model), which is enough to show the route host loopback <- gateway
<- app container.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devtools import PROVIDERS, copy_project, deploy_with_providers, leftovers, run_cli
from standin import MODEL as STANDIN_MODEL
from standin import StandIn

from clirun import LABEL

pytestmark = pytest.mark.e2e
NEEDS_IMAGES = ("model",)  # built on the side: tests/e2e/prebuild.py

ZONE = "gwtest"
STANDIN_ANSWER = "the stand-in answers"


def _app_container(client: Any) -> Any:
    found = client.containers.list(filters={"label": [f"{LABEL}zone={ZONE}", f"{LABEL}role=app"]})
    assert len(found) == 1, found
    return found[0]


def _ask(client: Any, model: str) -> dict[str, Any]:
    """Run ask.py in the app container (its network, its environment) and read its JSON."""
    code, output = _app_container(client).exec_run(["python", "ask.py", model])
    text = output.decode(errors="replace")
    assert code == 0, text
    return dict(json.loads(text.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def zone(cold_engine: Any, autonomy_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    project = copy_project("gateway", tmp_path_factory.mktemp("gateway"), ZONE)
    try:
        yield project
    finally:
        r = run_cli(autonomy_home, "zone", "delete", ZONE, "-y", "--images")
        assert r.returncode == 0, r.stdout + r.stderr
        assert leftovers(cold_engine, ZONE) == []


@pytest.mark.timeout(900)  # may build the offline model's image (llama.cpp from source)
def test_with_nothing_configured_the_offline_model_answers_through_the_gateway(
    cold_engine: Any, autonomy_home: Path, zone: Path
) -> None:
    out = deploy_with_providers(autonomy_home, zone)
    assert "model gateway: http://host.docker.internal:" in out, out
    assert "135M" in out and "trying things out" in out, out
    mine = cold_engine.containers.list(filters={"label": f"{LABEL}zone={ZONE}"})
    roles = {c.labels.get(f"{LABEL}role") for c in mine}
    assert {"gateway", "model", "app", "infra"} <= roles, roles

    answer = _ask(cold_engine, "claude-sonnet-4-v1")  # any name: only the offline model is there
    assert answer["use"] == "1"
    assert answer["models"]["data"], answer
    content = answer["chat"]["choices"][0]["message"]["content"]
    assert len(content.split()) >= 2, answer  # a real model: some words
    assert answer["without_token"] == 401, answer

    app = _app_container(cold_engine)
    env_names = {e.split("=", 1)[0] for e in app.attrs["Config"]["Env"]}
    assert not set(PROVIDERS) & env_names, env_names
    # published ports of the zone stay on 127.0.0.1; the gateway listens on one address
    for c in cold_engine.containers.list(filters={"label": f"{LABEL}zone={ZONE}"}):
        for bindings in (c.attrs["HostConfig"].get("PortBindings") or {}).values():
            assert all(b["HostIp"] == "127.0.0.1" for b in bindings or []), c.name
        if c.labels.get(f"{LABEL}role") == "gateway":
            assert not c.labels[f"{LABEL}listen"].startswith("0.0.0.0"), c.labels


def test_a_base_url_on_the_hosts_loopback_is_reached_through_the_gateway(
    cold_engine: Any, autonomy_home: Path, zone: Path
) -> None:
    with StandIn(lambda body: {"content": STANDIN_ANSWER}) as standin:
        out = deploy_with_providers(autonomy_home, zone, OPENAI_BASE_URL=standin.url)
        assert standin.url in out and "135M" not in out, out
        models = subprocess.run(  # the offline model is gone: a provider is configured
            ["docker", "ps", "-q", "--filter", f"label={LABEL}zone={ZONE}", "--filter", f"label={LABEL}role=model"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert models.stdout.strip() == ""
        answer = _ask(cold_engine, STANDIN_MODEL)
        assert answer["chat"]["choices"][0]["message"]["content"] == STANDIN_ANSWER, answer
        seen = [(s["path"], s["model"]) for s in standin.seen]
        assert ("/v1/chat/completions", STANDIN_MODEL) in seen, seen
