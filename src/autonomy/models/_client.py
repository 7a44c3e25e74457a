"""Where a model is reached, from the settings: the zone's gateway, or an API named directly.

* ``AUTONOMY_USE_EXTERNAL_APIS_GATEWAY=1`` (what a zone's containers get): an OpenAI
  client at ``$AUTONOMY_EXTERNAL_APIS_GATEWAY_URL/v1``, its key from
  ``AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY`` (or the file ``..._API_KEY_FILE`` names),
  with the headers ``X-Client-Cluster``, ``X-Client-Zone`` and ``X-Client-Node`` saying
  who asks, as the SDK sends them;
* otherwise ``OPENAI_API_KEY`` (and ``OPENAI_BASE_URL`` for another compatible API);
* neither: a :class:`~autonomy.errors.ConfigurationError` naming these variables.

The settings are read once per process (:func:`settings`); tests that change the
environment call ``settings.cache_clear()``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigurationError
from ..settings import Settings

__all__ = ["Endpoint", "endpoint", "settings"]


@functools.cache
def settings() -> Settings:
    """This process's settings, read from the environment the first time."""
    return Settings.from_env()


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible API: its base URL (None: OpenAI's own), key and headers."""

    base_url: str | None
    api_key: str = field(repr=False)
    headers: dict[str, str] = field(default_factory=dict)
    via_gateway: bool = False


def _gateway_key(s: Settings) -> str:
    if s.gateway_api_key:
        return s.gateway_api_key
    if s.gateway_api_key_file:
        try:
            key = Path(s.gateway_api_key_file).read_text().strip()
        except OSError as e:
            raise ConfigurationError(
                "AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY_FILE", f"cannot read {s.gateway_api_key_file}: {e.strerror}"
            ) from None
        if key:
            return key
        raise ConfigurationError("AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY_FILE", f"{s.gateway_api_key_file} is empty")
    raise ConfigurationError(
        "AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY",
        "not set (nor AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY_FILE): the gateway needs a key",
    )


def endpoint(s: Settings | None = None) -> Endpoint:
    """Where models are reached with settings ``s`` (default: this process's)."""
    s = s if s is not None else settings()
    if s.use_gateway:
        if not s.gateway_url:
            raise ConfigurationError(
                "AUTONOMY_EXTERNAL_APIS_GATEWAY_URL", "not set, while AUTONOMY_USE_EXTERNAL_APIS_GATEWAY=1"
            )
        headers = {"X-Client-Cluster": s.cluster, "X-Client-Zone": s.zone, "X-Client-Node": s.node}
        return Endpoint(f"{s.gateway_url}/v1", _gateway_key(s), {k: v for k, v in headers.items() if v}, True)
    if s.openai_api_key:
        return Endpoint(s.openai_base_url or None, s.openai_api_key)
    raise ConfigurationError(
        "model",
        "no model API configured: set AUTONOMY_USE_EXTERNAL_APIS_GATEWAY=1 with "
        "AUTONOMY_EXTERNAL_APIS_GATEWAY_URL and AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY (what a zone's "
        "containers get), or OPENAI_API_KEY (and OPENAI_BASE_URL for another OpenAI-compatible API)",
    )
