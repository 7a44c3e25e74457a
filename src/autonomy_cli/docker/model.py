"""The offline model's image, ``autonomy-local/smollm2:<hash>``, built once and kept.

A zone whose model gateway has no provider (no key, no ``OPENAI_BASE_URL``) runs
SmolLM2-135M-Instruct on llama.cpp's OpenAI-compatible server
(``templates/model-image/Dockerfile``). Building it compiles llama.cpp (minutes on a
laptop), so the image is tagged with a hash of its Dockerfile (:func:`model_image_tag`),
whose versions are pinned: while a tag exists, nothing is built. The build runs on the
``-dev`` image (built first if needed: :func:`~.image.ensure_dev_image`), whose pip uses
this machine's package index settings and CA bundle, without credentials.

Library code: raises :class:`~autonomy_cli.errors.ImageError`; progress goes to
``on_step``.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import time
from dataclasses import dataclass

import docker

from .. import labels as L
from ..errors import ImageError
from ._images import OnStep, build_in_memory, get_image, step
from .image import Source, ensure_dev_image

__all__ = ["MODEL_REPOSITORY", "ModelImageResult", "ensure_model_image", "model_dockerfile", "model_image_tag"]

MODEL_REPOSITORY = "autonomy-local/smollm2"
_LABELS_LINE = "# @MODEL_LABELS@"


def model_dockerfile() -> bytes:
    """The model image's Dockerfile (package data)."""
    path = importlib.resources.files("autonomy_cli") / "templates" / "model-image" / "Dockerfile"
    try:
        return path.read_bytes()
    except OSError as e:
        raise ImageError(f"the offline model's Dockerfile is missing: {path} ({e})") from None


def _hash(dockerfile: bytes) -> str:
    return hashlib.sha256(b"autonomy-model-image/1\0" + dockerfile).hexdigest()


def model_image_tag(dockerfile: bytes | None = None) -> str:
    """``autonomy-local/smollm2:<16 hex>``: the tag of the image this Dockerfile makes."""
    return f"{MODEL_REPOSITORY}:{_hash(dockerfile if dockerfile is not None else model_dockerfile())[:16]}"


@dataclass(frozen=True)
class ModelImageResult:
    """``tag``: the image to run; ``built``: False when it was already here."""

    tag: str
    built: bool
    seconds: float = 0.0


def ensure_model_image(
    client: docker.DockerClient, *, on_step: OnStep = None, source: Source = "auto"
) -> ModelImageResult:
    """Make sure the offline model's image exists; build it (and the -dev image it needs)
    when it does not. ``source``: how the base images get their root filesystem."""
    started = time.monotonic()
    dockerfile = model_dockerfile()
    tag = model_image_tag(dockerfile)
    if get_image(client, tag) is not None:
        step(on_step, f"offline model image {tag} is here")
        return ModelImageResult(tag, built=False)
    step(on_step, f"building the offline model image {tag} (once; compiling llama.cpp takes minutes)")
    ensure_dev_image(client, on_step=on_step, source=source)
    labels = {L.MANAGED: "true", L.BASE_HASH: _hash(dockerfile)}
    line = "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    text = "\n".join(line if x.startswith(_LABELS_LINE) else x for x in dockerfile.decode().splitlines()) + "\n"
    build_in_memory(
        client,
        {"Dockerfile": text.encode()},
        tag=tag,
        buildargs={},
        labels={},
        what=f"the offline model image {tag}",
        on_line=(lambda s: step(on_step, s)) if on_step is not None else None,
    )
    seconds = time.monotonic() - started
    step(on_step, f"offline model image {tag} built in {seconds:.0f} s")
    return ModelImageResult(tag, built=True, seconds=seconds)
