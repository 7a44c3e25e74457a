"""The dev loop's pure parts and its wiring into a Typer app (no Docker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import watchfiles
from typer.testing import CliRunner

from autonomy_cli.commands import dev as cmd_dev
from autonomy_cli.commands import shared
from autonomy_cli.zones import devloop
from autonomy_cli.zones.deploy import Event, _with_labels
from autonomy_cli.zones.events import EventKind
from clirun import LABEL

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def app(monkeypatch, tmp_path: Path):
    """The real `autonomy` app, with the dev loop replaced by a recorder."""
    from autonomy_cli import main

    calls: list[tuple] = []
    monkeypatch.setattr(cmd_dev, "run_dev", lambda d, w, s: calls.append((d, w)))
    monkeypatch.setenv("AUTONOMY_HOME", str(tmp_path / "home"))
    shared.settings.cache_clear()
    yield main.app, calls
    shared.settings.cache_clear()


def test_rm_is_a_root_option_that_runs_the_dev_loop(app, tmp_path: Path) -> None:
    app, calls = app
    r = CliRunner().invoke(app, ["--rm", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert calls == [(tmp_path, None)]
    r = CliRunner().invoke(app, ["dev", "--dir", str(tmp_path), "--wait", "5"])
    assert r.exit_code == 0, r.output
    assert calls[-1] == (tmp_path, 5.0)


def test_rm_with_a_command_or_dir_alone_is_a_usage_error(app, tmp_path: Path) -> None:
    app, calls = app
    hello = str(ROOT / "examples" / "hello")
    r = CliRunner().invoke(app, ["--rm", "zone", "render", "--dir", hello])
    assert r.exit_code == 2 and "--rm" in r.output
    r = CliRunner().invoke(app, ["--dir", str(tmp_path), "zone", "render", "--dir", hello])
    assert r.exit_code == 2 and "only goes with --rm" in r.output
    r = CliRunner().invoke(app, ["zone", "render", "--dir", hello])
    assert r.exit_code == 0 and "main-pod--main:" in r.output
    assert calls == []
    assert "--rm" in CliRunner().invoke(app, ["--help"]).output


def test_changed_files_are_project_relative_without_editor_temporaries(tmp_path: Path) -> None:
    main = tmp_path / "images" / "runner" / "main.py"
    main.parent.mkdir(parents=True)
    main.write_text("x")
    temp = tmp_path / "images" / "runner" / "sedAb12"  # sed -i: written, renamed away
    changes = {
        (watchfiles.Change.modified, str(main)),
        (watchfiles.Change.added, str(temp)),
        (watchfiles.Change.deleted, str(temp)),
        (watchfiles.Change.deleted, str(tmp_path / "images" / "runner" / "old.py")),
        (watchfiles.Change.modified, "/elsewhere/file"),
    }
    assert devloop.changed_files(changes, tmp_path) == ["images/runner/main.py", "images/runner/old.py"]
    assert devloop.files_text(["a", "b", "c"]) == "a and 2 more file(s)"


def test_extra_labels_go_on_every_service_not_the_external_network() -> None:
    compose = {
        "services": {"a": {"labels": {"x": "1"}}, "b": {}},
        "networks": {"zone": {"name": "n", "external": True}},
    }
    out = _with_labels(compose, {f"{LABEL}dev": "host:1$"})
    assert out["services"]["a"]["labels"] == {"x": "1", f"{LABEL}dev": "host:1$$"}
    assert out["services"]["b"]["labels"] == {f"{LABEL}dev": "host:1$$"}
    # Compose refuses labels on an external network; Engine.up puts them on it
    assert out["networks"]["zone"] == {"name": "n", "external": True}


def test_events_are_typed_with_a_kind() -> None:
    e = Event("Building images ...", EventKind.STEP)
    assert str(e) == "Building images ..." and e.kind == "step" and e.kind is EventKind.STEP
    assert Event("done").kind == "info"
