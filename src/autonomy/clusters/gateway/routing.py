"""Which backend serves a model name, and under which name: a pure function of the config.

The SDK names models as the Autonomy cloud does (``claude-sonnet-4-v1``, ``nova-pro-v1``,
``gpt-4o``, ``embed-english-v3`` ...). A local zone has whatever its developer has: an
Anthropic key, an OpenAI key, an OpenAI-compatible server (Ollama, llama.cpp, vLLM) at
``OPENAI_BASE_URL``, or nothing, in which case the zone's bundled offline model answers.
:func:`route` decides, for one requested name, where it goes; :func:`describe` says the
same in a few lines for ``zone deploy`` to print. Standard library only, and no
``os.environ``: the CLI imports this module and builds a :class:`GatewayConfig` itself.

Backends (each present only when configured):

=============  =====================================  ==============================
backend        base URL                               key sent as ``Bearer``
=============  =====================================  ==============================
anthropic      ``https://api.anthropic.com/v1``       ``ANTHROPIC_API_KEY``
openai         ``https://api.openai.com/v1``          ``OPENAI_API_KEY``
compatible     ``OPENAI_BASE_URL``                    ``OPENAI_API_KEY`` if set
offline        ``AUTONOMY_GATEWAY_OFFLINE_URL``       none
=============  =====================================  ==============================

``OPENAI_BASE_URL`` takes OpenAI's place, as it does for the ``openai`` library: with it
set, ``OPENAI_API_KEY`` is that server's key and is never sent to api.openai.com.

Precedence, for a chat model, first match wins:

1. ``claude-*`` -> Anthropic, ids mapped to Anthropic's own (:data:`CLAUDE_IDS`; other
   ``claude-*`` names pass as written);
2. ``gpt-*``, ``o1``/``o3``/``o4-*`` -> OpenAI, as written;
3. a name the compatible server lists in its ``/v1/models`` (exactly, or as Ollama's
   ``name:tag``) -> that server, under the listed id;
4. anything else (``nova-*``, ``deepseek-r1``, and names whose provider has no key) ->
   the best backend there is: Anthropic, then OpenAI (each with a model of the same size:
   names with ``haiku``, ``micro``, ``lite``, ``mini`` or ``nano`` get the small one),
   then the compatible server (``AUTONOMY_GATEWAY_MODEL``, else its first listed model),
   then the offline model.

Embeddings (``embed-english-v3``, ``text-embedding-3-*``, ``titan-embed``, any name with
``embed``): OpenAI (``text-embedding-3-*`` as written, others as
``text-embedding-3-small``), else the compatible server (a listed name, else a listed
name with ``embed`` in it, else as for chat), else the offline server. Anthropic has no
embeddings API. When no backend fits, :class:`NoBackend` says what to set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...errors import AutonomyError

__all__ = [
    "ANTHROPIC_URL",
    "CLAUDE_IDS",
    "OFFLINE_MODEL",
    "OPENAI_URL",
    "SDK_MODELS",
    "UNSUPPORTED_FIELDS",
    "Backend",
    "GatewayConfig",
    "NoBackend",
    "Route",
    "backends",
    "describe",
    "is_embedding",
    "route",
    "safe_url",
]

ANTHROPIC_URL = "https://api.anthropic.com/v1"
OPENAI_URL = "https://api.openai.com/v1"
#: the model the zone's offline server bundles
OFFLINE_MODEL = "SmolLM2-135M-Instruct"

#: the SDK's names for Anthropic's models -> the ids Anthropic's API serves them as. Claude
#: Sonnet 4 and Opus 4 (2025-05-14) retired on 2026-06-15 and Sonnet 4.5 in May 2026;
#: these are the replacements Anthropic's deprecation table recommends.
CLAUDE_IDS = {
    "claude-sonnet-4-v1": "claude-sonnet-4-6",
    "claude-sonnet-4": "claude-sonnet-4-6",
    "claude-sonnet-4-5": "claude-sonnet-4-6",
    "claude-sonnet-4-5-v1": "claude-sonnet-4-6",
    "claude-haiku-4-5": "claude-haiku-4-5",
    "claude-haiku-4-5-v1": "claude-haiku-4-5",
    "claude-opus-4": "claude-opus-4-8",
    "claude-opus-4-v1": "claude-opus-4-8",
}

#: request fields an upstream model refuses (HTTP 400) and the gateway leaves out: Opus
#: 4.7 and later take no sampling parameters
UNSUPPORTED_FIELDS = {
    "claude-opus-4-7": ("temperature", "top_p", "top_k"),
    "claude-opus-4-8": ("temperature", "top_p", "top_k"),
}

#: the model names SDK apps use (FIDELITY: "Agents and models")
SDK_MODELS = (
    "claude-sonnet-4-v1",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "claude-opus-4",
    "claude-opus-4-v1",
    "nova-micro-v1",
    "nova-lite-v1",
    "nova-pro-v1",
    "nova-premier-v1",
    "deepseek-r1",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o3",
    "o4-mini",
    "embed-english-v3",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "titan-embed",
)

# a model of the same size on a provider that does not have the requested one
_SUBSTITUTES = {
    "anthropic": ("claude-sonnet-4-6", "claude-haiku-4-5"),
    "openai": ("gpt-4.1", "gpt-4.1-mini"),
}
_OPENAI_EMBEDDING = "text-embedding-3-small"
_OPENAI_NAME = re.compile(r"^(gpt-|chatgpt-|o[1-9](-|$))")
_SMALL = re.compile(r"haiku|micro|lite|mini|nano")


class NoBackend(AutonomyError):
    """No configured backend can serve the requested model."""

    def __init__(self, model: str, hint: str) -> None:
        self.model = model
        super().__init__(f"no backend serves model {model!r}: {hint}")


@dataclass(frozen=True)
class GatewayConfig:
    """What the gateway was given. ``repr`` shows which keys are set, never a key, the
    token, or a password in a URL."""

    token: str = field(default="", repr=False)
    openai_api_key: str | None = field(default=None, repr=False)
    anthropic_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    model: str | None = None
    offline_url: str | None = None
    ca_file: str | None = None

    def __repr__(self) -> str:
        have = [name for name in ("openai_api_key", "anthropic_api_key") if getattr(self, name)]
        url = safe_url(self.openai_base_url) if self.openai_base_url else None
        return (
            f"GatewayConfig(keys={have}, openai_base_url={url!r}, model={self.model!r}, "
            f"offline_url={self.offline_url!r}, ca_file={self.ca_file!r})"
        )


@dataclass(frozen=True)
class Backend:
    """Where requests go: ``name`` is one of anthropic, openai, compatible, offline."""

    name: str
    base_url: str
    #: the environment variable whose value is sent as the bearer key (None: no key)
    key_var: str | None
    label: str


@dataclass(frozen=True)
class Route:
    """``model`` (as requested) goes to ``backend`` as ``upstream``. ``how``: ``native``
    (the provider's own model), ``listed`` (the server lists it) or ``substitute``."""

    model: str
    backend: Backend
    upstream: str
    how: str


def backends(config: GatewayConfig) -> dict[str, Backend]:
    """The configured backends by name, in order of preference."""
    out: dict[str, Backend] = {}
    if config.anthropic_api_key:
        out["anthropic"] = Backend("anthropic", ANTHROPIC_URL, "ANTHROPIC_API_KEY", "Anthropic (ANTHROPIC_API_KEY)")
    if config.openai_base_url:
        key = "OPENAI_API_KEY" if config.openai_api_key else None
        url = config.openai_base_url.rstrip("/")
        out["compatible"] = Backend("compatible", url, key, f"the OpenAI-compatible server at {safe_url(url)}")
    elif config.openai_api_key:
        out["openai"] = Backend("openai", OPENAI_URL, "OPENAI_API_KEY", "OpenAI (OPENAI_API_KEY)")
    if config.offline_url:
        label = f"bundled offline model {OFFLINE_MODEL}: answers are for trying things out"
        out["offline"] = Backend("offline", config.offline_url.rstrip("/"), None, label)
    return out


def is_embedding(model: str) -> bool:
    return "embed" in model


def route(config: GatewayConfig, model: str, listed: tuple[str, ...] | None = None) -> Route:
    """Where ``model`` goes. ``listed``: the ids the compatible (or offline) server lists
    in its ``/v1/models``, None when not known. Raises :class:`NoBackend`."""
    have = backends(config)
    if is_embedding(model):
        return _embedding(config, have, model, listed)
    if model.startswith("claude-") and "anthropic" in have:
        return Route(model, have["anthropic"], CLAUDE_IDS.get(model, model), "native")
    if _OPENAI_NAME.match(model) and "openai" in have:
        return Route(model, have["openai"], model, "native")
    local = have.get("compatible")
    found = _listed(model, listed)
    if local is not None and found is not None:
        return Route(model, local, found, "listed")
    small = 1 if _SMALL.search(model) else 0
    for name in ("anthropic", "openai"):
        if name in have:
            return Route(model, have[name], _SUBSTITUTES[name][small], "substitute")
    if local is not None:
        return Route(model, local, config.model or (listed[0] if listed else model), "substitute")
    if "offline" in have:
        return Route(model, have["offline"], listed[0] if listed else OFFLINE_MODEL, "substitute")
    raise NoBackend(model, "set ANTHROPIC_API_KEY, OPENAI_API_KEY or OPENAI_BASE_URL")


def _embedding(config: GatewayConfig, have: dict[str, Backend], model: str, listed: tuple[str, ...] | None) -> Route:
    if "openai" in have:
        native = model.startswith("text-embedding-")
        upstream, how = (model, "native") if native else (_OPENAI_EMBEDDING, "substitute")
        return Route(model, have["openai"], upstream, how)
    local = have.get("compatible") or have.get("offline")
    if local is None:
        raise NoBackend(model, "Anthropic has no embeddings; set OPENAI_API_KEY or OPENAI_BASE_URL")
    found = _listed(model, listed)
    if found is not None:
        return Route(model, local, found, "listed")
    embedders = [m for m in listed or () if "embed" in m]
    if embedders:
        return Route(model, local, embedders[0], "substitute")
    if local.name == "compatible":
        return Route(model, local, config.model or (listed[0] if listed else model), "substitute")
    return Route(model, local, listed[0] if listed else OFFLINE_MODEL, "substitute")


def _listed(model: str, listed: tuple[str, ...] | None) -> str | None:
    """The listed id for ``model``: itself, else Ollama's ``model:latest``, else ``model:<tag>``."""
    ids = listed or ()
    if model in ids:
        return model
    if f"{model}:latest" in ids:
        return f"{model}:latest"
    return next((m for m in ids if m.startswith(f"{model}:")), None)


def safe_url(url: str) -> str:
    """``url`` without a ``user:password@`` part."""
    scheme, sep, rest = url.partition("://")
    host, at, path = rest.partition("@")
    if at and "/" not in host:
        return f"{scheme}{sep}{path}"
    return url


_FAMILIES = (
    ("claude-*", "claude-sonnet-4-5"),
    ("gpt-*, o3, o4-mini", "gpt-4o"),
    ("nova-*, deepseek-r1", "nova-pro-v1"),
    ("embeddings", "text-embedding-3-small"),
)


def _target(config: GatewayConfig, r: Route) -> str:
    if r.backend.name == "offline":
        return r.backend.label
    if r.backend.name == "compatible":
        other = f"AUTONOMY_GATEWAY_MODEL {config.model}" if config.model else "its first listed model"
        return f"{r.backend.label} (OPENAI_BASE_URL): the names it lists, others as {other}"
    if r.how == "native":
        return r.backend.label
    if is_embedding(r.model):
        return f"{r.backend.label} as {r.upstream}"
    big, small = _SUBSTITUTES[r.backend.name]
    return f"{r.backend.label} as {big} (small ones as {small})"


def describe(config: GatewayConfig) -> list[str]:
    """Human lines saying which backend serves which models, for the deploy message:
    ``claude-* -> Anthropic (ANTHROPIC_API_KEY)``. No key or token appears in them."""
    lines: list[tuple[str, str]] = []
    for family, example in _FAMILIES:
        try:
            target = _target(config, route(config, example))
        except NoBackend as e:
            target = f"nothing ({str(e).split(': ', 1)[1]})"
        if lines and lines[-1][1] == target:
            lines[-1] = (f"{lines[-1][0]}, {family}", target)
        else:
            lines.append((family, target))
    if len(lines) == 1:
        return [f"everything -> {lines[0][1]}"]
    return [f"{family} -> {target}" for family, target in lines]
