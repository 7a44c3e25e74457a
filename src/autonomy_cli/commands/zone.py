"""``autonomy zone``: deploy, list, delete, render a zone, and show its status.

    autonomy zone deploy [--dir DIR]         build, start, wait for every node, show URLs
    autonomy zone list [--json]
    autonomy zone delete [NAME] [--dir DIR] [--images] [--no-input]
                                             remove every container, network, volume, key
    autonomy zone render [--dir DIR]         print the Compose file deploy would apply
    autonomy zone status [NAME] [--dir DIR] [--json]
                                             per pod instance: state, node, live workers,
                                             last message

``zone logs`` and ``zone inlet`` are added to the same group by
:mod:`autonomy_cli.commands.logs`.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import cluster as cluster_mod
from .. import compose as compose_mod
from ..docker.containers import ContainerView
from ..errors import CliError
from ..manifest import zone_name
from ..settings import CliSettings, check_wait
from ..zones.events import Event, EventKind
from .shared import confirm, engine, err, handled, out, project_dir, settings, shown

__all__ = ["PLACEHOLDER_CLUSTER", "print_status", "register"]

PLACEHOLDER_CLUSTER = "0" * 32


def register(app: typer.Typer) -> typer.Typer:
    """Add the ``zone`` group to the root command; returns it (for the other groups)."""
    zone_app = typer.Typer(help="Deploy, list and delete zones.", no_args_is_help=True)
    app.add_typer(zone_app, name="zone")

    @zone_app.command("render")
    @handled
    def zone_render(dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here).")) -> None:
        """Print the Compose file that `zone deploy` would apply (writes nothing)."""
        from ..zones.deploy import plan_for

        s = settings()
        project = project_dir(dir)
        c = cluster_mod.load(s.home)
        p = plan_for(project, s, c.id if c else PLACEHOLDER_CLUSTER, s.public_port)
        if c is None:
            err.print("note: not enrolled yet; node names use a placeholder cluster id")
        for w in p.warnings:
            err.print(f"[yellow]warning:[/] {shown(w)}", highlight=False)
        sys.stdout.write(compose_mod.dump(compose_mod.render(p)))

    @zone_app.command("deploy")
    @handled
    def zone_deploy(
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        wait: float | None = typer.Option(None, help="Seconds to wait for every node to answer."),
    ) -> None:
        """Build the zone's images, start it, wait until every node answers, show its URLs."""
        from ..zones.deploy import deploy

        s = settings()
        if wait is not None:
            check_wait(wait, "--wait")  # before anything is enrolled, built or started
        with out.status("Deploying ...") as status:

            def on_event(e: Event) -> None:
                if e.kind in (EventKind.STEP, EventKind.PROGRESS):
                    status.update(shown(e.text, 200))
                elif e.kind == EventKind.WARNING:
                    err.print(f"[yellow]warning:[/] {shown(e.text)}", highlight=False)
                else:
                    out.print(shown(e.text), highlight=False)

            result = deploy(project_dir(dir), s, on_event=on_event, wait=wait)
        _print_zone(result.states, result.answered, result.plan.zone)
        for url in result.urls:
            out.print(f"HTTP: [bold]{url}[/]")
        for portal in result.portals:
            out.print(f"portal: {portal}")
        out.print(f"zone [bold]{result.plan.zone}[/] deployed in {result.elapsed:.1f} s")

    @zone_app.command("list")
    @handled
    def zone_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """List the zones running on this machine (read from Docker's labels)."""
        zones = engine().list_zones()
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
    @handled
    def zone_delete(
        name: str | None = typer.Argument(None, help="Zone to delete (default: the one in autonomy.yaml)."),
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        images: bool = typer.Option(False, "--images", help="Also remove the images built for the zone."),
        no_input: bool = typer.Option(False, "--no-input", help="Never ask for confirmation (for scripts)."),
    ) -> None:
        """Delete a zone: every container, network, volume and key. Idempotent."""
        s = settings()
        name = zone_name(name, dir)
        if not confirm(f"Delete zone {name} and everything of it?", no_input=no_input):
            raise CliError(f"zone {name}: not deleted")
        eng = engine()
        removed = eng.delete(name, s.zone_dir(name))
        n_images = eng.remove_images(name) if images else 0
        if not any(removed.values()) and not n_images:
            out.print(f"zone {name}: nothing to delete")
        else:
            out.print(
                f"zone {name} deleted: {removed['containers']} container(s), {removed['networks']} network(s), "
                f"{removed['volumes']} volume(s)" + (f", {n_images} image(s)" if images else "")
            )

    @zone_app.command("status")
    @handled
    def zone_status_cmd(
        name: str | None = typer.Argument(None, help="Zone (default: the one in autonomy.yaml)."),
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Per pod instance: container state, node, live workers and the last message's time."""
        print_status(zone_name(name, dir), settings(), as_json)

    return zone_app


def _print_zone(states: Iterable[ContainerView], answered: dict[str, dict[str, float]], zone: str) -> None:
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


def print_status(zone: str, cfg: CliSettings, as_json: bool) -> None:
    from ..zones.status import zone_status

    found = zone_status(engine(), zone, cfg.zone_dir(zone))
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
