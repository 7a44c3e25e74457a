"""The CLI's settings, read once from the environment into a typed, frozen object.

=========================  =================  ================================================
variable                   default            meaning
=========================  =================  ================================================
``AUTONOMY_HOME``          ``~/.autonomy``    cluster identity, and each zone's rendered
                                              Compose file, roster and keys (``zones/<zone>``)
``AUTONOMY_BASE_SOURCE``   ``auto``           how to get the base image's Python rootfs:
                                              ``auto``, ``online`` or ``offline``
``AUTONOMY_PUBLIC_PORT``   ``32100``          first port tried for the public pod's HTTP
``AUTONOMY_DEPLOY_WAIT``   ``120``            seconds ``zone deploy`` waits for every node
``AUTONOMY_PROBE``         ``auto``           where readiness pings leave from: ``host``,
                                              ``container`` (a throwaway container on the
                                              zone's network), ``auto`` (host when it
                                              reaches the zone's network)
=========================  =================  ================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from .errors import UsageError

__all__ = ["CliSettings"]

BaseSource = Literal["auto", "online", "offline"]
ProbeWay = Literal["auto", "host", "container"]


@dataclass(frozen=True)
class CliSettings:
    home: Path
    base_source: BaseSource
    public_port: int
    deploy_wait: float
    probe: ProbeWay = "auto"

    @property
    def zones_dir(self) -> Path:
        return self.home / "zones"

    def zone_dir(self, zone: str) -> Path:
        return self.zones_dir / zone

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CliSettings:
        env = os.environ if env is None else env
        home = Path(env.get("AUTONOMY_HOME") or Path.home() / ".autonomy").expanduser().resolve()
        source = (env.get("AUTONOMY_BASE_SOURCE") or "auto").lower()
        if source not in ("auto", "online", "offline"):
            raise UsageError(f"AUTONOMY_BASE_SOURCE: expected auto, online or offline, got {source!r}")
        try:
            port = int(env.get("AUTONOMY_PUBLIC_PORT") or 32100)
            wait = float(env.get("AUTONOMY_DEPLOY_WAIT") or 120)
        except ValueError as e:
            raise UsageError(f"AUTONOMY_PUBLIC_PORT / AUTONOMY_DEPLOY_WAIT: {e}") from None
        if not 1024 <= port <= 65535:
            raise UsageError(f"AUTONOMY_PUBLIC_PORT: expected 1024..65535, got {port}")
        probe = (env.get("AUTONOMY_PROBE") or "auto").lower()
        if probe not in ("auto", "host", "container"):
            raise UsageError(f"AUTONOMY_PROBE: expected auto, host or container, got {probe!r}")
        return cls(
            home=home,
            base_source=cast(BaseSource, source),
            public_port=port,
            deploy_wait=wait,
            probe=cast(ProbeWay, probe),
        )
