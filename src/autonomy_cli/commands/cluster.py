"""``autonomy cluster``: this machine's cluster identity.

autonomy cluster enroll [--no-input]     make this machine's cluster identity
autonomy cluster show [--json]            (``--json``: also the global ``--output json``)
"""

from __future__ import annotations

import json

import typer
from rich.table import Table

from .. import cluster as cluster_mod
from ..errors import CliError
from .shared import confirm, handled, info, out, settings, shown

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``cluster`` group to the root command."""
    cluster_app = typer.Typer(help="This machine's cluster identity.", no_args_is_help=True)
    app.add_typer(cluster_app, name="cluster")

    @cluster_app.command("enroll")
    @handled
    def cluster_enroll(
        no_input: bool = typer.Option(False, "--no-input", help="Never ask anything (for scripts)."),
    ) -> None:
        """Make this machine's cluster identity (an Ed25519 key), once."""
        s = settings()
        if cluster_mod.load(s.home) is None and not confirm(
            f"Create a new cluster identity in {s.home}?", no_input=no_input
        ):
            raise CliError("not enrolled")
        c, created = cluster_mod.enroll(s.home)
        if created:
            info(f"Enrolled cluster [bold]{c.id}[/] (identity in {shown(str(s.home))})")
        else:
            info(f"Already enrolled in cluster [bold]{c.id}[/] (identity in {shown(str(s.home))})")

    @cluster_app.command("show")
    @handled
    def cluster_show(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Show the cluster this machine is enrolled in."""
        s = settings()
        c = cluster_mod.load(s.home)
        if c is None:
            raise CliError("this machine is not enrolled yet: run `autonomy cluster enroll`")
        zones = sorted(p.name for p in s.zones_dir.iterdir()) if s.zones_dir.exists() else []
        if as_json or s.as_json:
            out.print_json(json.dumps({**c.to_dict(), "zones": zones}))
            return
        t = Table(show_header=False, box=None)
        t.add_row("cluster", c.id)
        t.add_row("public key", c.public_key)
        t.add_row("created", c.created)
        t.add_row("home", c.home)
        t.add_row("zones", ", ".join(zones) or "(none)")
        out.print(t)
