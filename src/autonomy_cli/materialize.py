"""Write a zone's private files: node keys, the roster, the secret env files.

:func:`materialize` is the only function of the pipeline that writes. It makes (or
reuses) each node's Curve25519 key pair, writes the roster every container mounts, and
the per-container env files that carry secret values (mode 0600, only the variables that
are secret, only for the containers that name them). Keys are stable across deploys: an
existing, readable key file for a node is reused. Files of nodes that left the zone are
removed. The model gateway's bearer token is made once per zone (random, 0600) and kept;
it reaches the gateway and the app containers only through 0600 env files. Where each
file goes is :mod:`autonomy_cli.layout`'s.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from autonomy import ConfigurationError
from autonomy.transport.roster import KeyPair, NodeEntry, Roster, generate_keypair, load_keypair

from .errors import PlanError
from .gateway import CLIENT_KEY, TOKEN_ENV, GatewayPlan
from .manifest import secret_value_problem
from .plan import NodePlan, ZonePlan

__all__ = ["env_file_text", "gateway_token", "materialize"]

_MODE_PRIVATE_DIR = 0o700
_MODE_PRIVATE_FILE = 0o600


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, _MODE_PRIVATE_DIR)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _MODE_PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, _MODE_PRIVATE_FILE)


def _key_for(node: NodePlan) -> KeyPair:
    """The node's key pair: reused from its key file when that is readable and its own."""
    return _key_for_file(node.key_file, node.name)


def _key_for_file(path: Path, name: str) -> KeyPair:
    if path.exists():
        try:
            found, pair = load_keypair(path)
        except ConfigurationError:
            pass  # unreadable or damaged: make a new one below
        else:
            if found == name:
                os.chmod(path, _MODE_PRIVATE_FILE)
                return pair
    pair = generate_keypair()
    pair.write(path, name)
    return pair


def gateway_token(path: Path) -> str:
    """The zone's gateway token, from ``path`` (0600) or made now: 43 URL-safe characters
    (32 random bytes). Never printed nor logged."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError:
        token = ""
    if len(token) < 32 or secret_value_problem(token) is not None:
        token = secrets.token_urlsafe(32)
        _write_private(path, token + "\n")
    os.chmod(path, _MODE_PRIVATE_FILE)
    return token


def _gateway_files(gw: GatewayPlan) -> set[Path]:
    token = gateway_token(gw.token_file)
    _write_private(gw.env_file, env_file_text(((TOKEN_ENV, token), *gw.providers)))
    _write_private(gw.client_env_file, env_file_text(((CLIENT_KEY, token),)))
    return {gw.env_file, gw.client_env_file}


def env_file_text(variables: tuple[tuple[str, str], ...]) -> str:
    """``NAME='value'`` lines that Compose v1 (python-dotenv) and v2 (compose-go) read alike."""
    lines = []
    for name, value in variables:
        why = secret_value_problem(value)
        if why is not None:
            raise PlanError(f"secret variable {name} {why}")
        lines.append(f"{name}='{value}'\n")
    return "".join(lines)


def materialize(plan: ZonePlan) -> Roster:
    """Write the zone's private files under ``plan.state_dir``; return the roster written.

    * ``keys/<node>.key`` (0600): each node's key pair, reused when already there (a
      container that is a service, ``NodePlan.kind``, gets none and no roster entry);
    * ``roster.json`` (0644): every node's name, pod, endpoint and public key, plus the
      zone's probe identity (``keys/probe.key``, role ``probe``) that deploy pings with;
    * ``secrets/<instance>--<container>.env`` (0600): the secret variables of that
      container only, for containers that have some;
    * for a zone with a model gateway: ``secrets/gateway.token`` (kept across deploys),
      ``secrets/gateway.env`` (the token and the provider settings, for the gateway
      only) and ``secrets/gateway-client.env`` (the token, for every app container).

    Key and env files of nodes no longer in the plan are deleted. Folders are 0700.
    """
    _private_dir(plan.state_dir)
    _private_dir(plan.keys_dir)
    _private_dir(plan.secrets_dir)
    entries: list[NodeEntry] = []
    for node in plan.zone_nodes():  # a service gets no key and no roster entry
        pair = _key_for(node)
        entries.append(
            NodeEntry(
                name=node.name,
                pod=node.pod,
                instance=node.instance,
                clone=node.clone,
                container=node.container,
                endpoint=node.endpoint,
                public_key=pair.public_key,
            )
        )
    probe = _key_for_file(plan.probe_key_file, plan.probe_name)
    entries.append(
        NodeEntry(
            name=plan.probe_name,
            pod="",
            instance="",
            clone=0,
            container="",
            endpoint="tcp://probe:0",
            public_key=probe.public_key,
            role="probe",
        )
    )
    try:
        roster = Roster.build(plan.cluster, plan.zone, entries)
    except ConfigurationError as e:
        raise PlanError(f"cannot build the roster: {e}") from None
    roster.write(plan.roster_file)

    wanted_env: set[Path] = set()
    for node in plan.nodes():
        if node.secrets_file is not None:
            _write_private(node.secrets_file, env_file_text(node.secret_env))
            wanted_env.add(node.secrets_file)
    if plan.gateway is not None:
        wanted_env |= _gateway_files(plan.gateway)
    wanted_keys = {n.key_file for n in plan.zone_nodes()} | {plan.probe_key_file}
    for stale in plan.keys_dir.glob("*.key"):
        if stale not in wanted_keys:
            stale.unlink()
    for stale in plan.secrets_dir.glob("*.env"):
        if stale not in wanted_env:
            stale.unlink()
    return roster
