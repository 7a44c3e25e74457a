"""What every command shares: the error decorator, the consoles, the settings read once,
the project folder, the engine, and asking the user (never with ``--no-input``).

The root command's global options reach every command through :func:`settings` (see
:func:`use_global_options`): ``-q`` silences :func:`info` (progress and info lines, never
data or errors), ``--no-color`` (or NO_COLOR) turns the consoles to plain text,
``--no-input`` makes :func:`confirm` and :func:`confirmed` never ask.

Every library error is a :class:`~autonomy_cli.errors.CliError`; :func:`handled` prints
it without a traceback and its ``exit_code`` becomes the process's (2 for bad input).
Text that came from a user's file or from a container is printed through :func:`shown`:
escaped for the terminal (:func:`~autonomy_cli.errors.printable`) and for Rich's markup,
so ``[dim]`` prints as written and an escape sequence cannot reach the terminal.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import CliError, UsageError, printable
from ..settings import CliSettings

if TYPE_CHECKING:
    from ..docker.engine import DockerEngine

__all__ = [
    "confirm",
    "confirmed",
    "console",
    "engine",
    "err",
    "handled",
    "info",
    "interactive",
    "out",
    "project_dir",
    "quiet_stdout",
    "settings",
    "shown",
    "use_global_options",
]

P = ParamSpec("P")
R = TypeVar("R")

out = Console(emoji=False)
err = Console(stderr=True, emoji=False)
_CONSOLE_DEFAULTS = {c: (c.no_color, c._color_system) for c in (out, err)}
EXIT_BROKEN_PIPE = 141  # what a shell reports for a process killed by SIGPIPE


def shown(text: str, limit: int = 10_000) -> str:
    """``text`` ready for ``console.print`` with markup on: escaped for the terminal and
    for Rich, cut after ``limit`` characters."""
    return escape(printable(text, limit))


def quiet_stdout() -> None:
    """Point stdout at /dev/null once whoever read it has gone (a closed pipe), so that
    nothing more fails on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into a message and an exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CliError as e:
            err.print(f"[bold red]error:[/] {shown(str(e))}", markup=True, highlight=False, soft_wrap=True)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            quiet_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None

    return wrapper


_global_options: dict[str, Any] = {}


@functools.lru_cache(maxsize=1)
def settings() -> CliSettings:
    """The settings, read once per run (every command reads them first), with the root
    command's global options folded in."""
    s = CliSettings.from_env()
    return s.with_options(**_global_options) if _global_options else s


def use_global_options(*, no_input: bool, output: str, quiet: bool, verbose: bool, no_color: bool) -> CliSettings:
    """Fold the root command's global options into :func:`settings` (UsageError for bad
    ones) and set the consoles up for them; returns the settings."""
    _global_options.clear()
    _global_options.update(no_input=no_input, output=output, quiet=quiet, verbose=verbose, no_color=no_color)
    settings.cache_clear()
    s = settings()
    for c, (no_color, system) in _CONSOLE_DEFAULTS.items():
        # without colour, no style either (color_system None): plain text, no escape code
        c.no_color, c._color_system = (no_color, system) if s.color else (True, None)
    return s


def console(*, stderr: bool = False) -> Console:
    """A console of its own (for a command that prints from threads or streams), plain
    text under ``--no-color``/NO_COLOR like :data:`out` and :data:`err`."""
    if settings().color:
        return Console(stderr=stderr, highlight=False, emoji=False)
    return Console(stderr=stderr, highlight=False, emoji=False, color_system=None, no_color=True)


def info(text: str, *, stderr: bool = False) -> None:
    """Print a progress or info line (Rich markup), unless ``-q``; on stderr with
    ``--output json``, so that stdout holds the JSON alone."""
    s = settings()
    if not s.quiet:
        (err if stderr or s.as_json else out).print(text, highlight=False)


def project_dir(dir: Path | None) -> Path:
    """The project folder a command acts on (``--dir``, default: here)."""
    d = (dir or Path.cwd()).resolve()
    if not d.is_dir():
        raise UsageError(f"{d}: not a folder")
    return d


def engine() -> DockerEngine:
    """The Docker engine (connected at its first use)."""
    from ..docker.engine import DockerEngine

    return DockerEngine()


def interactive() -> bool:
    """True when a person can answer a question (stdin and stdout are a terminal)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def confirm(question: str, *, no_input: bool, default: bool = True) -> bool:
    """Ask a yes/no question; ``default`` without asking under ``--no-input`` or when
    nobody can answer (stdin is not a terminal)."""
    if no_input or settings().no_input or not interactive():
        return default
    return bool(typer.confirm(question, default=default))


def confirmed(question: str, *, yes: bool, refused: str, no_input: bool = False) -> bool:
    """A destructive step's confirmation: True with ``-y/--yes``; else the question is
    asked when a person can answer (default: no). Where nobody can (``--no-input``, or
    stdin or stdout not a terminal) it is never asked and never assumed: a UsageError
    ``<refused>: nobody can confirm here ...; add -y/--yes`` (as the SDK's CLI does)."""
    if yes:
        return True
    if no_input or settings().no_input or not interactive():
        why = "--no-input" if no_input or settings().no_input else "stdin or stdout is not a terminal"
        raise UsageError(f"{refused}: nobody can confirm here ({why}); add -y/--yes to go ahead without asking")
    return bool(typer.confirm(question, default=False))
