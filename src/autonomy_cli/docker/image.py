"""The base images ``ghcr.io/build-trust/autonomy-python`` and ``...-python-dev``, built locally.

User Dockerfiles say ``FROM ghcr.io/build-trust/autonomy-python`` (and, to add
requirements, ``FROM ...-python-dev AS dev``). Nothing can be pulled from that registry,
so :func:`ensure_base_image` and :func:`ensure_dev_image` build images with exactly those
names from ``templates/base-image/Dockerfile`` (targets ``base`` and ``dev``): a root
filesystem ("rootfs", :mod:`.rootfs`) with Python 3.13, a venv at ``/app/venv`` that sees
the system's packages (Debian's fastapi, uvicorn, openai, pyzmq, ... or, online, all from
PyPI; anthropic from PyPI), and the ``autonomy`` runtime from the ``autonomy`` package.
The -dev image adds pip and uv in the venv, bash, a C toolchain, a user ``nonroot`` and
the host's package-index settings (:mod:`.pipindex`). Two ways to get the rootfs, chosen
automatically: online (``python:3.13-slim``, local or pulled within seconds) or offline
(mmdebstrap, Debian trixie).

The rootfs images are cached under ``autonomy-local/rootfs:<prefix>-<hash of the
recipe>``, so a change of the runtime only redoes the last, quick steps. Each image
carries the label ``computer.autonomy.base-hash``: :func:`runtime_hash` for the base,
:func:`dev_hash` for -dev; while it matches, nothing is rebuilt ("cached").

Library code: raises :class:`ImageError` (a :class:`~autonomy_cli.errors.CliError`), never
prints; progress goes to the optional ``onstep(str)`` callback.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import docker.errors

from .. import labels as L
from ..errors import ImageError
from ..names import BASE_DEV_IMAGE, BASE_IMAGE
from ._images import OnStep, build_in_memory, build_lock, get_image, step, templates_dir
from .pipindex import IndexSettings, host_index_settings
from .rootfs import (
    DEBIAN_SITE_PACKAGES,
    MMDEBSTRAP_APT_LINE,
    ONLINE_PYTHON_IMAGE,
    ONLINE_SITE_PACKAGES,
    offline_recipe,
    offline_rootfs,
    online_python_image,
    online_rootfs,
    rootfs_tag,
)

__all__ = [
    "BASE_DEV_IMAGE",
    "BASE_IMAGE",
    "BaseImageResult",
    "ImageError",
    "MMDEBSTRAP_APT_LINE",
    "base_build_files",
    "dev_hash",
    "ensure_base_image",
    "ensure_dev_image",
    "runtime_hash",
]

Way = Literal["cached", "online", "offline"]
Source = Literal["auto", "online", "offline"]


@dataclass(frozen=True)
class BaseImageResult:
    """What :func:`ensure_base_image` (or :func:`ensure_dev_image`) did.

    ``way``: "cached" (nothing built), "online" or "offline" (how the rootfs under a
    freshly built image was obtained). ``source``: how the image in use was built
    ("online"/"offline"; for a cached image, read from its label, may be "").
    ``rootfs``: the rootfs image it was built on (``None`` when cached);
    ``rootfs_cached``: that rootfs already existed. ``name``: the image's name.
    """

    way: Way
    image_id: str
    base_hash: str
    source: str
    rootfs: str | None = None
    rootfs_cached: bool = False
    seconds: float = 0.0
    name: str = BASE_IMAGE

    @property
    def tag(self) -> str:
        return self.name


# --- where things are ---------------------------------------------------------------


def runtime_dir() -> Path:
    """The sources of the ``autonomy`` runtime package that goes into the image."""
    found = Path(str(importlib.resources.files("autonomy")))
    if not (found / "__init__.py").is_file():
        raise ImageError(f"the autonomy runtime package is missing: {found / '__init__.py'} not found")
    return found


def _source_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative posix path, path) of the files under root, sorted; no bytecode."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith((".pyc", ".pyo")) or name.startswith("."):
                continue
            path = Path(dirpath) / name
            yield path.relative_to(root).as_posix(), path


# --- hashes ----------------------------------------------------------------------------


def _snapshot() -> dict[str, bytes]:
    """The files the base image is made of, read once: ``runtime/<rel>`` and
    ``templates/<rel>``. The hash and the build context come from the same bytes, so an
    edit during a build cannot leave an image labelled with a hash it does not match."""
    files: dict[str, bytes] = {}
    for section, root in (("runtime", runtime_dir()), ("templates", templates_dir())):
        for rel, path in _source_files(root):
            files[f"{section}/{rel}"] = path.read_bytes()
    return files


def _hash_snapshot(files: dict[str, bytes]) -> str:
    h = hashlib.sha256(b"autonomy-base-image/2\0")
    for name in sorted(files):
        data = files[name]
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    h.update(json.dumps(offline_recipe("base"), sort_keys=True).encode())
    h.update(ONLINE_PYTHON_IMAGE.encode())
    return h.hexdigest()


def runtime_hash() -> str:
    """Hash of what the base image is made of: the runtime package's sources, the files
    of ``templates/base-image`` and the rootfs recipes. The base image is rebuilt exactly
    when this changes (the host's index settings only reach its builder stages: a new
    proxy CA does not rebuild it). 64 hex chars."""
    return _hash_snapshot(_snapshot())


def dev_hash(base_hash: str, index: IndexSettings) -> str:
    """Hash of the -dev image: the base's, the -dev rootfs recipe and the index settings
    it carries (so a new CA bundle or index URL rebuilds it). 64 hex chars."""
    h = hashlib.sha256(f"autonomy-dev-image/1\0{base_hash}\0{index.fingerprint()}\0".encode())
    h.update(json.dumps(offline_recipe("dev"), sort_keys=True).encode())
    return h.hexdigest()


# --- the build context ---------------------------------------------------------------------


def _env_line(env: dict[str, str]) -> str:
    return "ENV " + " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(env.items()))


def _label_line(labels: dict[str, str]) -> str:
    # One LABEL instruction (the build API's `labels` costs one step, ~1 s, per label).
    return "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())


def base_build_files(
    snapshot: dict[str, bytes], index: IndexSettings, base_labels: dict[str, str], dev_labels: dict[str, str]
) -> dict[str, bytes]:
    """The build context of both images: the Dockerfile with its placeholders filled in
    (the LABEL of each image; the -dev image's index ENV), the requirement files, the
    runtime as ``autonomy/`` and ``index/`` (pip.conf, CA bundle: no credentials)."""
    text = snapshot["templates/Dockerfile"].decode()
    dev_lines = [_env_line(index.env()), _label_line(dev_labels)] if dev_labels else []
    out = []
    for line in text.splitlines():
        if line.startswith("# @BASE_LABELS@"):
            line = _label_line(base_labels)
        elif line.startswith("# @DEV_LINES@"):
            line = "\n".join(dev_lines)
        out.append(line)
    files = {"Dockerfile": ("\n".join(out) + "\n").encode()}
    for name, data in snapshot.items():
        if name.startswith("runtime/"):
            files["autonomy/" + name[len("runtime/") :]] = data
        elif name.startswith("templates/requirements-"):
            files["index/" + name[len("templates/") :]] = data
    files.update(index.context_files())
    return files


# --- small docker helpers ----------------------------------------------------------------


def _remove_if_dangling(client: docker.DockerClient, image_id: str | None, keep: str) -> None:
    """Remove the previous image once nothing refers to it (best effort)."""
    if not image_id or image_id == keep:
        return
    with contextlib.suppress(docker.errors.APIError):
        old = client.images.get(image_id)
        if not old.tags:
            client.images.remove(image_id, force=False, noprune=False)


def _cached(client: docker.DockerClient, name: str, want: str, started: float) -> BaseImageResult | None:
    image = get_image(client, name)
    labels = (image.labels if image is not None else {}) or {}
    if image is None or labels.get(L.BASE_HASH) != want:
        return None
    source = labels.get(L.BASE_SOURCE, "")
    return BaseImageResult("cached", image.id, want, source, seconds=time.monotonic() - started, name=name)


# --- the builds ----------------------------------------------------------------------------


def _base_labels(image_hash: str, way: str) -> dict[str, str]:
    return {L.MANAGED: "true", L.BASE_HASH: image_hash, L.BASE_SOURCE: way}


def _build(
    client: docker.DockerClient,
    target: Literal["base", "dev"],
    way: str,
    snapshot: dict[str, bytes],
    labels: tuple[dict[str, str], dict[str, str]],
    dev_rootfs: str | None = None,
    on_step: OnStep = None,
) -> str:
    """docker build of ``target``; ``labels``: those of the base and of the -dev image
    (a -dev build goes through the base stage: the same labels reuse its cached layers)."""
    index = host_index_settings()
    for url in index.stripped:
        step(on_step, f"warning: the package index {url} carries credentials; the image build uses it without them")
    files = base_build_files(snapshot, index, *labels)
    rootfs = rootfs_tag(way)
    name = BASE_IMAGE if target == "base" else BASE_DEV_IMAGE
    return build_in_memory(
        client,
        files,
        tag=f"{name}:latest",
        buildargs={
            "ROOTFS": rootfs,
            "DEV_ROOTFS": dev_rootfs or rootfs,
            "SITE_PACKAGES": ONLINE_SITE_PACKAGES if way == "online" else DEBIAN_SITE_PACKAGES,
            "REQUIREMENTS": way,
        },
        labels={},
        what=f"the image {name}",
        target=target,
        on_line=(lambda line: step(on_step, line)) if on_step is not None else None,
    )


def _base_rootfs(client: docker.DockerClient, source: Source, on_step: OnStep) -> tuple[Way, str, bool]:
    """(way, rootfs tag, was cached): a cached rootfs first (auto), then online, then offline."""
    if source == "auto":
        for kind in ("online", "offline"):
            tag = rootfs_tag(kind)
            if get_image(client, tag) is not None:
                step(on_step, f"root filesystem {tag} is cached ({kind})")
                return ("online" if kind == "online" else "offline"), tag, True
    online_error: str | None = None
    if source in ("auto", "online"):
        online_error = online_python_image(client, on_step)
        if online_error is None:
            return "online", ONLINE_PYTHON_IMAGE, False
        if source == "online":
            raise ImageError(f"cannot get {ONLINE_PYTHON_IMAGE}: {online_error}")
        step(on_step, f"online did not work ({online_error.splitlines()[0]}); going offline")
    try:
        tag, was_cached = offline_rootfs(client, on_step)
    except ImageError as e:
        if online_error is not None:
            raise ImageError(f"{e}\n(online: {online_error.splitlines()[0]})") from e
        raise
    return "offline", tag, was_cached


def ensure_base_image(
    client: docker.DockerClient,
    *,
    on_step: OnStep = None,
    force: bool = False,
    source: Source = "auto",
) -> BaseImageResult:
    """Make sure ``ghcr.io/build-trust/autonomy-python`` exists with the current runtime.

    Cached when the image's ``computer.autonomy.base-hash`` label equals
    :func:`runtime_hash` (unless ``force``). Otherwise builds it on a rootfs obtained
    "online" (python:3.13-slim, local or pulled within seconds) or "offline"
    (mmdebstrap); ``source="auto"`` reuses a cached rootfs first, then tries online,
    then offline. ``force`` rebuilds the base image (not the cached rootfs).
    """
    if source not in ("auto", "online", "offline"):
        raise ValueError(f"source must be auto, online or offline, not {source!r}")
    started = time.monotonic()
    snapshot = _snapshot()
    base_hash = _hash_snapshot(snapshot)

    def cached() -> BaseImageResult | None:
        return None if force else _cached(client, BASE_IMAGE, base_hash, started)

    hit = cached()
    if hit is not None:
        step(on_step, f"base image {BASE_IMAGE} is up to date")
        return hit

    with build_lock():
        hit = cached()  # someone else may have built it while we waited
        if hit is not None:
            step(on_step, f"base image {BASE_IMAGE} is up to date")
            return hit
        previous = get_image(client, BASE_IMAGE)
        why = "forced" if force else ("the runtime changed" if previous is not None else "not built yet")
        step(on_step, f"building the base image {BASE_IMAGE} ({why})")
        way, rootfs, rootfs_cached = _base_rootfs(client, source, on_step)
        step(on_step, f"docker build {BASE_IMAGE} on {rootfs}")
        image_id = _build(client, "base", way, snapshot, (_base_labels(base_hash, way), {}), on_step=on_step)
        _remove_if_dangling(client, previous.id if previous is not None else None, image_id)
        seconds = time.monotonic() - started
        step(on_step, f"base image {BASE_IMAGE} built ({way}) in {seconds:.0f} s")
        return BaseImageResult(way, image_id, base_hash, way, rootfs, rootfs_cached, seconds)


def ensure_dev_image(
    client: docker.DockerClient, *, on_step: OnStep = None, source: Source = "auto"
) -> BaseImageResult:
    """Make sure ``ghcr.io/build-trust/autonomy-python-dev`` exists, matching the base image.

    Ensures the base image first (``source`` as for :func:`ensure_base_image`), then
    builds -dev the same way (online/offline) as the base in use, so the venv a project
    builds in -dev runs in the base. Cached while its label equals :func:`dev_hash`.
    """
    base = ensure_base_image(client, on_step=on_step, source=source)
    started = time.monotonic()
    snapshot = _snapshot()
    want = dev_hash(base.base_hash, host_index_settings())
    hit = _cached(client, BASE_DEV_IMAGE, want, started)
    if hit is not None:
        step(on_step, f"image {BASE_DEV_IMAGE} is up to date")
        return hit
    with build_lock():
        hit = _cached(client, BASE_DEV_IMAGE, want, started)
        if hit is not None:
            return hit
        previous = get_image(client, BASE_DEV_IMAGE)
        way: Way = "online" if base.source == "online" else "offline"
        step(on_step, f"building the image {BASE_DEV_IMAGE} ({way})")
        if way == "offline":
            rootfs, rootfs_cached = offline_rootfs(client, on_step, "dev")
            offline_rootfs(client, on_step, "base")  # the venv's builder
        else:
            rootfs, rootfs_cached = online_rootfs(client, on_step, "dev")
        labels = (_base_labels(base.base_hash, way), _base_labels(want, way))
        image_id = _build(client, "dev", way, snapshot, labels, dev_rootfs=rootfs, on_step=on_step)
        _remove_if_dangling(client, previous.id if previous is not None else None, image_id)
        seconds = time.monotonic() - started
        step(on_step, f"image {BASE_DEV_IMAGE} built ({way}) in {seconds:.0f} s")
        return BaseImageResult(way, image_id, want, way, rootfs, rootfs_cached, seconds, name=BASE_DEV_IMAGE)
