"""``--no-input`` means "never ask": where a command would ask a person (a terminal on
both ends), it asks without it and does not with it (no Docker needed)."""

from __future__ import annotations

from pathlib import Path

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
    r = CliRunner().invoke(app, ["zone", "delete", "hello"], input="y\n")
    assert r.exit_code == 0 and engine.services("delete") == ["hello"]


def test_zone_delete_with_no_input_never_asks(app) -> None:
    app, engine, _ = app
    r = CliRunner().invoke(app, ["zone", "delete", "hello", "--no-input"], input="n\n")
    assert r.exit_code == 0, r.output
    assert "Delete zone" not in r.output and engine.services("delete") == ["hello"]


def test_cluster_enroll_asks_and_with_no_input_never_does(app) -> None:
    app, _, home = app
    r = CliRunner().invoke(app, ["cluster", "enroll"], input="n\n")
    assert r.exit_code == 1 and "Create a new cluster identity" in r.output
    assert not (home / "cluster.key").exists()
    r = CliRunner().invoke(app, ["cluster", "enroll", "--no-input"], input="n\n")
    assert r.exit_code == 0 and "Enrolled cluster" in r.output and "Create a new" not in r.output
    assert (home / "cluster.key").exists()
    r = CliRunner().invoke(app, ["cluster", "enroll"])  # enrolled: nothing to ask
    assert r.exit_code == 0 and "Already enrolled" in r.output


def test_nobody_at_a_terminal_is_never_asked(app, monkeypatch) -> None:
    app, engine, _ = app
    monkeypatch.setattr(shared, "interactive", lambda: False)
    r = CliRunner().invoke(app, ["zone", "delete", "hello"])
    assert r.exit_code == 0 and "Delete zone" not in r.output and engine.services("delete") == ["hello"]
