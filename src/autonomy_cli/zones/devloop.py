"""The dev loop of ``autonomy dev`` (and ``autonomy --rm``): deploy, follow the logs,
redeploy what changed, delete the zone at the end.

How it redeploys (one-way, like deploy): a change under ``images/<image>/`` rebuilds
that image and recreates only the pod instances whose containers use it
(:func:`~autonomy_cli.zones.deploy.deploy` with ``only_pods``); a change to
``autonomy.yaml`` or ``secrets.yaml`` (or to an image folder autonomy.yaml names but did
not build) redeploys the whole zone. Failures (a bad autonomy.yaml, a build error, a
crashing container) are printed and the loop goes on: the next change tries again.

Everything ``dev`` deploys carries the label ``computer.autonomy.dev=<host>:<pid>``. On
start, containers of the zone that are already there are removed first, saying whether
they are the leftover of an interrupted ``dev`` (its process is gone) or a zone deployed
otherwise; a ``dev`` still running for the zone is an error.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from rich.markup import escape

from .. import labels as L
from ..errors import CliError, DeployFailed, UsageError, printable
from ..logs.follow import follow
from ..manifest import MANIFEST_FILES, SECRETS_FILES, Manifest
from ..manifest import load as load_manifest
from ..names import instance_names
from ..settings import CliSettings
from .deploy import deploy
from .engine import Engine
from .events import Event, EventKind

__all__ = ["DEV_LABEL", "DevLoop", "Output", "changed_files", "files_text", "stop_children"]

DEV_LABEL = L.DEV
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


def _start_logs(engine: Engine, zone: str, out: Output) -> _ThreadHandle:
    """The zone's logs on the terminal, ``pod/clone/container | text``, until ``close()``
    (autonomy_cli.logs: interleaved by time, across restarts and recreations)."""

    stop = threading.Event()
    colours: dict[str, str] = {}

    def run() -> None:
        while not stop.is_set():
            try:
                for line in follow(zone, stop=stop, source=engine.log_source(), must_exist=False):
                    tag = f"{line.pod}/{line.clone}/{line.container}"
                    colour = colours.setdefault(line.node or tag, _COLOURS[len(colours) % len(_COLOURS)])
                    out.log_line(tag, line.text, colour)
            except Exception as e:  # Docker hiccuped: say so, follow again
                out.say(f"[yellow]log stream interrupted: {escape(printable(str(e), 10_000))}[/]", stderr=True)
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


def stop_children(timeout: float = 15) -> None:
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


class Output(Protocol):
    """Where the dev loop writes: Rich markup lines, and log lines of the zone."""

    def say(self, markup: str, *, stderr: bool = False) -> None: ...
    def log_line(self, tag: str, text: str, colour: str) -> None: ...


class DevLoop:
    """The state of one ``autonomy dev`` run: the zones it deployed, what to redeploy next."""

    def __init__(
        self, project: Path, settings: CliSettings, wait: float | None, out: Output, engine: Engine | None = None
    ) -> None:
        if engine is None:
            from ..docker.engine import DockerEngine

            engine = DockerEngine()
        self.project, self.settings, self.wait, self.out = project, settings, wait, out
        self.engine: Engine = engine
        self.labels = {DEV_LABEL: f"{socket.gethostname()}:{os.getpid()}"}
        self.zones: list[str] = []  # every zone this run deployed (deleted at the end)
        self.manifest: Manifest | None = None
        self.logs: _ThreadHandle | None = None
        self.quiet = False  # after the first deploy: no step-by-step lines
        self.pending_full = False  # a whole deploy failed: the next change redeploys all

    # -- what is there before we start

    def clear_leftover(self, zone: str) -> None:
        engine = self.engine
        containers = engine.containers(zone)
        owners = engine.dev_owners(zone)
        if not owners:
            return
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
        counts = engine.count(zone)
        engine.delete(zone, self.settings.zone_dir(zone))
        self.out.say(
            f"removed the leftover zone {zone}: {counts['containers']} container(s), "
            f"{counts['networks']} network(s), {counts['volumes']} volume(s)"
        )

    # -- deploying

    def _event(self, event: Event) -> None:
        kind, text = event.kind, event.text
        if kind == EventKind.PROGRESS or (self.quiet and (kind == EventKind.STEP or text == "base image: cached")):
            return
        if kind == EventKind.WARNING:
            self.out.say(f"[yellow]warning:[/] {escape(printable(text, 10_000))}", stderr=True)
        elif kind == EventKind.STEP:
            self.out.say(f"[dim]{escape(printable(text, 10_000))}[/]")
        else:
            self.out.say(escape(printable(text, 10_000)))

    def deploy(self, only_pods: Iterable[str] | None = None) -> bool:
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
            self.out.say(f"[bold red]error:[/] {escape(printable(str(e), 10_000))}", stderr=True)
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
        wanted = set(pods)
        if self.manifest is None:
            return []
        return [i for p in self.manifest.pods if p.name in wanted for i in instance_names(p.name, p.clones)]

    def on_changes(self, changes: set[tuple[Any, str]]) -> None:
        rel = changed_files(changes, self.project)
        if not rel:
            return
        whole = [r for r in rel if r in (*MANIFEST_FILES, *SECRETS_FILES)]
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
            self.out.say(f"[bold]{files_text(whole)} changed:[/] redeploying the whole zone")
            self.deploy()
            return
        pods: list[str] = []
        for image, files in sorted(by_image.items()):
            if image not in image_pods:
                self.out.say(f"[dim]{files_text(files)} changed: no pod uses image {image}; nothing to do[/]")
                continue
            instances = self._instances(image_pods[image])
            self.out.say(
                f"[bold]{files_text(files)} changed:[/] rebuilding image {image}, recreating {', '.join(instances)}"
            )
            pods += [p for p in image_pods[image] if p not in pods]
        if pods:
            self.deploy(only_pods=pods)

    # -- the end

    def _delete(self, zone: str) -> None:
        engine = self.engine
        removed = engine.count(zone)
        images = 0
        for _ in range(3):  # a build or `up` cut short may still add something: sweep again
            engine.delete(zone, self.settings.zone_dir(zone))
            images += engine.remove_images(zone)
            time.sleep(0.5)
            left = engine.count(zone)
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
        stop_children()
        for zone in self.zones:
            self.out.say(f"deleting zone [bold]{zone}[/] ...")
            try:
                self._delete(zone)
            except CliError as e:
                self.out.say(f"[bold red]error:[/] {escape(printable(str(e), 10_000))}", stderr=True)


def changed_files(changes: set[tuple[Any, str]], project: Path) -> list[str]:
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


def files_text(paths: list[str]) -> str:
    return paths[0] if len(paths) == 1 else f"{paths[0]} and {len(paths) - 1} more file(s)"
