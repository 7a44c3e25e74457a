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
                                              (0 to :data:`MAX_WAIT`, like ``--wait``)
``AUTONOMY_PROBE``         ``auto``           where readiness pings leave from: ``host``,
                                              ``container`` (a throwaway container on the
                                              zone's network), ``auto`` (host when it
                                              reaches the zone's network)
``AUTONOMY_DEBUG``         (unset)            ``1``: an unexpected error shows its traceback
                                              instead of one line
=========================  =================  ================================================
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from .errors import UsageError

__all__ = ["MAX_WAIT", "CliSettings", "check_wait", "debug_from_env"]

MAX_WAIT = 86_400.0
"""The longest ``zone deploy`` waits for its nodes (a day): a bound, not a goal."""

BaseSource = Literal["auto", "online", "offline"]
ProbeWay = Literal["auto", "host", "container"]


@dataclass(frozen=True)
class CliSettings:
    home: Path
    base_source: BaseSource
    public_port: int
    deploy_wait: float
    probe: ProbeWay = "auto"
    debug: bool = False

    @property
    def zones_dir(self) -> Path:
        return self.home / "zones"

    def zone_dir(self, zone: str) -> Path:
        return self.zones_dir / zone

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CliSettings:
        env = os.environ if env is None else env
        home = _home(env.get("AUTONOMY_HOME") or "")
        source = (env.get("AUTONOMY_BASE_SOURCE") or "auto").lower()
        if source not in ("auto", "online", "offline"):
            raise UsageError(f"AUTONOMY_BASE_SOURCE: expected auto, online or offline, got {source!r}")
        try:
            port = int(env.get("AUTONOMY_PUBLIC_PORT") or 32100)
        except ValueError:
            raise UsageError(
                f"AUTONOMY_PUBLIC_PORT: expected a port number, got {env['AUTONOMY_PUBLIC_PORT']!r}"
            ) from None
        raw_wait = env.get("AUTONOMY_DEPLOY_WAIT") or "120"
        try:
            wait = check_wait(float(raw_wait), "AUTONOMY_DEPLOY_WAIT")
        except ValueError:
            raise UsageError(f"AUTONOMY_DEPLOY_WAIT: expected a number of seconds, got {raw_wait!r}") from None
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
            debug=debug_from_env(env),
        )


def debug_from_env(env: Mapping[str, str]) -> bool:
    """AUTONOMY_DEBUG is set to anything but empty, 0, false or no."""
    return (env.get("AUTONOMY_DEBUG") or "").strip().lower() not in ("", "0", "false", "no")


def check_wait(seconds: float, what: str) -> float:
    """``seconds`` when it is a finite number from 0 to MAX_WAIT; UsageError naming ``what``."""
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_WAIT):
        raise UsageError(f"{what}: expected a number of seconds from 0 to {MAX_WAIT:.0f}, got {seconds}")
    return seconds


def _home(raw: str) -> Path:
    """AUTONOMY_HOME (default ``~/.autonomy``) as an absolute path to a folder, or to nothing yet."""
    try:
        home = Path(raw or "~/.autonomy").expanduser().resolve()
        if home.exists() and not home.is_dir():
            raise UsageError(f"AUTONOMY_HOME: {home} is not a folder")
    except (RuntimeError, OSError) as e:
        what = f"{raw!r}" if raw else "the default ~/.autonomy"
        raise UsageError(f"AUTONOMY_HOME: cannot use {what} ({e}); set AUTONOMY_HOME to a folder") from None
    return home
