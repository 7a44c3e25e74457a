"""The gateway's configuration, read once from the environment; and its TLS trust.

=================================  ==========================================================
variable                           meaning
=================================  ==========================================================
``AUTONOMY_GATEWAY_TOKEN``         required: every request but ``/health`` must carry
                                   ``Authorization: Bearer <token>`` (never logged)
``ANTHROPIC_API_KEY``              claude-* go to Anthropic's API
``OPENAI_API_KEY``                 gpt-*, o3, o4-mini and embeddings go to OpenAI's API (or
                                   to ``OPENAI_BASE_URL`` with this key, when that is set)
``OPENAI_BASE_URL``                an OpenAI-compatible server (Ollama, llama.cpp, vLLM),
                                   its base URL with ``/v1``
``AUTONOMY_GATEWAY_MODEL``         the model to ask that server for when it does not list
                                   the requested one (default: its first listed model)
``AUTONOMY_GATEWAY_OFFLINE_URL``   the bundled offline model server (base URL with ``/v1``),
                                   used when nothing else is configured
``SSL_CERT_FILE``                  a CA bundle to trust for the providers' TLS instead of
                                   the default one (a proxy that intercepts TLS)
=================================  ==========================================================

Empty values count as unset. Standard library only, like :mod:`.routing`.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path

from ...errors import ConfigurationError
from .routing import GatewayConfig

__all__ = ["from_env", "ssl_verify"]


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = _get(env, name)
    if value is not None and not value.startswith(("http://", "https://")):
        raise ConfigurationError(name, f"expected an http:// or https:// URL, got {value[:80]!r}")
    return value


def from_env(env: Mapping[str, str]) -> GatewayConfig:
    """The gateway's config from ``env`` (pass ``os.environ``). Raises
    :class:`~autonomy.errors.ConfigurationError` naming the variable that is wrong."""
    token = _get(env, "AUTONOMY_GATEWAY_TOKEN")
    if token is None:
        raise ConfigurationError("AUTONOMY_GATEWAY_TOKEN", "required: the token clients must send")
    ca_file = _get(env, "SSL_CERT_FILE")
    if ca_file is not None and not Path(ca_file).is_file():
        raise ConfigurationError("SSL_CERT_FILE", f"no such file: {ca_file}")
    return GatewayConfig(
        token=token,
        openai_api_key=_get(env, "OPENAI_API_KEY"),
        anthropic_api_key=_get(env, "ANTHROPIC_API_KEY"),
        openai_base_url=_url(env, "OPENAI_BASE_URL"),
        model=_get(env, "AUTONOMY_GATEWAY_MODEL"),
        offline_url=_url(env, "AUTONOMY_GATEWAY_OFFLINE_URL"),
        ca_file=ca_file,
    )


def ssl_verify(config: GatewayConfig) -> ssl.SSLContext | bool:
    """What to pass as httpx's ``verify``: a context trusting ``SSL_CERT_FILE`` when it
    is set (the CLI mounts the host's CA bundle there), else True (httpx's default)."""
    if config.ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=config.ca_file)
    except (OSError, ssl.SSLError) as e:
        raise ConfigurationError("SSL_CERT_FILE", f"cannot load CA bundle {config.ca_file}: {e}") from e
