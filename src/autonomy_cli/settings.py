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
``AUTONOMY_OFFLINE_MODEL``  ``1``               ``0``: no bundled offline model behind the zone's
                                              model gateway when no provider is configured
                                              (its first build compiles llama.cpp: minutes)
``OPENAI_API_KEY``,        (unset)            the model gateway's providers, when the
``ANTHROPIC_API_KEY``,                        project's secrets file names none of them
``OPENAI_BASE_URL``,                          (:mod:`autonomy_cli.gateway`); only the
``AUTONOMY_GATEWAY_MODEL``                    gateway's container ever gets them
``AUTONOMY_DEBUG``         (unset)            ``1``: an unexpected error shows its traceback
                                              instead of one line
``NO_COLOR``               (unset)            set to anything: plain text, no colour or
                                              style (https://no-color.org), as ``--no-color``
=========================  =================  ================================================

The root command's global options (``autonomy --no-input --output json -q -v --no-color
<command>``) are folded in once, by :meth:`CliSettings.with_options`: every command then
reads them from the same object (``no_input``, ``output``, ``quiet``, ``verbose``,
``color``), never from its own flags alone.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, cast

from .errors import UsageError

__all__ = ["MAX_WAIT", "OUTPUTS", "PROVIDER_ENV", "CliSettings", "Output", "check_wait", "debug_from_env"]

MAX_WAIT = 86_400.0
"""The longest ``zone deploy`` waits for its nodes (a day): a bound, not a goal."""

#: the model gateway's provider settings (:mod:`autonomy_cli.gateway`); only its container gets them
PROVIDER_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "AUTONOMY_GATEWAY_MODEL")

BaseSource = Literal["auto", "online", "offline"]
ProbeWay = Literal["auto", "host", "container"]
Output = Literal["plain", "json"]
OUTPUTS: tuple[Output, ...] = ("plain", "json")


@dataclass(frozen=True)
class CliSettings:
    home: Path
    base_source: BaseSource
    public_port: int
    deploy_wait: float
    probe: ProbeWay = "auto"
    debug: bool = False
    no_input: bool = False  # never ask a question (``--no-input``)
    output: Output = "plain"  # ``--output json``: commands that print data print JSON
    quiet: bool = False  # ``-q``: no progress or info lines; data and errors still shown
    verbose: bool = False  # ``-v``: more detail (each step of a deploy, as it happens)
    color: bool = True  # False with ``--no-color`` or NO_COLOR: plain text, no escape codes
    offline_model: bool = True  # AUTONOMY_OFFLINE_MODEL: the bundled model when no provider is set
    #: the model gateway's provider settings from the environment (never shown)
    providers: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def as_json(self) -> bool:
        """Data is to be printed as JSON (``--output json``)."""
        return self.output == "json"

    def with_options(self, *, no_input: bool, output: str, quiet: bool, verbose: bool, no_color: bool) -> CliSettings:
        """These settings with the root command's global options folded in (UsageError
        for a bad ``--output`` or for ``-q`` with ``-v``)."""
        fmt = output.strip().lower()
        if fmt not in OUTPUTS:
            raise UsageError(f"--output {output!r}: expected plain or json")
        if quiet and verbose:
            raise UsageError("-q/--quiet and -v/--verbose contradict each other; choose one")
        return replace(
            self,
            no_input=self.no_input or no_input,
            output=fmt,
            quiet=quiet,
            verbose=verbose,
            color=self.color and not no_color,
        )

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
            color=not env.get("NO_COLOR"),
            offline_model=(env.get("AUTONOMY_OFFLINE_MODEL") or "1").strip().lower() not in ("0", "false", "no", "off"),
            providers=tuple((name, env[name]) for name in PROVIDER_ENV if env.get(name)),
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
