"""The cluster identity: who owns the zones this machine runs.

``autonomy cluster enroll`` makes an Ed25519 key pair with PyNaCl and keeps it under
``AUTONOMY_HOME``: ``cluster.key`` (the 32-byte seed, hex, mode 0600) and
``cluster.json`` (id, public key, creation time). The cluster id is the hex of a 16-byte
BLAKE2b hash of the public key: 32 hex characters, like the ids the cloud shows. It
prefixes every node name (``<cluster>-<zone>-<pod instance>-<container>``).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from nacl.signing import SigningKey

from .errors import ClusterError

__all__ = ["Cluster", "enroll", "load", "cluster_id"]


@dataclass(frozen=True)
class Cluster:
    id: str
    public_key: str  # hex of the Ed25519 verify key
    created: str  # ISO 8601, UTC
    home: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def cluster_id(public_key: bytes) -> str:
    return hashlib.blake2b(public_key, digest_size=16).hexdigest()


def load(home: Path) -> Cluster | None:
    """The enrolled cluster, or None when this machine has not enrolled yet."""
    meta, key = home / "cluster.json", home / "cluster.key"
    if not meta.exists() and not key.exists():
        return None
    try:
        data = json.loads(meta.read_text())
        seed = bytes.fromhex(key.read_text().strip())
        verify = SigningKey(seed).verify_key.encode()
    except (OSError, ValueError) as e:
        raise ClusterError(f"{home}: cluster identity unreadable ({e}); move it away and enroll again") from None
    if data.get("public_key") != verify.hex() or data.get("id") != cluster_id(verify):
        raise ClusterError(f"{meta}: does not match {key}; move both away and enroll again")
    return Cluster(id=data["id"], public_key=data["public_key"], created=data.get("created", ""), home=str(home))


def enroll(home: Path) -> tuple[Cluster, bool]:
    """Load the cluster, or create it; returns ``(cluster, created now)``."""
    existing = load(home)
    if existing is not None:
        return existing, False
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    signing = SigningKey.generate()
    verify = signing.verify_key.encode()
    key_path = home / "cluster.key"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(bytes(signing).hex() + "\n")
    cluster = Cluster(
        id=cluster_id(verify),
        public_key=verify.hex(),
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        home=str(home),
    )
    meta = {k: v for k, v in cluster.to_dict().items() if k != "home"}
    (home / "cluster.json").write_text(json.dumps(meta, indent=2) + "\n")
    return cluster, True
