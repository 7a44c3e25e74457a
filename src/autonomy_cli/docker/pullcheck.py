"""Every image a zone needs is here or can be pulled: checked before anything starts.

A Dockerfile ``FROM`` an image no registry gives (``cgr.dev/chainguard/node:latest`` on
a machine without a registry) would otherwise fail in the middle of a deploy, or hang
while the registry does not answer. :func:`check_images` looks first, in seconds, and
raises :class:`~autonomy_cli.errors.ImageUnavailable` (exit code 2) naming the image and
the Dockerfile (or the container of ``autonomy.yaml``) that wants it. Nothing of the zone
exists yet when it runs: no container, no network, no volume.

What is *not* pulled (:func:`needed_images` and :func:`check_images` decide):

* ``scratch``, and a stage named earlier in the same Dockerfile (``FROM x AS dev`` ...
  ``FROM dev``; Docker compares stage names without case);
* our own images (``ghcr.io/build-trust/autonomy-python`` and its variants such as
  ``-dev``; the MCP proxy ``ghcr.io/build-trust/mcp-proxy``, :mod:`.mcpimage`): the CLI
  builds them here before this check (:func:`mcp_refs` says which zones need the proxy);
* an image already on this machine, and an image built by this same deploy;
* a ``FROM`` that still holds a variable after the Dockerfile's global ``ARG`` defaults
  are put in (``ARG BASE=python:3.12`` then ``FROM ${BASE}`` is checked as
  ``python:3.12``; ``FROM ${UNSET}``) is left to Docker, which reports it itself.

A pull is bounded: the API socket gives up after :data:`PULL_SILENCE_TIMEOUT` s without
an answer, so a registry that drops every packet fails in seconds, not minutes.
"""

from __future__ import annotations

import re

import docker
import docker.errors

from ..errors import ImageUnavailable
from ..names import BASE_IMAGE, MCP_IMAGE
from ..plan import ZonePlan
from ._images import pull_bounded

__all__ = [
    "PULL_SILENCE_TIMEOUT",
    "check_images",
    "is_mcp_image",
    "is_ours",
    "mcp_refs",
    "needed_images",
    "pull_bounded",
]

PULL_SILENCE_TIMEOUT = 10.0
_VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"  # ${NAME} or ${NAME:-default}
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"  # $NAME
)


def _repository(ref: str) -> str:
    """``host:5000/a/b:tag@sha256:..`` -> ``host:5000/a/b``."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return ref[: len(ref) - len(last)] + last.split(":", 1)[0]


def is_mcp_image(ref: str) -> bool:
    """True for ``ghcr.io/build-trust/mcp-proxy`` under any tag."""
    return _repository(ref) == MCP_IMAGE


def is_ours(ref: str) -> bool:
    """True for the images the CLI builds here: the base image and its variants, and the
    MCP proxy."""
    repo = _repository(ref)
    return repo == BASE_IMAGE or repo.startswith(BASE_IMAGE + "-") or is_mcp_image(ref)


def _substitute(text: str, args: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group("braced") or m.group("bare")
        if name in args and args[name] != "":
            return args[name]
        if m.group("default") is not None:
            return m.group("default")
        return m.group(0)  # unknown: stays, and the line is left to Docker

    return _VAR.sub(one, text)


def needed_images(dockerfile: str) -> list[str]:
    """The images a Dockerfile is built FROM that must come from elsewhere, in order, each
    once: no ``scratch``, no earlier stage, no unresolved variable (see module doc)."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    seen_from = False
    found: list[str] = []
    for line in dockerfile.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        keyword = words[0].upper()
        if keyword == "ARG" and not seen_from:
            for word in words[1:]:  # global ARGs: only these reach FROM lines
                name, _, value = word.partition("=")
                args[name] = value.strip("\"'")
        if keyword != "FROM":
            continue
        seen_from = True
        rest = [w for w in words[1:] if not w.startswith("--")]
        if not rest:
            continue
        ref = _substitute(rest[0], args)
        skip = "$" in ref or ref.lower() == "scratch" or ref.lower() in stages
        if len(rest) >= 3 and rest[1].upper() == "AS":
            stages.add(rest[2].lower())
        if not skip and ref not in found:
            found.append(ref)
    return found


def _present(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.api.inspect_image(ref)
        return True
    except docker.errors.ImageNotFound:
        return False
    except docker.errors.DockerException:
        return False  # the pull then says what is wrong


def _wanted(plan: ZonePlan) -> list[tuple[str, str]]:
    """(image, who wants it) for every image of the plan that is not built here."""
    built = {b.tag for b in plan.builds}
    wants: list[tuple[str, str]] = []
    for b in plan.builds:
        dockerfile = b.context / "Dockerfile"
        try:
            text = dockerfile.read_text(errors="replace")
        except OSError:
            continue  # the build says what is wrong
        try:
            shown = str(dockerfile.relative_to(plan.project_dir))
        except ValueError:
            shown = str(dockerfile)
        wants += [(ref, shown) for ref in needed_images(text) if ref not in built]
    for node in plan.nodes():
        if node.build_context is None:
            wants.append((node.image, f"autonomy.yaml: pod {node.pod}, container {node.container}"))
    return wants


def mcp_refs(plan: ZonePlan) -> list[str]:
    """How ``plan`` names the MCP proxy image (as a container's image or a Dockerfile's
    ``FROM``), each once; empty when the zone does not use it."""
    found: list[str] = []
    for ref, _ in _wanted(plan):
        if is_mcp_image(ref) and ref not in found:
            found.append(ref)
    return found


def check_images(client: docker.DockerClient, plan: ZonePlan) -> list[str]:
    """Pull each image ``plan`` needs that is not here (the FROM images of ``plan.builds``,
    the registry images of its containers); returns those pulled. Raises
    ImageUnavailable for the first one that cannot be had."""
    pulled: list[str] = []
    done: set[str] = set()
    for ref, where in _wanted(plan):
        if ref in done or is_ours(ref):
            continue
        done.add(ref)
        if _present(client, ref):
            continue
        why = pull_bounded(client, ref, PULL_SILENCE_TIMEOUT)
        if why is not None:
            raise ImageUnavailable(ref, where, why)
        pulled.append(ref)
    return pulled
