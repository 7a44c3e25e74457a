"""The ``autonomy`` command: assembles the command groups of autonomy_cli.commands.

autonomy cluster enroll|show             commands/cluster.py
autonomy zone deploy|list|delete|render|status
                                         commands/zone.py
autonomy zone logs|inlet                 commands/logs.py
autonomy dev, autonomy --rm              commands/dev.py
"""

from __future__ import annotations

import gc

# Loading the CLI's libraries allocates many objects and frees almost none: collecting
# garbage meanwhile only costs start-up time. Once loaded, they are frozen (never scanned
# again, nor at exit); collection resumes for what the command itself allocates. Together
# this saves about 0.1 s of every command.
gc.disable()

from pathlib import Path  # noqa: E402

import typer  # noqa: E402

from .commands import cluster, dev, logs, zone  # noqa: E402
from .commands.shared import handled, settings  # noqa: E402
from .errors import UsageError  # noqa: E402

__all__ = ["app", "main"]

app = typer.Typer(help="Run Autonomy zones on this machine with Docker Compose.", add_completion=False)


@app.callback(invoke_without_command=True)
@handled
def _main(
    ctx: typer.Context,
    rm: bool = typer.Option(
        False, "--rm", help="Run the dev loop (`autonomy dev`): deploy, follow, delete the zone on exit."
    ),
    dir: Path | None = typer.Option(None, "--dir", help="With --rm: the project folder (default: here)."),
) -> None:
    s = settings()  # a bad setting is reported before any command does anything
    if rm:
        if ctx.invoked_subcommand is not None:
            raise UsageError(f"--rm runs the dev loop by itself; drop it or `{ctx.invoked_subcommand}`")
        dev.run_dev(dir, None, s)
    elif dir is not None:
        raise UsageError("--dir before a command only goes with --rm; put it after the command")
    elif ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


cluster.register(app)
logs.register(zone.register(app))
dev.register(app)
gc.freeze()
gc.enable()


def main() -> None:
    app(prog_name="autonomy")


if __name__ == "__main__":
    main()
