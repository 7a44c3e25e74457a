"""A deploy's model gateway: its settings, decided from this machine and the zone's
running containers, and what the deploy says about it.

:func:`gateway_settings` picks what :func:`autonomy_cli.gateway.gateway_plan` needs:

* the provider settings (:func:`autonomy_cli.gateway.provider_settings`: the secrets file
  when it names any, else the environment ``autonomy`` runs in);
* the address to listen on, the default bridge network's gateway (``172.17.0.1``), and a
  free port there from :data:`GATEWAY_PORT_START`; a running gateway's own port is kept,
  so that a redeploy does not change every app container's environment;
* with no provider, the offline model: its image (built once, see
  :mod:`autonomy_cli.docker.model`) and a free port on 127.0.0.1 from
  :data:`MODEL_PORT_START`, kept in the same way;
* the host's CA bundle (:func:`autonomy_cli.docker.pipindex.host_ca_file`).

:func:`describe` is the deploy message: which backend serves which models, in the words
of the gateway's own routing (:mod:`autonomy.clusters.gateway.routing`, imported here
and nowhere else in the CLI), and for the offline model a plain caveat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

# the gateway's own words for its routes: the only place the CLI reaches into the gateway
from autonomy.clusters.gateway import routing

from .. import labels as L
from ..docker.containers import ContainerView
from ..docker.model import model_image_tag
from ..docker.pipindex import host_ca_file
from ..gateway import MODEL_PORT, PROVIDER_ENV, GatewayPlan, GatewaySettings, is_offline, provider_settings
from ..manifest import Manifest
from ..settings import CliSettings
from .engine import Engine

__all__ = [
    "DEFAULT_BRIDGE_GATEWAY",
    "GATEWAY_PORT_START",
    "MODEL_PORT_START",
    "OFFLINE_CAVEAT",
    "describe",
    "gateway_settings",
    "render_settings",
]

#: the first port tried for the gateway, on the bridge's gateway address
GATEWAY_PORT_START = 32300
#: the first port tried for the offline model, on 127.0.0.1 (past the public ports' span)
MODEL_PORT_START = 32400
#: Docker's usual default bridge gateway, for `zone render` (which asks no engine)
DEFAULT_BRIDGE_GATEWAY = "172.17.0.1"
OFFLINE_CAVEAT = (
    "the offline model is SmolLM2-135M-Instruct, a 135M-parameter model: its answers are for "
    "trying things out, not for real work. For a real model set OPENAI_API_KEY, ANTHROPIC_API_KEY "
    "or OPENAI_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) in the environment or in secrets.yaml"
)


def _current(existing: Iterable[ContainerView]) -> tuple[str, int | None]:
    """(the running gateway's ``listen`` label, the running offline model's host port)."""
    listen, model_port = "", None
    for c in existing:
        if c.role == L.Role.GATEWAY:
            listen = c.labels.listen
        elif c.role == L.Role.MODEL:
            model_port = c.published.get(MODEL_PORT)
    return listen, model_port


def _providers(manifest: Manifest, settings: CliSettings) -> tuple[dict[str, str], str]:
    return provider_settings(dict(settings.providers), manifest.secrets_named(PROVIDER_ENV))


def gateway_settings(
    manifest: Manifest,
    settings: CliSettings,
    engine: Engine,
    existing: Iterable[ContainerView],
    *,
    avoid: Iterable[int] = (),
    on_step: Callable[[str], None] | None = None,
    uses_models: bool = True,
) -> GatewaySettings:
    """The gateway's settings for a deploy (see the module docstring); builds the offline
    model's image when it is needed and not here yet. ``avoid``: host ports the zone
    publishes on 127.0.0.1 already (public pod, outlets). ``uses_models``: the zone's code
    makes models or agents (:func:`autonomy_cli.docker.kinds.uses_models`); without them
    the offline model is neither built nor started."""
    providers, source = _providers(manifest, settings)
    host = engine.gateway_host()
    listen, model_port = _current(existing)
    running_host, _, running_port = listen.rpartition(":")
    if running_host == host and running_port.isdigit():
        port = int(running_port)
    else:
        port = engine.free_port(GATEWAY_PORT_START, host)
    model_image: str | None = None
    if is_offline(providers) and settings.offline_model and uses_models:
        model_image = engine.ensure_model_image(settings.base_source, on_step)
        if model_port is None:
            model_port = engine.free_port(MODEL_PORT_START, "127.0.0.1", avoid)
    else:
        model_port = None
    return GatewaySettings(
        listen_host=host,
        port=port,
        providers=tuple(providers.items()),
        provider_source=source,
        model_image=model_image,
        model_port=model_port,
        ca_file=host_ca_file(),
    )


def render_settings(manifest: Manifest, settings: CliSettings, *, uses_models: bool = True) -> GatewaySettings:
    """What ``zone render`` shows (it asks no engine): the usual bridge address and the
    first ports deploy would try."""
    providers, source = _providers(manifest, settings)
    offline = is_offline(providers) and settings.offline_model and uses_models
    return GatewaySettings(
        listen_host=DEFAULT_BRIDGE_GATEWAY,
        port=GATEWAY_PORT_START,
        providers=tuple(providers.items()),
        provider_source=source,
        model_image=model_image_tag() if offline else None,
        model_port=MODEL_PORT_START if offline else None,
        ca_file=host_ca_file(),
    )


def describe(gw: GatewayPlan) -> list[str]:
    """The deploy's lines about the gateway: where apps reach it, where its providers
    came from, which backend serves which models, and the offline model's caveat.
    No key nor the token appears in them."""
    values = dict(gw.providers)
    config = routing.GatewayConfig(
        openai_api_key=values.get("OPENAI_API_KEY"),
        anthropic_api_key=values.get("ANTHROPIC_API_KEY"),
        openai_base_url=values.get("OPENAI_BASE_URL"),
        model=values.get("AUTONOMY_GATEWAY_MODEL"),
        offline_url=gw.model.url if gw.model is not None else None,
    )
    where = {"secrets": "the secrets file", "environment": "the environment"}.get(gw.provider_source)
    lines = [
        f"model gateway: {gw.url} for the zone's containers (listening on {gw.listen})"
        + (f"; providers from {where}" if where else "; no provider configured")
    ]
    lines += [f"  {line}" for line in routing.describe(config)]
    if gw.model is not None:
        lines.append(f"  note: {OFFLINE_CAVEAT}")
    return lines
