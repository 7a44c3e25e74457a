"""deploy() and the dev loop's redeploy decision, on a fake engine (no Docker).

The project has a public pod ``web`` and a pod ``runner`` with two clones, each built from
its own folder under images/ FROM the base image.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import watchfiles
from fakeengine import FakeEngine

from autonomy_cli.errors import UsageError
from autonomy_cli.settings import CliSettings
from autonomy_cli.zones.deploy import deploy
from autonomy_cli.zones.devloop import DevLoop
from autonomy_cli.zones.events import Event, EventKind

MANIFEST = """\
name: shop
pods:
  - name: web
    public: true
    containers:
      - name: web
        image: web
  - name: runner
    clones: 2
    containers:
      - name: runner
        image: runner
"""
RUNNERS = ["runner-0--runner", "runner-1--runner"]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    for image in ("web", "runner", "unused"):
        (root / "images" / image).mkdir(parents=True)
        (root / "images" / image / "Dockerfile").write_text("FROM ghcr.io/build-trust/autonomy-python\n")
        (root / "images" / image / "main.py").write_text("from autonomy import Node\n\nNode.start()\n")
    (root / "autonomy.yaml").write_text(MANIFEST)
    return root


@pytest.fixture()
def settings(tmp_path: Path) -> CliSettings:
    return CliSettings(home=tmp_path / "home", base_source="auto", public_port=32100, deploy_wait=5, probe="host")


def _events() -> tuple[list[Event], object]:
    seen: list[Event] = []
    return seen, seen.append


def test_a_first_deploy_applies_the_whole_zone(project: Path, settings: CliSettings) -> None:
    engine = FakeEngine()
    seen, on_event = _events()
    r = deploy(project, settings, on_event=on_event, engine=engine)  # type: ignore[arg-type]
    assert engine.services("up") == ["shop"] and engine.services("up_services") == []
    assert engine.services("build") == [["autonomy-shop-runner", "autonomy-shop-web"]]
    assert r.services is None and r.recreated == ("runner-0", "runner-1", "web")
    assert sorted(r.answered) == sorted(n.name for n in r.plan.nodes()) and len(r.answered) == 3
    assert r.urls == ("http://127.0.0.1:32100",)
    assert all(isinstance(e, Event) for e in seen) and {e.kind for e in seen} >= {EventKind.STEP, EventKind.INFO}
    assert (settings.zone_dir("shop") / "roster.json").is_file()


def test_only_pods_rebuilds_and_recreates_only_those_pods(project: Path, settings: CliSettings) -> None:
    engine = FakeEngine()
    deploy(project, settings, on_event=lambda e: None, engine=engine)  # type: ignore[arg-type]
    web_before = engine.views["web--web"].id
    r = deploy(project, settings, on_event=lambda e: None, engine=engine, only_pods=["runner"])  # type: ignore[arg-type]
    assert engine.services("up") == ["shop"]  # the first deploy only
    assert engine.services("up_services") == [RUNNERS]
    assert engine.services("build")[-1] == ["autonomy-shop-runner"]
    assert engine.services("probe")[-1] == sorted(n.name for n in r.plan.nodes() if n.pod == "runner")
    assert r.services == tuple(RUNNERS) and r.recreated == ("runner-0", "runner-1")
    assert engine.views["web--web"].id == web_before


def test_only_pods_on_a_zone_that_does_not_run_is_a_whole_deploy(project: Path, settings: CliSettings) -> None:
    engine = FakeEngine()
    r = deploy(project, settings, on_event=lambda e: None, engine=engine, only_pods=["runner"])  # type: ignore[arg-type]
    assert engine.services("up") == ["shop"] and r.services is None


def test_an_unknown_pod_is_a_usage_error(project: Path, settings: CliSettings) -> None:
    with pytest.raises(UsageError, match="no pod nope in zone shop"):
        deploy(project, settings, on_event=lambda e: None, engine=FakeEngine(), only_pods=["nope"])  # type: ignore[arg-type]


def test_the_public_port_stays_where_the_zone_has_it(project: Path, settings: CliSettings) -> None:
    engine = FakeEngine()
    deploy(project, settings, on_event=lambda e: None, engine=engine)  # type: ignore[arg-type]
    infra = engine.views["web"]
    engine.views["web"] = type(infra)(**{**infra.__dict__, "published": {8000: 32107}})
    r = deploy(project, settings, on_event=lambda e: None, engine=engine)  # type: ignore[arg-type]
    assert r.plan.public_port == 32107 and r.urls == ("http://127.0.0.1:32107",)


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, markup: str, *, stderr: bool = False) -> None:
        self.lines.append(markup)

    def log_line(self, tag: str, text: str, colour: str) -> None:
        pass


@pytest.fixture()
def loop(project: Path, settings: CliSettings):
    engine = FakeEngine()
    dev = DevLoop(project, settings, None, _Out(), engine=engine)  # type: ignore[arg-type]
    dev.clear_leftover("shop")
    dev.zones.append("shop")
    assert dev.deploy()
    yield dev, engine
    if dev.logs is not None:
        dev.logs.close()


def _change(project: Path, *rel: str) -> set[tuple[watchfiles.Change, str]]:
    return {(watchfiles.Change.modified, str(project / r)) for r in rel}


def test_dev_an_image_change_recreates_only_the_pods_using_it(loop, project: Path) -> None:
    dev, engine = loop
    assert engine.services("up") == ["shop"]
    dev.on_changes(_change(project, "images/runner/main.py"))
    assert engine.services("up") == ["shop"]
    assert engine.services("up_services") == [RUNNERS]
    assert engine.services("build")[-1] == ["autonomy-shop-runner"]


def test_dev_a_manifest_change_redeploys_the_whole_zone(loop, project: Path) -> None:
    dev, engine = loop
    dev.on_changes(_change(project, "autonomy.yaml", "images/runner/main.py"))
    assert engine.services("up") == ["shop", "shop"] and engine.services("up_services") == []
    dev.on_changes(_change(project, "secrets.yaml"))
    assert engine.services("up") == ["shop", "shop", "shop"]


def test_dev_a_folder_no_pod_uses_changes_nothing(loop, project: Path) -> None:
    dev, engine = loop
    calls = len(engine.calls)
    dev.on_changes(_change(project, "images/unused/main.py", "README.md"))
    assert len(engine.calls) == calls
    assert any("no pod uses image unused" in line for line in dev.out.lines)


def test_dev_after_a_failed_whole_deploy_the_next_change_redeploys_all(loop, project: Path) -> None:
    dev, engine = loop
    (project / "autonomy.yaml").write_text("name: shop\npods: 3\n")
    dev.on_changes(_change(project, "autonomy.yaml"))
    assert any("error" in line for line in dev.out.lines)
    (project / "autonomy.yaml").write_text(MANIFEST)
    dev.on_changes(_change(project, "images/runner/main.py"))
    assert engine.services("up") == ["shop", "shop"] and engine.services("up_services") == []


def test_services_are_not_waited_for(project: Path, settings: CliSettings) -> None:
    """A container whose image never calls Node.start is a service: no probe waits for
    it, the deploy says so, and it gets no node key."""
    (project / "images" / "runner" / "main.py").write_text("import http.server  # a plain server, no node\n")
    engine = FakeEngine()
    seen, on_event = _events()
    r = deploy(project, settings, on_event=on_event, engine=engine)  # type: ignore[arg-type]
    assert r.not_nodes == tuple(RUNNERS)
    assert engine.services("probe") == [[n.name for n in r.plan.nodes() if n.pod == "web"]]
    assert sorted(r.answered) == [n.name for n in r.plan.nodes() if n.pod == "web"]
    assert any("2 service(s), not waited for" in e.text for e in seen)
    keys = sorted(p.name for p in settings.zone_dir("shop").joinpath("keys").glob("*.key"))
    assert len(keys) == 2 and not any("runner" in k for k in keys)  # the web node's and the probe's


def test_a_zone_of_services_starts_no_probe(project: Path, settings: CliSettings) -> None:
    for image in ("web", "runner"):
        (project / "images" / image / "main.py").unlink()
    engine = FakeEngine()
    seen, on_event = _events()
    r = deploy(project, settings, on_event=on_event, engine=engine)  # type: ignore[arg-type]
    assert engine.services("probe") == [] and r.answered == {} and r.probe == "none"
    assert not any("Waiting for" in e.text for e in seen)
    assert [sorted(c) for c in engine.services("check_images")] == [["autonomy-shop-runner", "autonomy-shop-web"]]


def test_a_zone_with_an_mcp_proxy_gets_it_built_before_the_image_check(project: Path, settings: CliSettings) -> None:
    """The MCP proxy image is ours (docker/mcpimage.py): ensured before the image check,
    its container a service; a zone without one does not ask for it."""
    engine = FakeEngine()
    deploy(project, settings, on_event=lambda e: None, engine=engine)  # type: ignore[arg-type]
    assert engine.services("mcp_image") == []
    (project / "autonomy.yaml").write_text(
        MANIFEST + "      - name: time\n        image: ghcr.io/build-trust/mcp-proxy\n"
        '        args: ["--sse-port", "8001", "--", "uvx", "mcp-server-time"]\n'
    )
    engine = FakeEngine()
    seen, on_event = _events()
    r = deploy(project, settings, on_event=on_event, engine=engine)  # type: ignore[arg-type]
    asked = [c[0] for c in engine.calls]
    assert asked.index("mcp_image") < asked.index("check_images")
    assert engine.services("mcp_image") == [("ghcr.io/build-trust/mcp-proxy",)]
    assert any(e.text == "MCP proxy image ghcr.io/build-trust/mcp-proxy: cached" for e in seen)
    assert sorted(r.not_nodes) == ["runner-0--time", "runner-1--time"]
