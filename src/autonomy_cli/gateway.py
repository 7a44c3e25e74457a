"""The zone's model gateway, as the pipeline plans it: one OpenAI-compatible endpoint for
every app container, the provider keys kept in one place.

A zone with at least one node gets two more containers beside its pods:

* the **gateway** (``python -m autonomy.clusters.gateway --listen <ip>:<port>`` on the
  base image), which holds the provider settings (:data:`PROVIDER_ENV`) and forwards
  ``/v1/chat/completions``, ``/v1/embeddings`` and ``/v1/models`` to the provider that
  serves the model asked for. It runs in the host's network namespace, so that
  ``OPENAI_BASE_URL=http://127.0.0.1:11434/v1`` (an Ollama on this machine) and the
  internet both work from it, and it listens on the default bridge network's gateway
  address only (``172.17.0.1``), never on ``0.0.0.0``: containers reach that address, the
  rest of the network does not;
* the **offline model** (:data:`MODEL_SERVICE`), only when no key and no
  ``OPENAI_BASE_URL`` is configured: SmolLM2-135M-Instruct served by llama.cpp's
  OpenAI-compatible server, its port published on ``127.0.0.1`` only, where the gateway
  finds it (``AUTONOMY_GATEWAY_OFFLINE_URL``).

Every app container (nodes and services alike) gets the SDK's variables for the gateway
(:data:`CLIENT_USE`, :data:`CLIENT_URL`, :data:`CLIENT_KEY`) and reaches it as
``host.docker.internal`` (an ``extra_hosts`` entry on its pod's infra container, which
owns the pod's ``/etc/hosts``). The bearer token is random per zone, made by
:mod:`autonomy_cli.materialize` and handed over in 0600 env files, like secrets: neither
the token nor a provider key is ever in the rendered Compose file, and provider keys are
only in the gateway's environment, never in an app container's.

Where the provider settings come from (:func:`provider_settings`): the project's secrets
file, when it defines any of :data:`PROVIDER_ENV`, is the whole provider configuration;
otherwise the environment ``autonomy`` runs in. One source at a time, so a key from one
place never goes to a base URL from the other.

Pure: this module reads and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PlanError
from .layout import ZoneFiles
from .manifest import secret_value_problem
from .settings import PROVIDER_ENV

__all__ = [
    "CA_MOUNT",
    "CLIENT_KEY",
    "CLIENT_URL",
    "CLIENT_USE",
    "GATEWAY_SERVICE",
    "HOST_ALIAS",
    "KEY_ENV",
    "MODEL_PORT",
    "MODEL_SERVICE",
    "OFFLINE_URL_ENV",
    "PROVIDER_ENV",
    "TOKEN_ENV",
    "GatewayPlan",
    "GatewaySettings",
    "gateway_plan",
    "is_offline",
    "provider_settings",
]

#: the gateway's bearer token (required by the gateway; apps send it as their API key)
TOKEN_ENV = "AUTONOMY_GATEWAY_TOKEN"
#: a provider's key: one of these, or ``OPENAI_BASE_URL``, means no offline model
KEY_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
OFFLINE_URL_ENV = "AUTONOMY_GATEWAY_OFFLINE_URL"
#: the SDK's variables in every app container (the URL without ``/v1``: the SDK adds it)
CLIENT_USE = "AUTONOMY_USE_EXTERNAL_APIS_GATEWAY"
CLIENT_URL = "AUTONOMY_EXTERNAL_APIS_GATEWAY_URL"
CLIENT_KEY = "AUTONOMY_EXTERNAL_APIS_GATEWAY_API_KEY"
#: how app containers name the host (Docker's ``host-gateway``: the default bridge's gateway)
HOST_ALIAS = "host.docker.internal"
#: Compose services; a dot is in no pod or container name, so these never clash with one
GATEWAY_SERVICE = "autonomy.gateway"
MODEL_SERVICE = "autonomy.model"
#: where the model server listens inside its container
MODEL_PORT = 8080
#: where the host's CA bundle is mounted in the gateway (its ``SSL_CERT_FILE``)
CA_MOUNT = "/etc/autonomy/host-ca.crt"


def provider_settings(environ: Mapping[str, str], secrets: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The provider settings and where they came from (``"secrets"``, ``"environment"``
    or ``""`` for none): the secrets file when it defines any of :data:`PROVIDER_ENV`,
    else ``environ``. Empty values count as unset."""
    for source, values in (("secrets", secrets), ("environment", environ)):
        found = {name: values[name] for name in PROVIDER_ENV if values.get(name)}
        if found:
            return found, source
    return {}, ""


def is_offline(providers: Mapping[str, str]) -> bool:
    """True when nothing but the bundled offline model can answer: no key, no base URL."""
    return not any(providers.get(name) for name in (*KEY_ENV, "OPENAI_BASE_URL"))


@dataclass(frozen=True)
class GatewaySettings:
    """What a deploy decided for the gateway before planning (ports, addresses, images).

    ``listen_host``: the default bridge network's gateway address (``172.17.0.1``);
    ``port``: a free port there; ``providers``: :func:`provider_settings`' values;
    ``model_image``/``model_port``: the offline model's image and its port on
    127.0.0.1 (both set exactly when :func:`is_offline`); ``ca_file``: the host's CA
    bundle, mounted read-only into the gateway (None: the image's own CAs).
    ``model_image`` may be None where :func:`is_offline` too: no offline model wanted."""

    listen_host: str
    port: int
    providers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    provider_source: str = ""
    model_image: str | None = None
    model_port: int | None = None
    ca_file: Path | None = None


@dataclass(frozen=True)
class ModelPlan:
    """The offline model's container: its image and its port on 127.0.0.1."""

    image: str
    host_port: int

    @property
    def url(self) -> str:
        """Where the gateway (on the host's network) finds it, with ``/v1``."""
        return f"http://127.0.0.1:{self.host_port}/v1"


@dataclass(frozen=True)
class GatewayPlan:
    """The zone's gateway: where it listens, its files, its providers, its offline model."""

    listen_host: str
    port: int
    token_file: Path  # the zone's bearer token (0600), kept across deploys
    env_file: Path  # the gateway's env file: token and provider settings (0600)
    client_env_file: Path  # every app container's env file: the token as its API key (0600)
    providers: tuple[tuple[str, str], ...] = field(repr=False)
    provider_source: str
    model: ModelPlan | None
    ca_file: Path | None

    @property
    def listen(self) -> str:
        return f"{self.listen_host}:{self.port}"

    @property
    def url(self) -> str:
        """What app containers use (no ``/v1``: the SDK appends it)."""
        return f"http://{HOST_ALIAS}:{self.port}"

    def app_env(self) -> dict[str, str]:
        """The non-secret variables of every app container (the key is in an env file)."""
        return {CLIENT_USE: "1", CLIENT_URL: self.url}

    def gateway_env(self) -> dict[str, str]:
        """The gateway's non-secret variables (its token and keys are in :attr:`env_file`)."""
        env: dict[str, str] = {}
        if self.model is not None:
            env[OFFLINE_URL_ENV] = self.model.url
        if self.ca_file is not None:
            env["SSL_CERT_FILE"] = CA_MOUNT
        return env


def _check_port(port: int, what: str) -> None:
    if not 1 <= port <= 65535:
        raise PlanError(f"the {what} port must be between 1 and 65535, got {port}")


def gateway_plan(settings: GatewaySettings, files: ZoneFiles) -> GatewayPlan:
    """Check ``settings`` and place the gateway's files in the zone's state folder.

    Raises :class:`PlanError` when a provider value cannot travel in an env file (named,
    never shown), when a port is out of range, or when the offline model is missing
    where a provider is configured. Without a provider and without the offline model
    (``AUTONOMY_OFFLINE_MODEL=0``) the gateway runs and answers what to configure."""
    _check_port(settings.port, "gateway's")
    if settings.listen_host in ("", "0.0.0.0", "::"):
        raise PlanError(f"the gateway must listen on one address, not {settings.listen_host!r}")
    for name, value in settings.providers:
        if name not in PROVIDER_ENV:
            raise PlanError(f"{name} is not a provider setting of the gateway ({', '.join(PROVIDER_ENV)})")
        why = secret_value_problem(value)
        if why is not None:
            raise PlanError(f"{name} of the model gateway {why}, which cannot be passed to a container safely")
    offline = is_offline(dict(settings.providers))
    model: ModelPlan | None = None
    if settings.model_image is not None or settings.model_port is not None:
        if not offline:
            raise PlanError("the offline model is only for a gateway without a provider key or base URL")
        if settings.model_image is None or settings.model_port is None:
            raise PlanError("the offline model needs both an image and a port")
        _check_port(settings.model_port, "offline model's")
        model = ModelPlan(settings.model_image, settings.model_port)
    return GatewayPlan(
        listen_host=settings.listen_host,
        port=settings.port,
        token_file=files.gateway_token_file,
        env_file=files.gateway_env_file,
        client_env_file=files.gateway_client_env_file,
        providers=settings.providers,
        provider_source=settings.provider_source,
        model=model,
        ca_file=settings.ca_file,
    )
