"""``autonomy dev`` (also ``autonomy --rm``): the inner loop, on the terminal.

    autonomy dev [--dir DIR] [--wait S]   deploy, print the URLs, stream the logs, watch the
    autonomy --rm [--dir DIR]             project folder and redeploy what changed; Ctrl-C or
                                          SIGTERM deletes the zone and its images, exit 0

``--rm`` is the root command's own option (autonomy_cli.main) and calls :func:`run_dev`.
What the loop does is :mod:`autonomy_cli.zones.devloop`'s; this module prints it and
turns signals into its end.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from ..errors import UsageError
from ..manifest import load as load_manifest
from ..settings import CliSettings
from ..zones.devloop import DevLoop
from .shared import console, handled, settings

__all__ = ["register", "run_dev"]


class _Out:
    """Thread-safe printing: Rich with colours on a terminal, plain unwrapped lines otherwise."""

    def __init__(self) -> None:
        self.console = console()
        self.err = console(stderr=True)
        self.lock = threading.Lock()
        self.tty = self.console.is_terminal

    def say(self, markup: str, *, stderr: bool = False) -> None:
        with self.lock:
            c = self.err if stderr else self.console
            if c.is_terminal:
                c.print(markup, soft_wrap=True)
            else:
                stream = sys.stderr if stderr else sys.stdout
                stream.write(Text.from_markup(markup).plain + "\n")
                stream.flush()

    def log_line(self, tag: str, text: str, colour: str) -> None:
        with self.lock:
            if self.tty:
                t = Text()
                t.append(tag, style=colour)
                t.append(" | ", style="dim")
                style = None
                if " ERROR " in text or "Traceback" in text:
                    style = "red"
                elif " WARNING " in text:
                    style = "yellow"
                t.append(text, style=style)
                self.console.print(t, soft_wrap=True)
            else:
                sys.stdout.write(f"{tag} | {text}\n")
                sys.stdout.flush()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_dev(dir: Path | None, wait: float | None = None, settings: CliSettings | None = None) -> None:
    """The `autonomy dev` loop; returns after Ctrl-C or SIGTERM, the zone deleted."""
    import watchfiles

    out = _Out()
    settings = settings or CliSettings.from_env()
    project = (dir or Path.cwd()).resolve()
    if not project.is_dir():
        raise UsageError(f"{project}: not a folder")
    zone = load_manifest(project).name  # a bad autonomy.yaml at start: report it (exit 2) and stop
    loop = DevLoop(project, settings, wait, out)
    loop.clear_leftover(zone)  # another `dev` of this zone still running: an error, nothing done
    loop.zones.append(zone)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            loop.deploy()
            out.say(f"[dim]watching {project} for changes; Ctrl-C deletes the zone and exits[/]")
            for changes in watchfiles.watch(project, debounce=300, step=50, raise_interrupt=True):
                loop.on_changes(changes)
        except KeyboardInterrupt:
            pass
        finally:
            for s in previous:
                signal.signal(s, signal.SIG_IGN)  # nothing interrupts the cleanup
            out.say("stopping: deleting the zone ...")
            loop.cleanup()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def register(app: typer.Typer) -> None:
    """Add ``dev`` to the root command."""

    @app.command("dev")
    @handled
    def dev(
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        wait: float | None = typer.Option(None, help="Seconds to wait for every node to answer."),
    ) -> None:
        """Deploy, stream the logs, redeploy what changed; Ctrl-C deletes the zone (same as --rm)."""
        run_dev(dir, wait, settings())
