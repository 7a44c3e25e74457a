"""The MCP proxy image ``ghcr.io/build-trust/mcp-proxy``, built locally.

``autonomy.yaml`` gives a pod an MCP server as a registry image::

    - name: brave
      image: ghcr.io/build-trust/mcp-proxy
      args: ["--sse-port", "8001", "--pass-environment", "--", "npx", "-y", "@modelcontextprotocol/server-brave-search"]

Nothing can be pulled from that registry here, so :func:`ensure_mcp_image` builds an
image of that name from ``templates/mcp-image``: an mmdebstrap'ed Debian trixie
(:mod:`.rootfs`, flavour ``mcp``: Python, Debian's ``nodejs`` and ``npm`` for ``npx``), a
venv at ``/opt/mcp-proxy`` with PyPI's ``mcp-proxy`` (the entrypoint, so ``args:`` are
its arguments) and ``uv`` (for ``uvx``). The entrypoint is a small launcher around
mcp-proxy that ends the log with one line saying what failed when the server cannot
start (a package that cannot be fetched, most often).

MCP servers are fetched when their container starts (``npx -y``, ``uvx``), so the image
carries this machine's package-index settings, as the -dev image does: pip's and uv's
index URLs and trusted hosts (:mod:`.pipindex`), npm's ``registry`` (:func:`npm_registry`)
and the CA bundle, appended to the image's own. They are written as configuration files
(``/etc/uv/uv.toml``, ``/etc/npmrc``, ``/etc/pip.conf``) because mcp-proxy gives the
server no environment without ``--pass-environment``. A URL loses any ``user:password@``;
no token of an npmrc travels.

The image carries ``computer.autonomy.base-hash`` = :func:`mcp_hash` (the template files,
the rootfs recipe, the index settings): while it matches, nothing is rebuilt. An image of
that name without the ``computer.autonomy.managed`` label (pulled from the real registry)
is used as it is.

Library code: raises :class:`~autonomy_cli.errors.ImageError`; progress goes to ``on_step``.
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import importlib.resources
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from .. import labels as L
from ..errors import ImageError
from ..names import MCP_IMAGE
from ._images import OnStep, build_in_memory, build_lock, explain, get_image, step
from .pipindex import IndexSettings, host_index_settings, strip_credentials
from .rootfs import offline_recipe, offline_rootfs

__all__ = [
    "MCP_IMAGE",
    "McpImageResult",
    "ensure_mcp_image",
    "host_npmrc_files",
    "mcp_build_files",
    "mcp_hash",
    "mcp_templates",
    "npm_registry",
    "npmrc",
    "uv_toml",
]

_LABELS_LINE = "# @MCP_LABELS@"
_SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


def mcp_templates() -> dict[str, bytes]:
    """The files of ``templates/mcp-image`` (package data): Dockerfile, launcher, requirements."""
    root = importlib.resources.files("autonomy_cli") / "templates" / "mcp-image"
    files: dict[str, bytes] = {}
    for name in ("Dockerfile", "mcp-proxy", "requirements.txt"):
        try:
            files[name] = (root / name).read_bytes()
        except OSError as e:
            raise ImageError(f"the MCP proxy image's {name} is missing: {root / name} ({e})") from None
    return files


# --- the host's npm registry ---------------------------------------------------------------


def host_npmrc_files(environ: Mapping[str, str], home: Path | None = None) -> list[Path]:
    """npm's config files on this host, lowest priority first (those that exist): the
    global ones, then the user's (``NPM_CONFIG_USERCONFIG`` or ``~/.npmrc``)."""
    home = home if home is not None else Path(environ.get("HOME") or Path.home())
    candidates = [Path("/etc/npmrc"), Path("/usr/etc/npmrc"), Path("/usr/local/etc/npmrc")]
    glob = environ.get("NPM_CONFIG_GLOBALCONFIG") or environ.get("npm_config_globalconfig")
    if glob:
        candidates.append(Path(glob))
    user = environ.get("NPM_CONFIG_USERCONFIG") or environ.get("npm_config_userconfig")
    candidates.append(Path(user) if user else home / ".npmrc")
    return [p for p in candidates if p.is_file()]


def npm_registry(environ: Mapping[str, str] | None = None, files: Sequence[Path] | None = None) -> tuple[str, bool]:
    """(npm's registry URL on this host, or "" for npm's default; True when credentials
    were stripped from it). Only the ``registry`` key is read: an npmrc's tokens
    (``//host/:_authToken=``) never leave the host."""
    env = os.environ if environ is None else environ
    found = ""
    for path in host_npmrc_files(env) if files is None else files:
        parser = configparser.RawConfigParser(strict=False, interpolation=None)
        try:
            parser.read_string("[npmrc]\n" + path.read_text(errors="replace"))
        except (configparser.Error, OSError):
            continue
        value = parser.get("npmrc", "registry", fallback="").strip().strip("\"'")
        if value and "${" not in value:
            found = value
    value = (env.get("NPM_CONFIG_REGISTRY") or env.get("npm_config_registry") or "").strip()
    if value:
        found = value
    return strip_credentials(found) if found else ("", False)


# --- the build context ---------------------------------------------------------------------


def _toml_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def uv_toml(index: IndexSettings) -> str:
    """``/etc/uv/uv.toml``: uv (``uvx``) uses the host's index, the system's CAs (with the
    host's bundle appended) and the image's Python (never downloads one)."""
    lines = ['python-downloads = "never"', 'python-preference = "only-system"']
    if index.ca_bundle is not None:
        lines.append("native-tls = true")
    if index.index_url:
        lines.append(f"index-url = {json.dumps(index.index_url)}")
    if index.extra_index_urls:
        lines.append(f"extra-index-url = {_toml_list(index.extra_index_urls)}")
    if index.trusted_hosts:
        lines.append(f"allow-insecure-host = {_toml_list(index.trusted_hosts)}")
    return "\n".join(lines) + "\n"


def npmrc(registry: str, ca: bool) -> str:
    """``/etc/npmrc`` (npm's global config in Debian): the host's registry and CA bundle."""
    lines = ["update-notifier=false", "fund=false", "audit=false"]
    if registry:
        lines.append(f"registry={registry}")
    if ca:
        lines.append(f"cafile={_SYSTEM_CA}")
    return "\n".join(lines) + "\n"


def mcp_build_files(
    templates: Mapping[str, bytes], index: IndexSettings, registry: str, labels: Mapping[str, str]
) -> dict[str, bytes]:
    """The build context: the Dockerfile with its LABEL line, the launcher, and ``index/``
    (requirements, pip.conf, uv.toml, npmrc, the CA bundle; no credentials)."""
    label = "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    text = templates["Dockerfile"].decode()
    text = "\n".join(label if line.startswith(_LABELS_LINE) else line for line in text.splitlines()) + "\n"
    files = {"Dockerfile": text.encode(), "mcp-proxy": templates["mcp-proxy"]}
    files.update(index.context_files())
    files["index/requirements.txt"] = templates["requirements.txt"]
    files["index/uv.toml"] = uv_toml(index).encode()
    files["index/npmrc"] = npmrc(registry, index.ca_bundle is not None).encode()
    return files


def mcp_hash(templates: Mapping[str, bytes], index: IndexSettings, registry: str) -> str:
    """Hash of what the image is made of (64 hex chars): rebuilt exactly when it changes."""
    h = hashlib.sha256(b"autonomy-mcp-image/1\0")
    files = mcp_build_files(templates, index, registry, {})
    for name in sorted(files):
        h.update(f"{name}\0{len(files[name])}\0".encode())
        h.update(files[name])
    h.update(json.dumps(offline_recipe("mcp"), sort_keys=True).encode())
    return h.hexdigest()


# --- the build --------------------------------------------------------------------------------


@dataclass(frozen=True)
class McpImageResult:
    """What :func:`ensure_mcp_image` did. ``way``: "cached" (ours, up to date), "present"
    (an image of that name not built here: used as it is) or "built"."""

    way: str
    image_id: str
    mcp_hash: str
    seconds: float = 0.0


def _tag_also(client: docker.DockerClient, image_id: str, tags: Iterable[str]) -> None:
    """Give the image the other tags a zone names it by (``mcp-proxy:v1`` ...)."""
    for ref in tags:
        if "@" in ref or ":" not in ref.rsplit("/", 1)[-1]:
            continue  # no tag (latest), or a digest: nothing to add
        repository, _, tag = ref.rpartition(":")
        if tag == "latest":
            continue
        try:
            client.api.tag(image_id, repository, tag)
        except docker.errors.APIError as e:
            raise ImageError(f"cannot tag the MCP proxy image as {ref}: {explain(e)}") from e


def ensure_mcp_image(
    client: docker.DockerClient, *, on_step: OnStep = None, force: bool = False, tags: Iterable[str] = ()
) -> McpImageResult:
    """Make sure ``ghcr.io/build-trust/mcp-proxy`` exists (see the module docstring);
    ``tags``: the references a zone uses (other tags than ``latest`` point at it too)."""
    started = time.monotonic()
    templates = mcp_templates()
    index = host_index_settings()
    registry, registry_stripped = npm_registry()
    want = mcp_hash(templates, index, registry)

    def present() -> McpImageResult | None:
        image = get_image(client, MCP_IMAGE)
        if image is None or force:
            return None
        labels = image.labels or {}
        if labels.get(L.MANAGED) != "true":
            step(on_step, f"MCP proxy image {MCP_IMAGE} is here (not built by autonomy): using it")
            return McpImageResult("present", image.id or "", "", time.monotonic() - started)
        if labels.get(L.BASE_HASH) == want:
            step(on_step, f"MCP proxy image {MCP_IMAGE} is up to date")
            return McpImageResult("cached", image.id or "", want, time.monotonic() - started)
        return None

    hit = present()
    if hit is not None:
        _tag_also(client, hit.image_id, tags)
        return hit
    with build_lock():
        hit = present()
        if hit is not None:
            _tag_also(client, hit.image_id, tags)
            return hit
        previous = get_image(client, MCP_IMAGE)
        step(on_step, f"building the MCP proxy image {MCP_IMAGE} ({'rebuilding' if previous else 'not built yet'})")
        for url in index.stripped:
            step(on_step, f"warning: the package index {url} carries credentials; the image uses it without them")
        if registry_stripped:
            step(on_step, "warning: npm's registry URL carries credentials; the image uses it without them")
        rootfs, _ = offline_rootfs(client, on_step, "mcp")
        labels = {L.MANAGED: "true", L.BASE_HASH: want, L.BASE_SOURCE: "offline"}
        image_id = build_in_memory(
            client,
            mcp_build_files(templates, index, registry, labels),
            tag=f"{MCP_IMAGE}:latest",
            buildargs={"ROOTFS": rootfs},
            labels={},
            what=f"the MCP proxy image {MCP_IMAGE}",
            target="mcp",
            on_line=(lambda line: step(on_step, line)) if on_step is not None else None,
        )
        if previous is not None and previous.id != image_id:
            with contextlib.suppress(docker.errors.APIError):
                if not client.images.get(previous.id).tags:
                    client.images.remove(previous.id)
        _tag_also(client, image_id, tags)
        seconds = time.monotonic() - started
        step(on_step, f"MCP proxy image {MCP_IMAGE} built in {seconds:.0f} s")
        return McpImageResult("built", image_id, want, seconds)
