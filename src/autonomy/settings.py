"""Node settings, read once from the environment into a typed, frozen object.

A container of a deployed zone gets these from the CLI; :mod:`autonomy.testing` sets
them for local node processes. Nothing else in the runtime reads ``os.environ``.

=========================  ==============================  ===================================
variable                   default                         meaning
=========================  ==============================  ===================================
``NODE``                   (host name)                     this node's full name
``CLUSTER`` / ``ZONE``     from the roster                 cluster id / zone name
``AUTONOMY_ROSTER``        ``/run/autonomy/roster.json``   the zone roster (read-only)
``AUTONOMY_KEY``           ``/run/autonomy/node.key``      this node's key file (mode 0600)
``AUTONOMY_BIND_HOST``     ``0.0.0.0``                     where the node's ROUTER listens
``AUTONOMY_HTTP_HOST``     ``0.0.0.0`` (standalone:        where the HTTP server listens
                           ``127.0.0.1``)
``AUTONOMY_HTTP_PORT``     ``8000``                        HTTP port; ``0`` turns it off
``LOG_LEVEL``              ``INFO``                        DEBUG, INFO, WARNING or ERROR
``AUTONOMY_LOG_LEVEL``     (none)                          ``INFO,agent=DEBUG``: a default level
                                                           (over ``LOG_LEVEL``), then loggers'
``AUTONOMY_DISCOVERY_GRACE``  ``20``                       seconds after start during which
                                                           ``Zone.nodes`` waits for nodes
                                                           still starting
``AUTONOMY_PING_TIMEOUT``  ``1.0``                         liveness ping timeout, seconds
``AUTONOMY_HWM``           ``100000``                      ZeroMQ send/receive high-water mark
``AUTONOMY_MAX_MESSAGE``   ``16777216``                    largest ZeroMQ frame (bytes) a node
                                                           reads or sends: bigger input, even
                                                           before authentication, closes the
                                                           connection
``AUTONOMY_WINDOW``        ``4096``                        messages (requests and sends) a peer
                                                           may have in flight to this node
                                                           before it must wait for credit
``AUTONOMY_PEER_OUTBOX``   ``10000``                       messages held for one peer (waiting
                                                           for credit, for the connection, or
                                                           replies it does not read)
``AUTONOMY_MAILBOX``       ``10000``                       messages an in-node sender may queue
                                                           for one worker before it waits
``AUTONOMY_POD_WATCHDOG``  ``0``                           ``1``: exit (code 3) when the pod's
                                                           network namespace loses every
                                                           interface but ``lo``, so Docker
                                                           restarts the container into its
                                                           pod's new namespace (compose#8918)
``AUTONOMY_DEPLOYED_AS``   (none)                          ``service``: ``zone deploy`` found no
                                                           ``Node.start`` in this container's
                                                           image, so it has no key and no roster;
                                                           a node started here runs standalone
                                                           and warns why
``API_KEY``                (none)                          when set, every route of the node's
                                                           own web app needs ``?api_key=`` with
                                                           this value (never logged or shown)
``AUTONOMY_WAIT_UNTIL_INTERRUPTED``  (none)                ``true``/``false``: overrides
                                                           ``Node.start(wait_until_interrupted=)``
``AUTONOMY_USE_EXTERNAL_APIS_GATEWAY``  (none)             ``1``: models are reached through the
                                                           zone's gateway (below), as the SDK
``AUTONOMY_EXTERNAL_APIS_GATEWAY_URL``  (none)             the gateway's base URL; the OpenAI
                                                           client talks to ``<URL>/v1``
``AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY``  (none)         the key sent to the gateway (never
                                                           logged or shown)
``..._API_KEY_FILE``       (none)                          a file holding that key, read at
                                                           each new client (a rotated key works)
``OPENAI_API_KEY`` /       (none)                          outside a zone, without the gateway:
``OPENAI_BASE_URL``                                        an OpenAI-compatible API reached
                                                           directly
=========================  ==============================  ===================================

When neither the roster file nor ``AUTONOMY_ROSTER`` exists the node runs *standalone*:
its workers work, it has no peers. That is what ``python main.py`` on a laptop gives.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ConfigurationError
from .logs import parse_log_levels

__all__ = ["Settings"]

DEFAULT_ROSTER = "/run/autonomy/roster.json"
DEFAULT_KEY = "/run/autonomy/node.key"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(name, f"expected a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigurationError(name, f"expected {lo}..{hi}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(name, f"expected a number of seconds, got {raw!r}") from None
    if not value >= 0:  # also refuses NaN
        raise ConfigurationError(name, f"expected a number >= 0, got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool | None:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return None
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ConfigurationError(name, f"expected true or false, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Everything a node needs to know about where it runs."""

    node: str
    cluster: str
    zone: str
    roster_path: str | None
    key_path: str | None
    bind_host: str
    http_host: str
    http_port: int
    log_level: str
    discovery_grace: float
    ping_timeout: float
    hwm: int
    pod_watchdog: bool = False
    max_message: int = 16 << 20
    window: int = 4096
    peer_outbox: int = 10_000
    mailbox: int = 10_000
    #: (logger, level) pairs from ``AUTONOMY_LOG_LEVEL`` (``"INFO,agent=DEBUG"``)
    log_levels: tuple[tuple[str, str], ...] = ()
    #: ``AUTONOMY_DEPLOYED_AS``: "service" when the CLI deployed this container as no node
    deployed_as: str = ""
    #: ``API_KEY``: the key the node's own web app asks for (kept out of ``repr``)
    api_key: str | None = field(default=None, repr=False)
    #: ``AUTONOMY_WAIT_UNTIL_INTERRUPTED``, None when unset
    wait_until_interrupted: bool | None = None
    #: ``AUTONOMY_USE_EXTERNAL_APIS_GATEWAY=1``: models go through the zone's gateway
    use_gateway: bool = False
    #: ``AUTONOMY_EXTERNAL_APIS_GATEWAY_URL``: the gateway's base URL (without ``/v1``)
    gateway_url: str = ""
    #: ``AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY`` (kept out of ``repr``)
    gateway_api_key: str | None = field(default=None, repr=False)
    #: ``AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY_FILE``: where the key is, when not given inline
    gateway_api_key_file: str = ""
    #: ``OPENAI_API_KEY`` (kept out of ``repr``) and ``OPENAI_BASE_URL``: a model API reached
    #: directly, outside a zone
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str = ""

    @property
    def standalone(self) -> bool:
        return self.roster_path is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: ``os.environ``); raise ConfigurationError."""
        env = os.environ if env is None else env
        roster: str | None = env.get("AUTONOMY_ROSTER") or None
        if roster is None and os.path.exists(DEFAULT_ROSTER):
            roster = DEFAULT_ROSTER
        key: str | None = env.get("AUTONOMY_KEY") or None
        if roster is not None and key is None:
            key = DEFAULT_KEY
        level = (env.get("LOG_LEVEL") or "INFO").upper()
        if level not in _LEVELS:
            raise ConfigurationError("LOG_LEVEL", f"expected one of {', '.join(_LEVELS)}, got {level!r}")
        try:
            default, loggers = parse_log_levels(env.get("AUTONOMY_LOG_LEVEL", ""))
        except ValueError as e:
            raise ConfigurationError("AUTONOMY_LOG_LEVEL", str(e)) from None
        level = default or level
        return cls(
            node=env.get("NODE") or socket.gethostname(),
            cluster=env.get("CLUSTER", ""),
            zone=env.get("ZONE", ""),
            roster_path=roster,
            key_path=key if roster is not None else None,
            bind_host=env.get("AUTONOMY_BIND_HOST") or "0.0.0.0",
            # a standalone node (a laptop, no zone) serves HTTP to this machine only
            http_host=env.get("AUTONOMY_HTTP_HOST") or ("0.0.0.0" if roster is not None else "127.0.0.1"),
            http_port=_int(env, "AUTONOMY_HTTP_PORT", 8000, 0, 65535),
            log_level=level,
            log_levels=tuple(loggers.items()),
            discovery_grace=_float(env, "AUTONOMY_DISCOVERY_GRACE", 20.0),
            ping_timeout=_float(env, "AUTONOMY_PING_TIMEOUT", 1.0),
            hwm=_int(env, "AUTONOMY_HWM", 100_000, 1, 10_000_000),
            pod_watchdog=_int(env, "AUTONOMY_POD_WATCHDOG", 0, 0, 1) == 1,
            max_message=_int(env, "AUTONOMY_MAX_MESSAGE", 16 << 20, 1024, 1 << 31),
            window=_int(env, "AUTONOMY_WINDOW", 4096, 16, 1_000_000),
            peer_outbox=_int(env, "AUTONOMY_PEER_OUTBOX", 10_000, 16, 10_000_000),
            mailbox=_int(env, "AUTONOMY_MAILBOX", 10_000, 1, 10_000_000),
            deployed_as=env.get("AUTONOMY_DEPLOYED_AS", ""),
            api_key=env.get("API_KEY") or None,
            wait_until_interrupted=_bool(env, "AUTONOMY_WAIT_UNTIL_INTERRUPTED"),
            use_gateway=bool(_bool(env, "AUTONOMY_USE_EXTERNAL_APIS_GATEWAY")),
            gateway_url=(env.get("AUTONOMY_EXTERNAL_APIS_GATEWAY_URL") or "").strip().rstrip("/"),
            gateway_api_key=env.get("AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY") or None,
            gateway_api_key_file=env.get("AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY_FILE") or "",
            openai_api_key=env.get("OPENAI_API_KEY") or None,
            openai_base_url=(env.get("OPENAI_BASE_URL") or "").strip(),
        )
