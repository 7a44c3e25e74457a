"""The project's images: built from ``images/<image>``, skipped when nothing they depend on changed.

An image is not sent to Docker again when its tag already carries the digest of what
would be built (the context's files after ``.dockerignore``, the ids of the images it is
FROM, its labels) in its ``context`` label: Docker's build cache would answer the same,
only slower. ``no_cache`` (``zone deploy --no-cache``) sends every image, built without
Docker's layer cache.

A Dockerfile that names ``ghcr.io/build-trust/autonomy-python-dev`` (the first stage of
the SDK's pattern for adding requirements) gets that image built first
(:func:`~.image.ensure_dev_image`); the base image is the caller's (deploy ensures it).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors

from .. import labels as L
from ..errors import BuildError, EngineError
from ..names import BASE_DEV_IMAGE
from ..plan import ZonePlan
from .dockerfile import from_lines, labelled_dockerfile, names_dev_image
from .image import ensure_dev_image

__all__ = ["build_images", "context_files", "image_attrs", "image_id"]


def context_files(context: Path) -> bytes:
    """A digest of the files Docker would be sent for ``context`` (.dockerignore applied)."""
    import docker.utils.build as dbuild

    exclude: list[str] = []
    ignore = context / ".dockerignore"
    if ignore.exists():
        exclude = [
            ln.strip() for ln in ignore.read_text().splitlines() if ln.strip() and not ln.strip().startswith("#")
        ]
    h = hashlib.sha256()
    for rel in sorted(dbuild.exclude_paths(str(context), exclude, dockerfile="Dockerfile")):
        path = context / rel
        st = path.lstat()
        h.update(rel.encode(errors="surrogateescape") + b"\0" + oct(st.st_mode).encode() + b"\0")
        if path.is_symlink():
            h.update(os.readlink(path).encode(errors="surrogateescape"))
        elif path.is_file():
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        h.update(b"\0")
    return h.digest()


def build_images(
    client: docker.DockerClient,
    plan: ZonePlan,
    on_line: Callable[[str, str], None] | None = None,
    *,
    no_cache: bool = False,
) -> dict[str, str]:
    """Build each local image of the zone; returns tag -> image id.

    An image is not sent to Docker again when its tag already carries the digest of
    what would be built (the context's files, the ids of the images it is FROM, its
    labels): Docker's build cache would answer the same, only slower. ``no_cache``:
    build each one again, without the layer cache. Progress of the -dev image's build
    comes to ``on_line`` under that image's name.
    """
    ids: dict[str, str] = {}
    if any(names_dev_image(b.context) for b in plan.builds):
        report = (lambda text: on_line(BASE_DEV_IMAGE, text)) if on_line is not None else None
        ensure_dev_image(client, on_step=report)
    for b in plan.builds:
        lines: list[str] = []
        labels = {L.CLUSTER: plan.cluster, L.ZONE: plan.zone, L.IMAGE: b.tag}
        digest = _context_digest(client, b.context, labels)
        if digest is not None:
            current = None if no_cache else image_attrs(client, b.tag)
            if current is not None and (current.get("Config") or {}).get("Labels", {}).get(L.CONTEXT) == digest:
                ids[b.tag] = current["Id"]
                if on_line is not None:
                    on_line(b.tag, "up to date (same context, same base)")
                continue
            labels[L.CONTEXT] = digest
        try:
            with tempfile.TemporaryDirectory(prefix="autonomy-build-") as tmp:
                # the labels go on as one LABEL instruction appended to the user's
                # Dockerfile (sent beside the context, which is left as it is): the
                # API's `labels` would add one build step, one container, per label
                dockerfile = labelled_dockerfile(b.context, labels, Path(tmp))
                stream = client.api.build(
                    path=str(b.context),
                    dockerfile=str(dockerfile) if dockerfile is not None else None,
                    tag=b.tag,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    nocache=no_cache,
                    labels=labels if dockerfile is None else None,
                )
                for chunk in stream:
                    if "error" in chunk:
                        lines.append(str(chunk["error"]).rstrip())
                        raise BuildError(b.tag, str(b.context), lines)
                    text = str(chunk.get("stream", "")).rstrip()
                    for line in text.splitlines():
                        if line.strip():
                            lines.append(line)
                            if on_line is not None:
                                on_line(b.tag, line)
        except docker.errors.APIError as e:
            raise BuildError(b.tag, str(b.context), [*lines, str(e.explanation or e)]) from None
        ids[b.tag] = client.images.get(b.tag).id
    return ids


def image_attrs(client: docker.DockerClient, ref: str) -> dict[str, Any] | None:
    try:
        attrs: dict[str, Any] = client.api.inspect_image(ref)
        return attrs
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.DockerException as e:
        raise EngineError(f"cannot read image {ref}: {e}") from None


def _context_digest(client: docker.DockerClient, context: Path, labels: dict[str, str]) -> str | None:
    """What a build of ``context`` depends on, hashed; None when that cannot be known
    (a FROM image that is not here, or named through a build argument)."""
    try:
        text = (context / "Dockerfile").read_text()
    except OSError:
        return None
    parents: list[str] = []
    stages: set[str] = set()
    for ref, alias in from_lines(text):
        if "$" in ref:
            return None
        if ref.lower() != "scratch" and ref not in stages:
            attrs = image_attrs(client, ref)
            if attrs is None:
                return None
            parents.append(f"{ref}={attrs['Id']}")
        if alias:
            stages.add(alias)
    try:
        files = context_files(context)
    except OSError:
        return None
    h = hashlib.sha256()
    for item in (*parents, *(f"{k}={v}" for k, v in sorted(labels.items()))):
        h.update(item.encode() + b"\0")
    h.update(files)
    return h.hexdigest()


def image_id(client: docker.DockerClient, tag: str) -> str | None:
    """The id of the image ``tag``, None when there is none."""
    attrs = image_attrs(client, tag)
    return str(attrs["Id"]) if attrs is not None else None
