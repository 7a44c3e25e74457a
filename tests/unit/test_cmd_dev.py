"""The dev loop's pure parts and its wiring into a Typer app (no Docker needed)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import typer
import watchfiles
from typer.testing import CliRunner

from autonomy_cli import cmd_dev
from autonomy_cli.deploy import Event, _with_labels
from autonomy_cli.errors import CliError


def _handled(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CliError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(e.exit_code) from None

    return wrapper


@pytest.fixture()
def apps(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(cmd_dev, "run_dev", lambda d, w, s: calls.append((d, w)))
    seen: list[str] = []
    app = typer.Typer(no_args_is_help=True)
    zone_app = typer.Typer(no_args_is_help=True)
    app.add_typer(zone_app, name="zone")

    @app.callback()
    @_handled
    def _main() -> None:
        seen.append("root")

    @zone_app.command("list")
    def _list() -> None:
        typer.echo("listed")

    cmd_dev.register(app, zone_app, _handled)
    return app, calls, seen


def test_rm_is_a_root_option_that_runs_the_dev_loop(apps, tmp_path: Path) -> None:
    app, calls, seen = apps
    r = CliRunner().invoke(app, ["--rm", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert calls == [(tmp_path, None)] and seen == ["root"]  # the original callback still runs
    r = CliRunner().invoke(app, ["dev", "--dir", str(tmp_path), "--wait", "5"])
    assert r.exit_code == 0, r.output
    assert calls[-1] == (tmp_path, 5.0)


def test_rm_with_a_command_or_dir_alone_is_a_usage_error(apps, tmp_path: Path) -> None:
    app, calls, _ = apps
    r = CliRunner().invoke(app, ["--rm", "zone", "list"])
    assert r.exit_code == 2 and "--rm" in r.output
    r = CliRunner().invoke(app, ["--dir", str(tmp_path), "zone", "list"])
    assert r.exit_code == 2 and "only goes with --rm" in r.output
    r = CliRunner().invoke(app, ["zone", "list"])
    assert r.exit_code == 0 and "listed" in r.output
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
    assert cmd_dev._changed_files(changes, tmp_path) == ["images/runner/main.py", "images/runner/old.py"]
    assert cmd_dev._files(["a", "b", "c"]) == "a and 2 more file(s)"


def test_extra_labels_go_on_every_service_and_the_network() -> None:
    compose = {"services": {"a": {"labels": {"x": "1"}}, "b": {}}, "networks": {"zone": {"labels": {}}}}
    out = _with_labels(compose, {"computer.autonomy.dev": "host:1$"})
    assert out["services"]["a"]["labels"] == {"x": "1", "computer.autonomy.dev": "host:1$$"}
    assert out["services"]["b"]["labels"] == {"computer.autonomy.dev": "host:1$$"}
    assert out["networks"]["zone"]["labels"] == {"computer.autonomy.dev": "host:1$$"}


def test_events_are_strings_with_a_kind() -> None:
    e = Event("Building images ...", "step")
    assert e == "Building images ..." and e.kind == "step" and isinstance(e, str)
    assert Event("done").kind == "info"
