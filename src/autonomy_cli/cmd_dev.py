"""Commands of the inner loop: ``autonomy dev`` (also ``autonomy --rm``) and ``zone status``.

Wire into main.py with ``cmd_dev.register(app, zone_app, _handled)``:

    autonomy dev [--dir DIR] [--wait S]   deploy, print the URLs, stream the logs, watch the
    autonomy --rm [--dir DIR]             project folder and redeploy what changed; Ctrl-C or
                                          SIGTERM deletes the zone and its images, exit 0
    autonomy zone status [NAME] [--dir DIR] [--json]
                                          per pod instance: state, node, live workers,
                                          last message

``--rm`` is a real option of the root command: :func:`register` extends the root callback
already registered on ``app`` (its own parameters are kept) with ``--rm`` and ``--dir``,
and makes the root command runnable without a subcommand.

How ``dev`` redeploys (one-way, like deploy): a change under ``images/<image>/`` rebuilds
that image and recreates only the pod instances whose containers use it
(:func:`autonomy_cli.deploy.deploy` with ``only_pods``); a change to ``autonomy.yaml`` or
``secrets.yaml`` (or to an image folder autonomy.yaml names but did not build) redeploys
the whole zone. Failures (a bad autonomy.yaml, a build error, a crashing container) are
printed and the loop goes on: the next change tries again.

Everything ``dev`` deploys carries the label ``computer.autonomy.dev=<host>:<pid>``. On
start, containers of the zone that are already there are removed first, saying whether
they are the leftover of an interrupted ``dev`` (its process is gone) or a zone deployed
otherwise; a ``dev`` still running for the zone is an error.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .errors import CliError, DeployFailed, UsageError

# Library pieces, re-exported for main.py's `zone inlet` (see autonomy_cli.inlet).
from .inlet import Inlet, forward, inlet_http, inlet_port  # noqa: F401
from .settings import CliSettings

__all__ = ["register", "run_dev", "print_status", "forward", "inlet_http", "inlet_port", "Inlet", "DEV_LABEL"]

DEV_LABEL = "computer.autonomy.dev"
LABEL = "computer.autonomy."
_COLOURS = (
    "cyan",
    "magenta",
    "green",
    "yellow",
    "blue",
    "bright_cyan",
    "bright_magenta",
    "bright_green",
    "bright_blue",
)


# --------------------------------------------------------------------------- output


class _Out:
    """Thread-safe printing: Rich with colours on a terminal, plain unwrapped lines otherwise."""

    def __init__(self) -> None:
        self.console = Console(highlight=False)
        self.err = Console(stderr=True, highlight=False)
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


# --------------------------------------------------------------------------- logs


def _start_logs(engine: Any, zone: str, out: _Out) -> Any:
    """The zone's logs on the terminal, ``pod/clone/container | text``, until ``close()``
    (autonomy_cli.logstream: interleaved by time, across restarts and recreations)."""
    from .logstream import follow

    stop = threading.Event()
    colours: dict[str, str] = {}

    def run() -> None:
        while not stop.is_set():
            try:
                for line in follow(zone, stop=stop, client=engine.client, must_exist=False):
                    tag = f"{line.pod}/{line.clone}/{line.container}"
                    colour = colours.setdefault(line.node or tag, _COLOURS[len(colours) % len(_COLOURS)])
                    out.log_line(tag, line.text, colour)
            except Exception as e:  # Docker hiccuped: say so, follow again
                out.say(f"[yellow]log stream interrupted: {escape(str(e))}[/]", stderr=True)
                stop.wait(1)

    t = threading.Thread(target=run, name="logstream", daemon=True)
    t.start()
    return _ThreadHandle(stop, t)


class _ThreadHandle:
    def __init__(self, stop: threading.Event, thread: threading.Thread) -> None:
        self.stop, self.thread = stop, thread

    def close(self) -> None:
        self.stop.set()
        self.thread.join(3)


# --------------------------------------------------------------------------- dev loop


def _dev_owner(value: str) -> tuple[str, int] | None:
    host, _, pid = value.rpartition(":")
    return (host, int(pid)) if pid.isdigit() else None


def _alive_dev(value: str) -> int | None:
    """The pid of a running `autonomy dev` on this host that owns a zone labelled ``value``."""
    owner = _dev_owner(value)
    if owner is None or owner[0] != socket.gethostname() or owner[1] == os.getpid():
        return None
    try:
        cmdline = Path(f"/proc/{owner[1]}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return owner[1] if "autonomy" in cmdline else None


def _children() -> list[int]:
    """Our own child processes (a Compose run interrupted by Ctrl-C or SIGTERM)."""
    me, found = os.getpid(), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(me):
            found.append(int(pid))
    return found


def _stop_children(timeout: float = 15) -> None:
    """End and reap our own child processes (a Compose run that Ctrl-C or SIGTERM cut
    short), so that nothing adds to the zone while it is deleted."""
    kids = _children()
    for pid in kids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    while kids and time.monotonic() < deadline:
        kids = [pid for pid in kids if _running(pid)]
        time.sleep(0.1)


def _running(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False  # reaped already
    return done == 0


class _DevLoop:
    def __init__(self, project: Path, settings: CliSettings, wait: float | None, out: _Out) -> None:
        from .engine import Engine

        self.project, self.settings, self.wait, self.out = project, settings, wait, out
        self.engine = Engine()
        self.labels = {DEV_LABEL: f"{socket.gethostname()}:{os.getpid()}"}
        self.zones: list[str] = []  # every zone this run deployed (deleted at the end)
        self.manifest: Any = None
        self.logs: Any = None
        self.quiet = False  # after the first deploy: no step-by-step lines
        self.pending_full = False  # a whole deploy failed: the next change redeploys all

    # -- what is there before we start

    def clear_leftover(self, zone: str) -> None:
        engine = self.engine
        containers = engine.containers(zone)
        networks = engine.client.networks.list(filters={"label": f"{LABEL}zone={zone}"})
        if not containers and not networks:
            return
        owners = {c.labels.get(DEV_LABEL, "") for c in containers} | {
            n.attrs.get("Labels", {}).get(DEV_LABEL, "") for n in networks
        }
        for owner in owners - {""}:
            pid = _alive_dev(owner)
            if pid is not None:
                raise UsageError(f"zone {zone} is run by `autonomy dev` (pid {pid}) already; stop that one first")
        dev_owners = [o for o in owners if o]
        if dev_owners:
            pid = (_dev_owner(dev_owners[0]) or ("", 0))[1]
            self.out.say(
                f"found zone [bold]{zone}[/] left by an interrupted `autonomy dev` (pid {pid}): "
                f"{len(containers)} container(s); removing it first"
            )
        else:
            self.out.say(
                f"zone [bold]{zone}[/] is already deployed here ({len(containers)} container(s)): "
                "removing it first; `autonomy dev` deletes its zone when it ends"
            )
        counts = _count(engine, zone)
        engine.delete(zone, self.settings.zone_dir(zone))
        self.out.say(
            f"removed the leftover zone {zone}: {counts['containers']} container(s), "
            f"{counts['networks']} network(s), {counts['volumes']} volume(s)"
        )

    # -- deploying

    def _event(self, text: str) -> None:
        kind = getattr(text, "kind", "info")
        if kind == "progress" or (self.quiet and (kind == "step" or text == "base image: cached")):
            return
        if kind == "warning":
            self.out.say(f"[yellow]warning:[/] {escape(text)}", stderr=True)
        elif kind == "step":
            self.out.say(f"[dim]{escape(text)}[/]")
        else:
            self.out.say(escape(text))

    def deploy(self, only_pods: Iterable[str] | None = None) -> bool:
        from .deploy import deploy
        from .manifest import load as load_manifest

        if self.pending_full:
            only_pods = None  # the last whole deploy failed: try the whole zone again
        self.pending_full = only_pods is None
        try:
            manifest = load_manifest(self.project)
            if manifest.name not in self.zones:
                for old in list(self.zones):
                    self.out.say(f"the zone is now called {manifest.name}: deleting zone {old}")
                    if self.logs is not None:
                        self.logs.close()
                        self.logs = None
                    self._delete(old)
                    self.zones.remove(old)
                self.clear_leftover(manifest.name)
                self.zones.append(manifest.name)
                only_pods = None
            self.manifest = manifest
            r = deploy(
                self.project,
                self.settings,
                on_event=self._event,
                only_pods=only_pods,
                wait=self.wait,
                labels=self.labels,
                engine=self.engine,
            )
        except DeployFailed as e:  # its log lines are streamed: no need to repeat them
            self.out.say(
                f"[bold red]error:[/] container {escape(e.container)} {escape(e.state)} (see its log)", stderr=True
            )
            self.out.say("[dim]fix it and save: the pods are redeployed on the next change[/]")
            self._follow_logs()
            return False
        except CliError as e:
            self.out.say(f"[bold red]error:[/] {escape(str(e))}", stderr=True)
            self.out.say("[dim]fix it and save: the zone is redeployed on the next change[/]")
            self._follow_logs()
            return False
        self.quiet = True
        self.pending_full = False
        self._follow_logs()
        if r.services is None:
            for url in r.urls:
                self.out.say(f"HTTP: [bold]{url}[/]")
            for portal in r.portals:
                self.out.say(f"portal: {portal}")
            n = len(r.answered)
            self.out.say(f"zone [bold]{r.zone}[/] deployed in {r.elapsed:.1f} s ({n} node(s) answered)")
        elif r.recreated:
            self.out.say(f"recreated {', '.join(r.recreated)} in {r.elapsed:.1f} s")
        else:
            self.out.say(f"image(s) unchanged: nothing recreated ({r.elapsed:.1f} s)")
        return True

    def _follow_logs(self) -> None:
        if self.logs is None and self.zones:
            self.logs = _start_logs(self.engine, self.zones[-1], self.out)

    # -- reacting to changes

    def _image_pods(self) -> dict[str, list[str]]:
        """local image name -> pods using it (in autonomy.yaml order)."""
        found: dict[str, list[str]] = {}
        for pod in self.manifest.pods if self.manifest else ():
            for c in pod.containers:
                if c.image.local and pod.name not in found.setdefault(c.image.name, []):
                    found[c.image.name].append(pod.name)
        return found

    def _instances(self, pods: Iterable[str]) -> list[str]:
        from .plan import instance_names

        wanted = set(pods)
        return [i for p in self.manifest.pods if p.name in wanted for i in instance_names(p.name, p.clones)]

    def on_changes(self, changes: set[tuple[Any, str]]) -> None:
        rel = _changed_files(changes, self.project)
        if not rel:
            return
        whole = [r for r in rel if r in ("autonomy.yaml", "secrets.yaml")]
        by_image: dict[str, list[str]] = {}
        for r in rel:
            parts = Path(r).parts
            if len(parts) >= 3 and parts[0] == "images":
                by_image.setdefault(parts[1], []).append(r)
        if self.manifest is None:
            whole = whole or rel
        image_pods = self._image_pods()
        referenced = {c.image.name for p in self.manifest.pods for c in p.containers} if self.manifest else set()
        for image, files in by_image.items():
            if image not in image_pods and image in referenced:
                whole.append(files[0])  # a registry image that now has a folder: a new build
        if whole:
            self.out.say(f"[bold]{_files(whole)} changed:[/] redeploying the whole zone")
            self.deploy()
            return
        pods: list[str] = []
        for image, files in sorted(by_image.items()):
            if image not in image_pods:
                self.out.say(f"[dim]{_files(files)} changed: no pod uses image {image}; nothing to do[/]")
                continue
            instances = self._instances(image_pods[image])
            self.out.say(
                f"[bold]{_files(files)} changed:[/] rebuilding image {image}, recreating {', '.join(instances)}"
            )
            pods += [p for p in image_pods[image] if p not in pods]
        if pods:
            self.deploy(only_pods=pods)

    # -- the end

    def _delete(self, zone: str) -> None:
        engine = self.engine
        removed = _count(engine, zone)
        images = 0
        for _ in range(3):  # a build or `up` cut short may still add something: sweep again
            engine.delete(zone, self.settings.zone_dir(zone))
            images += engine.remove_images(zone)
            time.sleep(0.5)
            left = _count(engine, zone)
            if not any(left.values()):
                break
            for k in removed:
                removed[k] += left[k]
        self.out.say(
            f"zone {zone} deleted: {removed['containers']} container(s), {removed['networks']} network(s), "
            f"{removed['volumes']} volume(s), {images} image(s)"
        )

    def cleanup(self) -> None:
        if self.logs is not None:
            self.logs.close()
        _stop_children()
        for zone in self.zones:
            self.out.say(f"deleting zone [bold]{zone}[/] ...")
            try:
                self._delete(zone)
            except CliError as e:
                self.out.say(f"[bold red]error:[/] {escape(str(e))}", stderr=True)


def _count(engine: Any, zone: str) -> dict[str, int]:
    """The zone's containers, networks, volumes and images, counted by their labels."""
    f = {"label": f"{LABEL}zone={zone}"}
    c = engine.client
    return {
        "containers": len(c.containers.list(all=True, filters=f)),
        "networks": len(c.networks.list(filters=f)),
        "volumes": len(c.volumes.list(filters=f)),
        "images": len(c.images.list(filters=f)),
    }


def _changed_files(changes: set[tuple[Any, str]], project: Path) -> list[str]:
    """The project-relative paths that changed, without an editor's temporary files (a
    file both added and deleted in one batch that is gone now: ``sed -i``, safe writes)."""
    import watchfiles

    kinds: dict[str, set[Any]] = {}
    for change, path in changes:
        kinds.setdefault(path, set()).add(change)
    found = set()
    for path, seen in kinds.items():
        if {watchfiles.Change.added, watchfiles.Change.deleted} <= seen and not Path(path).exists():
            continue
        try:
            found.add(Path(path).relative_to(project).as_posix())
        except ValueError:
            continue
    return sorted(found)


def _files(paths: list[str]) -> str:
    return paths[0] if len(paths) == 1 else f"{paths[0]} and {len(paths) - 1} more file(s)"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_dev(dir: Path | None, wait: float | None = None, settings: CliSettings | None = None) -> None:
    """The `autonomy dev` loop; returns after Ctrl-C or SIGTERM, the zone deleted."""
    import watchfiles

    from .manifest import load as load_manifest

    out = _Out()
    settings = settings or CliSettings.from_env()
    project = (dir or Path.cwd()).resolve()
    if not project.is_dir():
        raise UsageError(f"{project}: not a folder")
    zone = load_manifest(project).name  # a bad autonomy.yaml at start: report it (exit 2) and stop
    loop = _DevLoop(project, settings, wait, out)
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


# --------------------------------------------------------------------------- status


def _ago(t: float | None) -> str:
    if not t:
        return "-"
    secs = max(0.0, time.time() - t)
    when = time.strftime("%H:%M:%S", time.localtime(t))
    if secs < 120:
        return f"{when} ({secs:.0f} s ago)"
    if secs < 7200:
        return f"{when} ({secs / 60:.0f} min ago)"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def print_status(zone: str, settings: CliSettings, as_json: bool) -> None:
    from .engine import Engine
    from .status import zone_status

    found = zone_status(Engine(), zone, settings.zone_dir(zone))
    if as_json:
        sys.stdout.write(json.dumps({"zone": zone, "instances": [s.to_dict() for s in found]}, indent=2) + "\n")
        return
    out = Console()
    if not found:
        out.print(f"zone {zone}: not running")
        return
    clusters = {n.node.split("-", 1)[0] for s in found for n in s.nodes if n.node}
    prefix = f"{next(iter(clusters))}-" if len(clusters) == 1 else ""
    t = Table(title=f"zone {zone}", caption=f"node names start with {prefix}" if prefix else None)
    for col in ("pod", "clone", "container", "state", "node", "workers", "last message"):
        t.add_column(col, overflow="fold")
    for s in found:
        for n in s.nodes:
            colour = "green" if n.state == "running" else "red"
            state = f"[{colour}]{n.state}[/]" + (f" ({n.restarts} restarts)" if n.restarts else "")
            if s.state != "running":
                state += f" [red](pod {s.state})[/]"
            workers = "-" if n.workers is None else str(n.workers)
            node = n.node[len(prefix) :] if prefix and n.node.startswith(prefix) else n.node
            t.add_row(s.pod, str(s.clone), n.container, state, node or "-", workers, _ago(n.last_message_at))
    out.print(t)
    notes = {n.note for s in found for n in s.nodes if n.note and n.workers is None and n.state == "running"}
    for note in sorted(notes):
        out.print(f"[dim]note: {escape(note)}[/]")


# --------------------------------------------------------------------------- wiring


def _settings() -> CliSettings:
    from .main import _settings as read_once  # main.py reads them once per run

    return read_once()


def register(app: typer.Typer, zone_app: typer.Typer, handled: Callable[[Any], Any]) -> None:
    """Add ``dev`` and ``zone status`` to main.py's Typer apps (``--rm`` is main.py's own
    root option and calls :func:`run_dev`)."""

    @app.command("dev")
    @handled
    def dev(
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        wait: float | None = typer.Option(None, help="Seconds to wait for every node to answer."),
    ) -> None:
        """Deploy, stream the logs, redeploy what changed; Ctrl-C deletes the zone (same as --rm)."""
        run_dev(dir, wait, _settings())

    @zone_app.command("status")
    @handled
    def zone_status_cmd(
        name: str | None = typer.Argument(None, help="Zone (default: the one in autonomy.yaml)."),
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Per pod instance: container state, node, live workers and the last message's time."""
        from .manifest import zone_name

        print_status(zone_name(name, dir), _settings(), as_json)
