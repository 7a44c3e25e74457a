"""``autonomy zone``: deploy, list, delete, render a zone, and show its status.

    autonomy zone deploy [--dir DIR] [--config FILE] [--secrets FILE]
                                             build, start, wait for every node, show URLs
    autonomy zone list [--json]
    autonomy zone delete [NAME] [--all] [-y] [--dir DIR] [--images]
                                             remove every container, network, volume, key
                                             (asks first on a terminal; elsewhere needs -y)
    autonomy zone render [--dir DIR] [--config FILE] [--secrets FILE]
                                             print the Compose file deploy would apply
    autonomy zone status [NAME] [--dir DIR] [--json]
                                             per pod instance: state, node, live workers,
                                             last message; per node its agents and their
                                             conversations, model calls, tokens, last error

``zone logs`` and ``zone inlet`` are added to the same group by
:mod:`autonomy_cli.commands.logs`. ``--json`` is also what the global ``--output json``
asks for; ``-q`` leaves out progress and info lines, ``-v`` prints each deploy step.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from .. import cluster as cluster_mod
from .. import compose as compose_mod
from ..docker.containers import ContainerView
from ..errors import CliError, UsageError
from ..manifest import zone_name
from ..settings import CliSettings, check_wait
from ..zones.agents import describe
from ..zones.events import Event, EventKind
from ..zones.status import ZONE_POD, ZONE_SERVICES, InstanceStatus
from .shared import confirmed, engine, err, handled, info, out, project_dir, settings, shown

__all__ = ["PLACEHOLDER_CLUSTER", "print_status", "register"]

PLACEHOLDER_CLUSTER = "0" * 32
_CONFIG = typer.Option(
    None, "--config", "--zone-config", help="The zone's manifest (default: autonomy.yaml or autonomy.yml in --dir)."
)
_SECRETS = typer.Option(None, "--secrets", help="The secrets file (default: secrets.yaml or secrets.yml beside it).")


def register(app: typer.Typer) -> typer.Typer:
    """Add the ``zone`` group to the root command; returns it (for the other groups)."""
    zone_app = typer.Typer(help="Deploy, list and delete zones.", no_args_is_help=True)
    app.add_typer(zone_app, name="zone")

    @zone_app.command("render")
    @handled
    def zone_render(
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        config: Path | None = _CONFIG,
        secrets: Path | None = _SECRETS,
    ) -> None:
        """Print the Compose file that `zone deploy` would apply (writes nothing)."""
        from ..docker.kinds import uses_models
        from ..manifest import load as load_manifest
        from ..zones.deploy import plan_for
        from ..zones.gateway import render_settings

        s = settings()
        project = project_dir(dir)
        c = cluster_mod.load(s.home)
        m = load_manifest(project, config=config, secrets=secrets)
        cluster_id = c.id if c else PLACEHOLDER_CLUSTER
        models = uses_models(project, (c.image.context for pod in m.pods for c in pod.containers))
        p = plan_for(project, s, cluster_id, s.public_port, m, gateway=render_settings(m, s, uses_models=models))
        if c is None:
            info("note: not enrolled yet; node names use a placeholder cluster id", stderr=True)
        for w in p.warnings:
            err.print(f"[yellow]warning:[/] {shown(w)}", highlight=False)
        sys.stdout.write(compose_mod.dump(compose_mod.render(p)))

    @zone_app.command("deploy")
    @handled
    def zone_deploy(
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        wait: float | None = typer.Option(None, help="Seconds to wait for every node to answer."),
        config: Path | None = _CONFIG,
        secrets: Path | None = _SECRETS,
        no_cache: bool = typer.Option(False, "--no-cache", help="Rebuild the zone's images without Docker's cache."),
    ) -> None:
        """Build the zone's images, start it, wait until every node answers, show its URLs."""
        from ..zones.deploy import deploy

        s = settings()
        if wait is not None:
            check_wait(wait, "--wait")  # before anything is enrolled, built or started
        with _progress(s) as status:

            def on_event(e: Event) -> None:
                if e.kind in (EventKind.STEP, EventKind.PROGRESS):
                    status.update(shown(e.text, 200))
                    if s.verbose and e.kind == EventKind.STEP:
                        err.print(f"[dim]{shown(e.text)}[/]", highlight=False)
                elif s.quiet and e.kind == EventKind.INFO:
                    pass
                elif e.kind == EventKind.WARNING:
                    err.print(f"[yellow]warning:[/] {shown(e.text)}", highlight=False)
                else:
                    out.print(shown(e.text), highlight=False)

            result = deploy(
                project_dir(dir), s, on_event=on_event, wait=wait, config=config, secrets=secrets, no_cache=no_cache
            )
        if not s.quiet:
            _print_zone(result.states, result.answered, result.plan.zone)
        for url in result.urls:
            out.print(f"HTTP: [bold]{url}[/]")
        for portal in result.portals:
            out.print(f"portal: {portal}")
        info(f"zone [bold]{result.plan.zone}[/] deployed in {result.elapsed:.1f} s")

    @zone_app.command("list")
    @handled
    def zone_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """List the zones running on this machine (read from Docker's labels)."""
        zones = engine().list_zones()
        if as_json or settings().as_json:
            sys.stdout.write(json.dumps([z.to_dict() for z in zones], indent=2) + "\n")
            return
        if not zones:
            info("no zones")
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
        all_: bool = typer.Option(False, "--all", help="Delete every zone running here (as `zone list` shows)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking (needed where nobody can answer)."),
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        images: bool = typer.Option(False, "--images", help="Also remove the images built for the zone."),
        no_input: bool = typer.Option(False, "--no-input", hidden=True, help="Same as the global --no-input."),
    ) -> None:
        """Delete a zone (or --all): every container, network, volume and key. Idempotent."""
        s = settings()
        if all_ and (name is not None or dir is not None):
            raise UsageError(f"--all deletes every zone; drop {'NAME' if name is not None else '--dir'} or --all")
        eng = engine()
        names = [z.zone for z in eng.list_zones()] if all_ else [zone_name(name, dir)]
        if not names:
            info("no zones to delete")
            if s.as_json:
                sys.stdout.write("[]\n")
            return
        what = f"zone {names[0]}" if not all_ else f"{len(names)} zone(s): {', '.join(names)}"
        refused = f"{what}: not deleted"
        if not confirmed(f"Delete {what} and everything of it?", yes=yes, refused=refused, no_input=no_input):
            raise CliError(refused)
        done = []
        for zone in names:
            removed = eng.delete(zone, s.zone_dir(zone))
            n_images = eng.remove_images(zone) if images else 0
            done.append({"zone": zone, **removed, **({"images": n_images} if images else {})})
            if not any(removed.values()) and not n_images:
                info(f"zone {zone}: nothing to delete")
            else:
                info(
                    f"zone {zone} deleted: {removed['containers']} container(s), {removed['networks']} network(s), "
                    f"{removed['volumes']} volume(s)" + (f", {n_images} image(s)" if images else "")
                )
        if s.as_json:
            sys.stdout.write(json.dumps(done, indent=2) + "\n")

    @zone_app.command("status")
    @handled
    def zone_status_cmd(
        name: str | None = typer.Argument(None, help="Zone (default: the one in autonomy.yaml)."),
        dir: Path | None = typer.Option(None, "--dir", help="Project folder (default: here)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """Per pod instance: container state, node, live workers and the last message's time;
        per node, its agents (conversations, model calls, tokens, last error)."""
        s = settings()
        print_status(zone_name(name, dir), s, as_json or s.as_json)

    return zone_app


def _progress(s: CliSettings) -> AbstractContextManager[Any]:
    """The deploy's spinner; none under ``-q`` (its updates go nowhere)."""
    if s.quiet:
        return nullcontext(SimpleNamespace(update=lambda *_: None))
    return out.status("Deploying ...")


def _print_zone(states: Iterable[ContainerView], answered: dict[str, dict[str, float]], zone: str) -> None:
    t = Table(title=f"zone {zone}")
    for col in ("pod", "clone", "container", "state", "node"):
        t.add_column(col)
    states = list(states)
    for st in states:
        if st.role != "app":
            continue
        a = answered.get(st.node)
        node = f"answered in {a['ms']:.1f} ms, {int(a['workers'])} worker(s)" if a else "-" if st.node else "service"
        colour = "green" if st.state == "running" else "red"
        t.add_row(st.pod, str(st.clone), st.container, f"[{colour}]{st.state}[/]", node)
    for st in states:  # the zone's own containers, in no pod: the model gateway, the offline model
        if st.role in ZONE_SERVICES:
            colour = "green" if st.state == "running" else "red"
            t.add_row(ZONE_POD, "-", st.container, f"[{colour}]{st.state}[/]", ZONE_SERVICES[st.role])
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
    if not found:
        info(f"zone {zone}: not running")
        return
    clusters = {n.node.split("-", 1)[0] for s in found for n in s.nodes if n.node}
    prefix = f"{next(iter(clusters))}-" if len(clusters) == 1 else ""
    t = Table(title=f"zone {zone}", caption=f"node names start with {prefix}" if prefix else None)
    for col in ("pod", "clone", "container", "state", "node", "workers", "agents", "last message"):
        t.add_column(col, overflow="fold")
    for s in found:
        for n in s.nodes:
            colour = "green" if n.state == "running" else "red"
            state = f"[{colour}]{n.state}[/]" + (f" ({n.restarts} restarts)" if n.restarts else "")
            if s.state != "running":
                state += f" [red](pod {s.state})[/]"
            clone = "-" if s.pod == ZONE_POD else str(s.clone)
            workers = "-" if n.workers is None else str(n.workers)
            agents = "-" if n.agents is None else str(len(n.agents))
            node = n.node[len(prefix) :] if prefix and n.node.startswith(prefix) else n.node
            node = node or ZONE_SERVICES.get(n.kind) or ("service" if n.kind == "service" else "-")
            t.add_row(s.pod, clone, escape(n.container), state, escape(node), workers, agents, _ago(n.last_message_at))
    out.print(t)
    _print_agents(found, prefix)
    notes = {n.note for s in found for n in s.nodes if n.note and n.workers is None and n.state == "running"}
    notes |= {n.agents_note for s in found for n in s.nodes if n.agents_note and n.state == "running"}
    for note in sorted(notes):
        out.print(f"[dim]note: {escape(note)}[/]")


def _print_agents(found: list[InstanceStatus], prefix: str) -> None:
    """Under the table, per node with agents, one line per agent."""
    for s in found:
        for n in s.nodes:
            if not n.agents:
                continue
            node = n.node[len(prefix) :] if prefix and n.node.startswith(prefix) else n.node
            out.print(
                f"node [bold]{escape(node)}[/] [dim]({escape(s.instance)}/{escape(n.container)})[/]", highlight=False
            )
            for a in n.agents:
                line = escape(describe(a))
                if a.last_error:
                    line = line.replace("last error:", "[red]last error:[/]", 1)
                out.print(f"  {line}", highlight=False)
