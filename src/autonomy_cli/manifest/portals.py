"""A pod's portals: outlets (a port of the pod made reachable) and inlets.

What ``portals`` (also written ``portal``) may hold::

    portals:
      outlets:                        # also `outlet`, `tcp-outlets`
        - to: localhost:7000          # a port inside the pod (or of pod `pod_name`)
          inlet_from: localhost:32102 # optional: reachable on 127.0.0.1:32102 here
          name: repl                  # optional: the outlet's name in the cloud
          pod_name: db-pod            # optional: the pod whose port `to` is (default: this one)
      inlets:                         # also `inlet`, `tcp-inlets`, `tcp-inlet`
        - from: localhost:9000        # a port inside the pod ...
          name: other                 # ... connected, in the cloud, to outlet `other` elsewhere

In the cloud an inlet connects to an outlet of another zone or of a machine outside.
A local zone has nothing of the kind to connect to, so inlets are read and checked (a
typo is still an error) and :func:`autonomy_cli.manifest.notes` says that they
do nothing here.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import AliasChoices, Field, field_validator

from .base import Frozen, check_name
from .values import describe

__all__ = ["Inlet", "Outlet", "Portals", "parse_port"]

_PORT_RE = re.compile(r"^(?:(?P<host>[^:\s]+):)?(?P<port>[0-9]{1,5})$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1")
_PORTAL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def parse_port(value: Any, *, any_host: bool = False) -> int:
    """``localhost:7000``, ``127.0.0.1:7000`` or ``7000`` -> 7000 (``any_host``: any host)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected localhost:<port>, got {describe(value)}")
    if isinstance(value, int):
        port = value
    else:
        m = _PORT_RE.match(value.strip())
        if not m:
            raise ValueError(f"expected localhost:<port>, got {describe(value)}")
        host = m.group("host")
        if host is not None and host not in _LOCAL_HOSTS and not any_host:
            raise ValueError(f"only localhost (or 127.0.0.1) is allowed here, got {value!r}")
        port = int(m.group("port"))
    if not 1 <= port <= 65535:
        raise ValueError(f"a port must be between 1 and 65535, got {port}")
    return port


def _portal_name(value: Any) -> Any:
    if isinstance(value, str) and not _PORTAL_NAME_RE.match(value):
        raise ValueError(
            f"a portal name must be 1 to 63 letters, digits, '_', '.' and '-', "
            f"starting with a letter or digit, got {value!r}"
        )
    return value


class Outlet(Frozen):
    """Port ``to`` of a pod, reachable on 127.0.0.1:``inlet_from`` of this machine when given."""

    to: int
    inlet_from: int | None = None
    name: str | None = None
    pod_name: str | None = None

    @field_validator("to", "inlet_from", mode="before")
    @classmethod
    def _port(cls, value: Any) -> int:
        return parse_port(value)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return _portal_name(value)

    @field_validator("pod_name")
    @classmethod
    def _pod_name(cls, value: str | None) -> str | None:
        return None if value is None else check_name(value, "pod")


class Inlet(Frozen):
    """A port inside the pod (``from``) that, in the cloud, leads to outlet ``name``."""

    from_: int = Field(alias="from")
    name: str | None = None

    @field_validator("from_", mode="before")
    @classmethod
    def _port(cls, value: Any) -> int:
        return parse_port(value, any_host=True)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return _portal_name(value)


class Portals(Frozen):
    """A pod's outlets and inlets (each key also under the cloud's other spellings)."""

    outlets: tuple[Outlet, ...] = Field((), validation_alias=AliasChoices("outlets", "outlet", "tcp-outlets"))
    inlets: tuple[Inlet, ...] = Field((), validation_alias=AliasChoices("inlets", "inlet", "tcp-inlets", "tcp-inlet"))
