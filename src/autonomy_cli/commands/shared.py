"""What every command shares: the error decorator, the consoles, the settings read once,
the project folder, the engine, and asking the user (never with ``--no-input``).

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
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import CliError, UsageError, printable
from ..settings import CliSettings

if TYPE_CHECKING:
    from ..docker.engine import DockerEngine

__all__ = [
    "confirm",
    "engine",
    "err",
    "handled",
    "interactive",
    "out",
    "project_dir",
    "quiet_stdout",
    "settings",
    "shown",
]

P = ParamSpec("P")
R = TypeVar("R")

out = Console(emoji=False)
err = Console(stderr=True, emoji=False)
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


@functools.lru_cache(maxsize=1)
def settings() -> CliSettings:
    """The settings, read once per run (every command reads them first)."""
    return CliSettings.from_env()


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
    if no_input or not interactive():
        return default
    return bool(typer.confirm(question, default=default))
