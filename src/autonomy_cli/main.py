"""The ``autonomy`` command: assembles the command groups of autonomy_cli.commands.

autonomy cluster enroll|show             commands/cluster.py
autonomy zone deploy|list|delete|render|status
                                         commands/zone.py
autonomy zone logs|inlet                 commands/logs.py
autonomy dev, autonomy --rm              commands/dev.py

Global options go before the command (``autonomy --output json zone list``): ``--no-input``
(never ask), ``--output plain|json``, ``-q/--quiet``, ``-v/--verbose``, ``--no-color``. The root
callback folds them into the settings once
(:func:`~autonomy_cli.commands.shared.use_global_options`); commands read them from there.

:func:`main` is the ``autonomy`` command. A library error is printed by the commands
(:func:`~autonomy_cli.commands.shared.handled`); anything else that escapes is a bug of
ours, printed as one line ``error: internal error: ...`` (exit 1) so that no traceback,
and none of its local variables, reaches the screen; ``AUTONOMY_DEBUG=1`` shows the
traceback instead. A reader that goes away (``autonomy zone render | head``) ends the
command quietly with 141, Ctrl-C with 130.
"""

from __future__ import annotations

import gc

# Loading the CLI's libraries allocates many objects and frees almost none: collecting
# garbage meanwhile only costs start-up time. Once loaded, they are frozen (never scanned
# again, nor at exit); collection resumes for what the command itself allocates. Together
# this saves about 0.1 s of every command.
gc.disable()

import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import typer  # noqa: E402

from .commands import cluster, dev, logs, zone  # noqa: E402
from .commands.shared import EXIT_BROKEN_PIPE, handled, quiet_stdout, use_global_options  # noqa: E402
from .errors import UsageError, printable  # noqa: E402
from .settings import debug_from_env  # noqa: E402

__all__ = ["app", "main"]

app = typer.Typer(
    help="Run Autonomy zones on this machine with Docker Compose.",
    add_completion=False,
    pretty_exceptions_enable=False,  # Typer's would print every local variable, secrets included
)


@app.callback(invoke_without_command=True)
@handled
def _main(
    ctx: typer.Context,
    rm: bool = typer.Option(
        False, "--rm", help="Run the dev loop (`autonomy dev`): deploy, follow, delete the zone on exit."
    ),
    dir: Path | None = typer.Option(None, "--dir", help="With --rm: the project folder (default: here)."),
    no_input: bool = typer.Option(False, "--no-input", help="Never ask anything (for scripts and agents)."),
    output: str = typer.Option("plain", "--output", metavar="plain|json", help="Print data as plain text or JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or info lines (data and errors only)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show more detail (each deploy step)."),
    no_color: bool = typer.Option(False, "--no-color", help="Plain text without colours (also: NO_COLOR=1)."),
) -> None:
    # a bad setting or global option is reported before any command does anything
    s = use_global_options(no_input=no_input, output=output, quiet=quiet, verbose=verbose, no_color=no_color)
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
    """The ``autonomy`` command: the app, with a last line of defence around it."""
    try:
        try:
            app(prog_name="autonomy")
        finally:
            sys.stdout.flush()  # a reader that went away shows here, not at the interpreter's exit
    except BrokenPipeError:
        quiet_stdout()
        sys.exit(EXIT_BROKEN_PIPE)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as e:
        if debug_from_env(os.environ):
            raise
        what = printable(f"{type(e).__name__}: {e}", one_line=True)
        sys.stderr.write(f"error: internal error: {what} (AUTONOMY_DEBUG=1 shows the traceback)\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
