"""Where a zone's private files live: the one home of the state folder's layout.

Each zone has a folder under ``AUTONOMY_HOME/zones/<zone>`` (:class:`ZoneFiles`)::

    compose.yaml                       the rendered Compose file deploy applied
    roster.json                        every node's name, endpoint, public key (0644)
    keys/<node>.key                    each node's key pair (0600)
    keys/probe.key                     the zone's probe identity (0600)
    secrets/<instance>--<container>.env  the secret variables of one container (0600)
    secrets/gateway.token              the model gateway's bearer token (0600)
    secrets/gateway.env                the gateway's token and provider keys (0600)
    secrets/gateway-client.env         the token, as every app container's API key (0600)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .names import service_name

__all__ = ["ZoneFiles"]


@dataclass(frozen=True)
class ZoneFiles:
    """The paths of one zone's state folder (nothing is read or written here)."""

    root: Path

    @property
    def compose_file(self) -> Path:
        return self.root / "compose.yaml"

    @property
    def roster_file(self) -> Path:
        return self.root / "roster.json"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def probe_key_file(self) -> Path:
        return self.keys_dir / "probe.key"

    @property
    def gateway_token_file(self) -> Path:
        return self.secrets_dir / "gateway.token"

    @property
    def gateway_env_file(self) -> Path:
        return self.secrets_dir / "gateway.env"

    @property
    def gateway_client_env_file(self) -> Path:
        return self.secrets_dir / "gateway-client.env"

    def key_file(self, node: str) -> Path:
        return self.keys_dir / f"{node}.key"

    def secrets_file(self, instance: str, container: str) -> Path:
        return self.secrets_dir / f"{service_name(instance, container)}.env"
