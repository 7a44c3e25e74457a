"""Zone roster and node keys: the files that tie a zone's nodes together.

Every node of a zone has its own Curve25519 key pair, made with PyNaCl by the tool
that deploys the zone (the ``autonomy`` CLI, or :mod:`autonomy.testing`). The secret
half is written to a *key file* handed only to that node's container; the public half
goes into the *roster*, one JSON file mounted read-only in every container of the zone.

Roster (``roster.json``)::

    {
      "version": 1,
      "cluster": "19f138000c5dcc2eaa7d8f21594fc0c3",
      "zone": "hello",
      "nodes": [
        {
          "name": "19f138000c5dcc2eaa7d8f21594fc0c3-hello-main-pod-main",
          "pod": "main-pod",
          "instance": "main-pod",
          "clone": 0,
          "container": "main",
          "endpoint": "tcp://main-pod:5555",
          "public_key": "<40 characters of Z85>"
        }
      ]
    }

* ``name`` is the node's full name, ``<cluster>-<zone>-<pod instance>-<container>``, and
  the value of ``NODE`` in that container.
* ``pod`` is the pod's name in autonomy.yaml (what ``Zone.nodes(filter=...)`` matches),
  ``instance`` the pod instance (``runner-pod-3`` for a clone), ``clone`` its index.
* ``endpoint`` is where the node's ROUTER socket listens; the node binds the port of its
  own entry on every interface of its pod.
* ``public_key`` is the Z85 text of the node's Curve25519 public key.
* ``role`` (optional, default ``"node"``): ``"probe"`` marks an identity the deploying
  tool uses to check that every node answers; it may connect, it is never discovered.

Key file (one per node, mode 0600)::

    {"name": "<node name>", "public_key": "<Z85>", "secret_key": "<Z85>"}

This module is pure: it reads and writes these files and makes keys; it opens no socket.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zmq.utils import z85

from ..errors import ConfigurationError

__all__ = [
    "KeyPair",
    "NodeEntry",
    "Roster",
    "generate_keypair",
    "load_keypair",
    "node_name",
    "ROSTER_VERSION",
]

ROSTER_VERSION = 1
_Z85_KEY = re.compile(r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}")


def node_name(cluster: str, zone: str, instance: str, container: str) -> str:
    """The full name of a node: ``<cluster>-<zone>-<pod instance>-<container>``."""
    return f"{cluster}-{zone}-{instance}-{container}"


@dataclass(frozen=True)
class KeyPair:
    """A node's Curve25519 key pair, both halves as Z85 text (what CurveZMQ takes)."""

    public_key: str
    secret_key: str = field(repr=False)

    def to_json(self, name: str) -> str:
        return json.dumps({"name": name, "public_key": self.public_key, "secret_key": self.secret_key})

    def write(self, path: str | os.PathLike[str], name: str) -> None:
        """Write the key file with mode 0600 (created so; never readable by others)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.to_json(name))
        os.chmod(p, 0o600)


def generate_keypair() -> KeyPair:
    """Make a fresh Curve25519 key pair with PyNaCl."""
    from nacl.public import PrivateKey  # only tools and standalone nodes make keys

    sk = PrivateKey.generate()
    return KeyPair(
        public_key=z85.encode(bytes(sk.public_key)).decode("ascii"),
        secret_key=z85.encode(bytes(sk)).decode("ascii"),
    )


def _check_key(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _Z85_KEY.fullmatch(value):
        raise ConfigurationError(where, "expected a Curve25519 key as 40 characters of Z85")
    try:
        z85.decode(value)
    except (ValueError, struct.error):
        raise ConfigurationError(where, "not a valid Z85 key (a group is out of range)") from None
    return value


def load_keypair(path: str | os.PathLike[str]) -> tuple[str, KeyPair]:
    """Read a key file; returns ``(node name, key pair)``."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigurationError(where, "key file not found") from None
    except (OSError, ValueError) as e:
        raise ConfigurationError(where, f"cannot read key file: {type(e).__name__}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(where, "expected a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{where}: name", "expected the node's name")
    pub = _check_key(data.get("public_key"), f"{where}: public_key")
    sec = _check_key(data.get("secret_key"), f"{where}: secret_key")
    return name, KeyPair(public_key=pub, secret_key=sec)


@dataclass(frozen=True)
class NodeEntry:
    """One node of the roster."""

    name: str
    pod: str
    instance: str
    clone: int
    container: str
    endpoint: str
    public_key: str
    role: str = "node"  # "probe": a tool's identity (may connect, is never discovered)

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])


@dataclass(frozen=True)
class Roster:
    """Every node of one zone: who may talk to whom, and where they listen."""

    cluster: str
    zone: str
    nodes: tuple[NodeEntry, ...]

    def __post_init__(self) -> None:
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ConfigurationError("roster: nodes", "node names must be unique")
        keys = [n.public_key for n in self.nodes]
        if len(set(keys)) != len(keys):
            raise ConfigurationError("roster: nodes", "public keys must be unique")

    def by_name(self, name: str) -> NodeEntry | None:
        for n in self.nodes:
            if n.name == name:
                return n
        return None

    def identity(self, name: str, key_path: str, where: str = "roster") -> tuple[NodeEntry, KeyPair]:
        """Node ``name``'s entry and key pair, read from ``key_path``; ConfigurationError
        unless the key file is that node's and its public key is the roster's."""
        key_name, kp = load_keypair(key_path)
        if key_name != name:
            raise ConfigurationError(key_path, f"key file is for node {key_name!r}, this node is {name!r}")
        entry = self.by_name(name)
        if entry is None:
            raise ConfigurationError(where, f"node {name!r} is not in the roster")
        if entry.public_key != kp.public_key:
            raise ConfigurationError(key_path, "public key does not match the roster")
        return entry, kp

    def by_key(self) -> dict[str, NodeEntry]:
        """Public key (Z85) -> entry."""
        return {n.public_key: n for n in self.nodes}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": ROSTER_VERSION,
            "cluster": self.cluster,
            "zone": self.zone,
            "nodes": [asdict(n) for n in self.nodes],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.to_json())
        os.chmod(p, 0o644)

    @classmethod
    def from_dict(cls, data: Any, where: str = "roster") -> Roster:
        if not isinstance(data, dict):
            raise ConfigurationError(where, "expected a JSON object")
        if data.get("version") != ROSTER_VERSION:
            raise ConfigurationError(f"{where}: version", f"expected {ROSTER_VERSION}, got {data.get('version')!r}")
        nodes_raw = data.get("nodes")
        if not isinstance(nodes_raw, list):
            raise ConfigurationError(f"{where}: nodes", "expected a list")
        nodes = []
        for i, raw in enumerate(nodes_raw):
            at = f"{where}: nodes[{i}]"
            if not isinstance(raw, dict):
                raise ConfigurationError(at, "expected an object")
            clone = raw.get("clone", 0)
            if type(clone) is not int or clone < 0:
                raise ConfigurationError(f"{at}.clone", f"expected a whole number >= 0, got {clone!r}")
            try:
                entry = NodeEntry(
                    name=str(raw["name"]),
                    pod=str(raw["pod"]),
                    instance=str(raw.get("instance", raw["pod"])),
                    clone=clone,
                    container=str(raw["container"]),
                    endpoint=str(raw["endpoint"]),
                    public_key=_check_key(raw["public_key"], f"{at}.public_key"),
                    role=str(raw.get("role", "node")),
                )
            except KeyError as e:
                raise ConfigurationError(f"{at}.{e.args[0]}", "missing") from None
            if entry.role not in ("node", "probe"):
                raise ConfigurationError(f"{at}.role", f"expected 'node' or 'probe', got {entry.role!r}")
            port = entry.endpoint.rsplit(":", 1)[-1]
            if (
                not entry.endpoint.startswith("tcp://")
                or not re.fullmatch(r"[0-9]{1,5}", port)
                or not (0 <= int(port) <= 65535)
                or (entry.role == "node" and int(port) == 0)
            ):
                raise ConfigurationError(f"{at}.endpoint", "expected tcp://<host>:<port> with a port of 1..65535")
            nodes.append(entry)
        try:
            return cls(cluster=str(data.get("cluster", "")), zone=str(data.get("zone", "")), nodes=tuple(nodes))
        except ConfigurationError as e:
            raise ConfigurationError(f"{where}: nodes", e.problem) from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Roster:
        where = str(path)
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigurationError(where, "roster not found") from None
        except (OSError, ValueError) as e:
            raise ConfigurationError(where, f"cannot read roster: {e}") from None
        return cls.from_dict(data, where)

    @classmethod
    def build(cls, cluster: str, zone: str, entries: Iterable[NodeEntry]) -> Roster:
        return cls(cluster=cluster, zone=zone, nodes=tuple(entries))
