"""The ``autonomy`` command. The only module of the CLI that prints or exits.

    autonomy cluster enroll [--no-input]     make this machine's cluster identity
    autonomy cluster show [--json]
    autonomy zone deploy [--dir DIR]         build, start, wait for every node, show URLs
    autonomy zone list [--json]
    autonomy zone delete [NAME] [--dir DIR]  remove every container, network, volume, key
    autonomy zone render [--dir DIR]         print the Compose file deploy would apply

Every library error is a :class:`~autonomy_cli.errors.CliError`; it is printed without a
traceback and its ``exit_code`` becomes the process's (2 for bad input).
"""

from __future__ import annotations

import gc

# Loading the CLI's libraries allocates many objects and frees almost none: collecting
# garbage meanwhile only costs start-up time. Once loaded, they are frozen (never scanned
# again, nor at exit); collection resumes for what the command itself allocates. Together
# this saves about 0.1 s of every command.
gc.disable()

import functools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, TypeVar

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from . import cluster as cluster_mod  # noqa: E402
from . import compose as compose_mod  # noqa: E402
from .errors import CliError, UsageError  # noqa: E402
from .manifest import zone_name  # noqa: E402
from .settings import CliSettings  # noqa: E402

app = typer.Typer(help="Run Autonomy zones on this machine with Docker Compose.", add_completion=False)
cluster_app = typer.Typer(help="This machine's cluster identity.", no_args_is_help=True)
zone_app = typer.Typer(help="Deploy, list and delete zones.", no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")
app.add_typer(zone_app, name="zone")

out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])
PLACEHOLDER_CLUSTER = "0" * 32


def _handled(fn: F) -> F:
    """Turn library errors into a message and an exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CliError as e:
            err.print(f"[bold red]error:[/] {e}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@functools.lru_cache(maxsize=1)
def _settings() -> CliSettings:
    """The settings, read once per run (every command reads them first)."""
    return CliSettings.from_env()


@app.callback(invoke_without_command=True)
@_handled
def _main(
    ctx: typer.Context,
    rm: bool = typer.Option(
        False, "--rm", help="Run the dev loop (`autonomy dev`): deploy, follow, delete the zone on exit."
    ),
    dir: Path | None = typer.Option(None, "--dir", help="With --rm: the project folder (default: here)."),
) -> None:
    s = _settings()  # a bad setting is reported before any command does anything
    if rm:
        if ctx.invoked_subcommand is not None:
            raise UsageError(f"--rm runs the dev loop by itself; drop it or `{ctx.invoked_subcommand}`")
        from .cmd_dev import run_dev

        run_dev(dir, None, s)
    elif dir is not None:
        raise UsageError("--dir before a command only goes with --rm; put it after the command")
    elif ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


def _project_dir(dir: Path | None) -> Path:
    d = (dir or Path.cwd()).resolve()
    if not d.is_dir():
        raise UsageError(f"{d}: not a folder")
    return d


# --------------------------------------------------------------------------- cluster


@cluster_app.command("enroll")
@_handled
def cluster_enroll(no_input: bool = typer.Option(False, "--no-input", help="Do not ask anything.")) -> None:
    """Make this machine's cluster identity (an Ed25519 key), once."""
    s = _settings()
    c, created = cluster_mod.enroll(s.home)
    if created:
        out.print(f"Enrolled cluster [bold]{c.id}[/] (identity in {s.home})")
    else:
        out.print(f"Already enrolled in cluster [bold]{c.id}[/] (identity in {s.home})")


@cluster_app.command("show")
@_handled
def cluster_show(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the cluster this machine is enrolled in."""
    s = _settings()
    c = cluster_mod.load(s.home)
    if c is None:
        raise CliError("this machine is not enrolled yet: run `autonomy cluster enroll`")
    zones = sorted(p.name for p in s.zones_dir.iterdir()) if s.zones_dir.exists() else []
    if as_json:
        out.print_json(json.dumps({**c.to_dict(), "zones": zones}))
        return
    t = Table(show_header=False, box=None)
    t.add_row("cluster", c.id)
    t.add_row("public key", c.public_key)
    t.add_row("created", c.created)
    t.add_row("home", c.home)
    t.add_row("zones", ", ".join(zones) or "(none)")
    out.print(t)


# --------------------------------------------------------------------------- zones


@zone_app.command("render")
@_handled
def zone_render(dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here).")) -> None:
    """Print the Compose file that `zone deploy` would apply (writes nothing)."""
    from .deploy import plan_for

    s = _settings()
    project = _project_dir(dir)
    c = cluster_mod.load(s.home)
    p = plan_for(project, s, c.id if c else PLACEHOLDER_CLUSTER, s.public_port)
    if c is None:
        err.print("note: not enrolled yet; node names use a placeholder cluster id")
    for w in p.warnings:
        err.print(f"[yellow]warning:[/] {w}")
    sys.stdout.write(compose_mod.dump(compose_mod.render(p)))


@zone_app.command("deploy")
@_handled
def zone_deploy(
    dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
    wait: float | None = typer.Option(None, help="Seconds to wait for every node to answer."),
) -> None:
    """Build the zone's images, start it, wait until every node answers, show its URLs."""
    from .deploy import deploy

    with out.status("Deploying ...") as status:

        def on_event(e: str) -> None:
            kind = getattr(e, "kind", "info")
            if kind in ("step", "progress"):
                status.update(str(e))
            elif kind == "warning":
                err.print(f"[yellow]warning:[/] {e}", highlight=False)
            else:
                out.print(str(e), highlight=False)

        result = deploy(_project_dir(dir), _settings(), on_event=on_event, wait=wait)
    _print_zone(result.states, result.answered, result.plan.zone)
    for url in result.urls:
        out.print(f"HTTP: [bold]{url}[/]")
    for portal in result.portals:
        out.print(f"portal: {portal}")
    out.print(f"zone [bold]{result.plan.zone}[/] deployed in {result.elapsed:.1f} s")


def _print_zone(states: Any, answered: dict[str, dict[str, float]], zone: str) -> None:
    t = Table(title=f"zone {zone}")
    for col in ("pod", "clone", "container", "state", "node"):
        t.add_column(col)
    for st in states:
        if st.role != "app":
            continue
        a = answered.get(st.node)
        node = f"answered in {a['ms']:.1f} ms, {int(a['workers'])} worker(s)" if a else "-"
        colour = "green" if st.state == "running" else "red"
        t.add_row(st.pod, str(st.clone), st.container, f"[{colour}]{st.state}[/]", node)
    out.print(t)


@zone_app.command("list")
@_handled
def zone_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the zones running on this machine (read from Docker's labels)."""
    from .engine import Engine

    zones = Engine().list_zones()
    if as_json:
        sys.stdout.write(json.dumps([z.to_dict() for z in zones], indent=2) + "\n")
        return
    if not zones:
        out.print("no zones")
        return
    t = Table()
    for col in ("zone", "pods", "containers", "url"):
        t.add_column(col)
    for z in zones:
        t.add_row(z.zone, str(z.instances), f"{z.running}/{z.containers} running", ", ".join(z.urls) or "-")
    out.print(t)


@zone_app.command("delete")
@_handled
def zone_delete(
    name: str | None = typer.Argument(None, help="Zone to delete (default: the one in autonomy.yaml)."),
    dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
    images: bool = typer.Option(False, "--images", help="Also remove the images built for the zone."),
) -> None:
    """Delete a zone: every container, network, volume and key. Idempotent."""
    from .engine import Engine

    s = _settings()
    name = zone_name(name, dir)
    engine = Engine()
    removed = engine.delete(name, s.zone_dir(name))
    n_images = engine.remove_images(name) if images else 0
    if not any(removed.values()) and not n_images:
        out.print(f"zone {name}: nothing to delete")
    else:
        out.print(
            f"zone {name} deleted: {removed['containers']} container(s), {removed['networks']} network(s), "
            f"{removed['volumes']} volume(s)" + (f", {n_images} image(s)" if images else "")
        )


from .cmd_dev import register as _register_dev  # noqa: E402  (they need _handled above)
from .cmd_logs import register as _register_logs  # noqa: E402

_register_logs(zone_app, _handled)
_register_dev(app, zone_app, _handled)
gc.freeze()
gc.enable()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
