"""``autonomy zone logs`` and ``autonomy zone inlet``: a zone's logs, in the terminal or a browser.

    autonomy zone logs [NAME] [-f|--no-follow] [-p POD]... [-c CONTAINER]... [--level L]...
                       [--since T] [--tail N] [-t]
    autonomy zone inlet --to logs [NAME] [--port 32101]     the logs page and its JSON API
                                                            (autonomy_cli.logs.api), until Ctrl-C
    autonomy zone inlet --to http | <pod>:<port> ...          (forwarded by autonomy_cli.zones.inlet)

autonomy_cli.main adds these to its ``zone`` group with ``register(zone_app)``. The
lines come from :mod:`autonomy_cli.logs.follow`, the page from :mod:`autonomy_cli.logs.page`,
the forwarding from :mod:`autonomy_cli.zones.inlet`.
Terminal output is coloured (per node, per level) when stdout is a terminal, plain text
without any escape code otherwise (and with ``--no-color`` or NO_COLOR). ``-t`` puts each
line's time first; ``--output json`` prints one JSON object per line instead.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from ..errors import UsageError
from ..logs.follow import follow, snapshot
from ..logs.lines import LogLine, parse_since
from ..manifest import zone_name
from .shared import console, engine, handled, settings, shown

if TYPE_CHECKING:
    from ..logs.api import AgentsByPod

__all__ = ["INLETS", "InletRequest", "register", "format_plain", "format_rich", "parse_to"]

LOGS_PORT = 32101
PAGE_TAIL = 1000  # lines per container a newly opened logs page starts with
_POD_PORT = re.compile(r"([a-z0-9](?:[a-z0-9-]*[a-z0-9])?):(\d{1,5})")

# colours for node tags (readable on dark and light terminals), picked by a hash of the node
NODE_COLOURS = (
    "cyan",
    "magenta",
    "blue",
    "green",
    "yellow",
    "bright_cyan",
    "bright_magenta",
    "bright_blue",
    "bright_green",
    "dark_orange",
    "orchid",
    "turquoise2",
    "gold1",
    "spring_green2",
)
LEVEL_STYLES = {"DEBUG": "dim", "INFO": "green", "WARNING": "bold yellow", "ERROR": "bold red"}
TEXT_STYLES = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "red"}


# --------------------------------------------------------------------------- terminal


def node_colour(node: str) -> str:
    return NODE_COLOURS[zlib.crc32(node.encode()) % len(NODE_COLOURS)]


def _tag(line: LogLine) -> str:
    return f"{line.instance}/{line.container}"


def format_plain(line: LogLine, tag_width: int = 0, timestamps: bool = True) -> str:
    """``2026-11-21T05:07:06.400Z main-pod/main INFO    autonomy.node message`` (the time
    only with ``timestamps``)."""
    t = line.time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{line.time.microsecond // 1000:03d}Z " if timestamps else ""
    level = f"{line.level:<7} " if line.level else ""
    return f"{t}{_tag(line):<{tag_width}} {level}{line.message}"


def format_rich(line: LogLine, tag_width: int = 0, timestamps: bool = True) -> Text:
    """The same, for a terminal: time dim, tag in the node's colour, level coloured."""
    text = Text(no_wrap=False)
    if timestamps:
        text.append(line.time.strftime("%H:%M:%S.") + f"{line.time.microsecond // 1000:03d}", style="dim")
        text.append(" ")
    text.append(f"{_tag(line):<{tag_width}}", style=f"bold {node_colour(line.node)}")
    text.append(" ")
    if line.level:
        text.append(f"{line.level:<7}", style=LEVEL_STYLES.get(line.level, ""))
        text.append(" ")
    text.append(line.message, style=TEXT_STYLES.get(line.level, ""))
    return text


class _Printer:
    """Prints lines: Rich styles on a terminal, plain text otherwise, JSON with ``as_json``;
    tags aligned."""

    def __init__(
        self, console: Console, flush_each: bool, *, timestamps: bool, color: bool = True, as_json: bool = False
    ) -> None:
        self.console = console
        self.coloured = console.is_terminal and color and not as_json
        self.flush_each = flush_each
        self.timestamps = timestamps
        self.as_json = as_json
        self.width = 0

    def __call__(self, line: LogLine) -> None:
        self.width = min(max(self.width, len(_tag(line))), 40)
        if self.coloured:
            self.console.print(
                format_rich(line, self.width, self.timestamps),
                soft_wrap=True,
                highlight=False,
                markup=False,
                emoji=False,
            )
        else:
            text = json.dumps(line.to_dict()) if self.as_json else format_plain(line, self.width, self.timestamps)
            sys.stdout.write(text + "\n")
            if self.flush_each:
                sys.stdout.flush()


def _quiet_broken_pipe() -> None:
    """`autonomy zone logs | head`: the reader went away; leave without a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


# --------------------------------------------------------------------------- inlets


@dataclass(frozen=True)
class InletRequest:
    """What ``zone inlet`` was asked: forward ``127.0.0.1:port`` to ``to`` of ``zone``."""

    zone: str
    to: str  # as given: "logs", "http", "<pod>:<port>"
    kind: str  # key of INLETS: "logs", "http", "pod"
    pod: str | None  # for kind "pod"
    target_port: int | None  # for kind "pod"
    port: int | None  # --port; None: the handler's default
    out: Console
    err: Console


def parse_to(to: str) -> tuple[str, str | None, int | None]:
    """``--to`` -> (kind, pod, port): ``logs``, ``http``, or ``<pod>:<port>``."""
    value = to.strip()
    if value in ("logs", "http"):
        return value, None, None
    m = _POD_PORT.fullmatch(value)
    if m and 1 <= int(m.group(2)) <= 65535:
        return "pod", m.group(1), int(m.group(2))
    raise UsageError(f"--to {to!r}: expected logs, http, or <pod>:<port> (like runner-pod:8000)")


def _agents(zone: str) -> AgentsByPod:
    """The agents of the zone's nodes, asked as ``zone status`` asks them."""
    from ..zones.status import agents_by_pod, zone_status

    return agents_by_pod(zone_status(engine(), zone, settings().zone_dir(zone)))


def _inlet_logs(req: InletRequest) -> None:
    """The logs page of the zone on http://127.0.0.1:<port> until Ctrl-C."""
    from ..logs.api import LogApi
    from ..logs.page import LogPageServer

    server = LogPageServer(
        req.zone,
        lambda stop: follow(req.zone, tail=PAGE_TAIL, stop=stop),
        port=req.port or LOGS_PORT,
        api=LogApi(req.zone, agents=lambda: _agents(req.zone)),
    )
    server.start()
    try:
        req.out.print(f"logs of zone [bold]{req.zone}[/]: [bold]{server.url}[/]  (Ctrl-C to stop)", highlight=False)
        server.wait()
    except KeyboardInterrupt:
        req.out.print("stopped")
    finally:
        server.close()


def _inlet_forward(req: InletRequest) -> None:
    """``--to http`` (the public pod's 8000) or ``--to <pod>:<port>``, until Ctrl-C."""
    from ..zones.inlet import inlet_http, inlet_port

    def say(e: str) -> None:
        req.err.print(shown(str(e)), highlight=False)

    if req.kind == "http":
        inlet = inlet_http(req.zone, req.port or 32100, on_event=say)
    else:
        assert req.pod is not None and req.target_port is not None
        inlet = inlet_port(req.zone, req.pod, req.target_port, req.port, on_event=say)
    try:
        if inlet.note:
            req.err.print(inlet.note, highlight=False)
        req.out.print(f"{req.to} of zone [bold]{req.zone}[/]: [bold]{inlet.url}[/]  (Ctrl-C to stop)", highlight=False)
        inlet.wait()
    except KeyboardInterrupt:
        req.out.print("stopped")
    finally:
        inlet.close()


# kind of --to -> handler; adding an inlet is adding one function here
INLETS: dict[str, Callable[[InletRequest], None]] = {
    "logs": _inlet_logs,
    "http": _inlet_forward,
    "pod": _inlet_forward,
}


# --------------------------------------------------------------------------- commands


def register(zone_app: typer.Typer) -> None:
    """Add ``logs`` and ``inlet`` to the ``zone`` command group."""

    @zone_app.command("logs")
    @handled
    def zone_logs(
        name: str | None = typer.Argument(None, help="Zone (default: the one in autonomy.yaml)."),
        follow_: bool = typer.Option(
            False,
            "--follow/--no-follow",
            "-f",
            help="Keep printing new lines (across restarts and redeploys); --no-follow: print and exit.",
        ),
        pod: list[str] = typer.Option(
            [], "--pod", "-p", help="Only this pod (or pod instance, like runner-pod-3); repeatable."
        ),
        container: list[str] = typer.Option([], "--container", "-c", help="Only this container; repeatable."),
        level: list[str] = typer.Option(
            [], "--level", help="Only this level (DEBUG, INFO, WARNING, ERROR); repeatable."
        ),
        since: str | None = typer.Option(
            None, "--since", help="Only lines since: 30s, 10m, 2h, 1h30m, 2d, or an ISO time (UTC)."
        ),
        tail: int | None = typer.Option(None, "--tail", "-n", help="Only the last N lines of each container."),
        timestamps: bool = typer.Option(False, "--timestamps", "-t", help="Start each line with its time (UTC)."),
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
    ) -> None:
        """Print the logs of every container of a zone, interleaved by time."""
        zone = zone_name(name, dir)
        since_t = parse_since(since) if since else None
        if tail is not None and tail < 0:
            raise UsageError("--tail: expected 0 or more")
        s = settings()
        printer = _Printer(console(), flush_each=follow_, timestamps=timestamps, color=s.color, as_json=s.as_json)
        err = console(stderr=True)
        levels = level or None
        try:
            if not follow_:
                lines = snapshot(zone, pods=pod, containers=container, levels=levels, since=since_t, tail=tail)
                printer.width = min(max((len(_tag(line)) for line in lines), default=0), 40)
                for line in lines:
                    printer(line)
                sys.stdout.flush()
                return
            follower = follow(zone, pods=pod, containers=container, levels=levels, since=since_t, tail=tail)
            reported = 0
            try:
                for line in follower:
                    printer(line)
                    if follower.dropped != reported:
                        err.print(
                            f"({follower.dropped - reported} line(s) dropped: "
                            "the terminal is slower than the zone's logs)"
                        )
                        reported = follower.dropped
            except KeyboardInterrupt:
                pass
            finally:
                follower.close()
        except BrokenPipeError:
            _quiet_broken_pipe()

    @zone_app.command("inlet")
    @handled
    def zone_inlet(
        name: str | None = typer.Argument(None, help="Zone (default: the one in autonomy.yaml)."),
        to: str = typer.Option(
            ..., "--to", help="logs (the logs page), http (the public pod's port 8000), or <pod>:<port>."
        ),
        port: int | None = typer.Option(None, "--port", help="Local port on 127.0.0.1 (logs: 32101, http: 32100)."),
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
    ) -> None:
        """Open a local port to something of a zone: its logs page, its HTTP endpoint, a pod's port."""
        kind, target_pod, target_port = parse_to(to)
        if port is not None and not 1 <= port <= 65535:
            raise UsageError(f"--port {port}: expected 1..65535")
        zone = zone_name(name, dir)
        INLETS[kind](
            InletRequest(
                zone=zone,
                to=to,
                kind=kind,
                pod=target_pod,
                target_port=target_port,
                port=port,
                out=console(),
                err=console(stderr=True),
            )
        )
