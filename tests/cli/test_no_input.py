"""``--no-input`` means "never ask": where a command would ask a person (a terminal on
both ends), it asks without it and does not with it (no Docker needed). ``zone delete``
is never assumed: where nobody can answer it needs ``-y/--yes``."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from fakeengine import FakeEngine
from typer.testing import CliRunner

from autonomy_cli import main
from autonomy_cli.commands import shared, zone


@pytest.fixture()
def app(monkeypatch, tmp_path: Path):
    """The real app, as if a person sat at a terminal; zone commands get a fake engine."""
    engine = FakeEngine()
    monkeypatch.setenv("AUTONOMY_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(shared, "interactive", lambda: True)
    monkeypatch.setattr(zone, "engine", lambda: engine)
    shared.settings.cache_clear()
    yield main.app, engine, tmp_path / "home"
    shared.settings.cache_clear()


def test_zone_delete_asks_and_a_no_keeps_the_zone(app) -> None:
    app, engine, _ = app
    r = CliRunner().invoke(app, ["zone", "delete", "hello"], input="n\n")
    assert r.exit_code == 1 and "Delete zone hello" in r.output and "not deleted" in r.output
    assert engine.services("delete") == []
    r = CliRunner().invoke(app, ["zone", "delete", "hello"], input="\n")  # the default is no
    assert r.exit_code == 1 and engine.services("delete") == []
    r = CliRunner().invoke(app, ["zone", "delete", "hello"], input="y\n")
    assert r.exit_code == 0 and engine.services("delete") == ["hello"]


@pytest.mark.parametrize("args", [["--no-input", "zone", "delete", "hello"], ["zone", "delete", "hello", "--no-input"]])
def test_zone_delete_with_no_input_never_asks_and_needs_yes(app, args) -> None:
    app, engine, _ = app
    r = CliRunner().invoke(app, args, input="y\n")
    assert r.exit_code == 2, r.output
    assert "everything of it?" not in r.output and "add -y/--yes" in r.output and "not deleted" in r.output
    assert engine.services("delete") == []
    for yes in ("-y", "--yes"):
        r = CliRunner().invoke(app, [*args, yes], input="n\n")
        assert r.exit_code == 0, r.output
        assert "everything of it?" not in r.output and "zone hello: nothing to delete" in r.output
    assert engine.services("delete") == ["hello", "hello"]  # idempotent: deleting again is fine


class Zones(FakeEngine):
    """A fake engine with zones running, as `zone list` would show them."""

    def __init__(self, *zones: str) -> None:
        super().__init__()
        self.running = list(zones)

    def list_zones(self):
        return [SimpleNamespace(zone=z) for z in self.running]


def test_zone_delete_all_deletes_every_zone_running_here(app, monkeypatch) -> None:
    app, _, _ = app
    engine = Zones("alpha", "beta")
    monkeypatch.setattr(zone, "engine", lambda: engine)
    r = CliRunner().invoke(app, ["zone", "delete", "--all"], input="n\n")
    assert r.exit_code == 1 and "Delete 2 zone(s): alpha, beta" in r.output and engine.services("delete") == []
    r = CliRunner().invoke(app, ["--output", "json", "zone", "delete", "--all", "-y"])
    assert r.exit_code == 0, r.output
    assert engine.services("delete") == ["alpha", "beta"]
    # click < 8.2 mixes stderr (where info lines go with --output json) into r.stdout
    doc = r.stdout[r.stdout.index("[\n") :]
    assert [d["zone"] for d in json.loads(doc)] == ["alpha", "beta"]
    engine.running = []
    r = CliRunner().invoke(app, ["zone", "delete", "--all"])  # nothing to delete: nothing to ask
    assert r.exit_code == 0 and "no zones" in r.output


@pytest.mark.parametrize("args", [["hello", "--all"], ["--all", "--dir", "."]])
def test_zone_delete_name_and_all_is_a_usage_error(app, args) -> None:
    app, engine, _ = app
    r = CliRunner().invoke(app, ["zone", "delete", *args, "-y"])
    assert r.exit_code == 2 and "--all" in r.output and engine.services("delete") == []


def test_cluster_enroll_asks_and_with_no_input_never_does(app) -> None:
    app, _, home = app
    r = CliRunner().invoke(app, ["cluster", "enroll"], input="n\n")
    assert r.exit_code == 1 and "Create a new cluster identity" in r.output
    assert not (home / "cluster.key").exists()
    r = CliRunner().invoke(app, ["cluster", "enroll", "--no-input"], input="n\n")
    assert r.exit_code == 0 and "Enrolled cluster" in r.output and "Create a new" not in r.output
    assert (home / "cluster.key").exists()
    for f in ("cluster.key", "cluster.json"):
        (home / f).unlink()
    r = CliRunner().invoke(app, ["--no-input", "cluster", "enroll"], input="n\n")  # the global option
    assert r.exit_code == 0 and "Enrolled cluster" in r.output and "Create a new" not in r.output
    r = CliRunner().invoke(app, ["cluster", "enroll"])  # enrolled: nothing to ask
    assert r.exit_code == 0 and "Already enrolled" in r.output


def test_nobody_at_a_terminal_is_never_asked(app, monkeypatch) -> None:
    app, engine, _ = app
    monkeypatch.setattr(shared, "interactive", lambda: False)
    r = CliRunner().invoke(app, ["zone", "delete", "hello"])
    assert r.exit_code == 2 and "everything of it?" not in r.output and "not a terminal" in r.output
    assert engine.services("delete") == []
    r = CliRunner().invoke(app, ["zone", "delete", "hello", "-y"])
    assert r.exit_code == 0 and engine.services("delete") == ["hello"]


def test_verbose_shows_each_deploy_step_and_quiet_none(app, monkeypatch) -> None:
    from autonomy_cli.errors import CliError
    from autonomy_cli.zones import deploy as deploy_mod
    from autonomy_cli.zones.events import Event, EventKind

    app, _, _ = app

    def fake_deploy(project, s, *, on_event, wait, **options):
        on_event(Event("building images", EventKind.STEP))
        on_event(Event("built web in 1.0 s", EventKind.INFO))
        raise CliError("stopped here")

    monkeypatch.setattr(deploy_mod, "deploy", fake_deploy)
    runs = {flag: CliRunner().invoke(app, [*flag, "zone", "deploy"]) for flag in ((), ("-v",), ("-q",))}
    assert all(r.exit_code == 1 and "stopped here" in r.output for r in runs.values())
    assert "building images" in runs[("-v",)].output and "building images" not in runs[()].output
    assert "built web" in runs[()].output and "built web" not in runs[("-q",)].output


def test_output_json_makes_list_and_status_print_json(app, monkeypatch) -> None:
    from autonomy_cli.docker.sweep import ZoneSummary

    app, _, _ = app
    engine = Zones()
    engine.list_zones = lambda: [ZoneSummary("hello", "c" * 32, 1, 1, 1, ("http://127.0.0.1:32100",))]  # type: ignore[method-assign]
    monkeypatch.setattr(zone, "engine", lambda: engine)
    listed = CliRunner().invoke(app, ["--output", "json", "zone", "list"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["urls"] == ["http://127.0.0.1:32100"]
    assert json.loads(CliRunner().invoke(app, ["zone", "list", "--json"]).stdout) == json.loads(listed.stdout)
    assert "http://127.0.0.1:32100" in CliRunner().invoke(app, ["zone", "list"]).stdout  # plain: a table
    status = CliRunner().invoke(app, ["--output", "json", "zone", "status", "hello"])
    assert status.exit_code == 0 and json.loads(status.stdout) == {"zone": "hello", "instances": []}
