"""The base image ``ghcr.io/build-trust/autonomy-python``, built locally.

User Dockerfiles say ``FROM ghcr.io/build-trust/autonomy-python``. Nothing can be pulled
from that registry, so :func:`ensure_base_image` builds an image with exactly that name
from ``templates/base-image/Dockerfile``: a Python root filesystem ("rootfs") with pyzmq
(CURVE), PyNaCl, cloudpickle and PyYAML, plus the ``autonomy`` runtime from
the ``autonomy`` package. Two ways to get the rootfs, chosen automatically:

* **online**: ``python:3.11-slim`` (present locally, or pulled if a registry answers
  quickly) plus the dependencies from PyPI (``templates/base-image/rootfs-online.Dockerfile``);
* **offline**: ``mmdebstrap`` builds a small Debian bookworm with the Debian packages of
  the dependencies (about 20 s) from the apt mirror this machine uses; ``docker import``.

Both rootfs images are cached under ``autonomy-local/rootfs:<kind>-<hash of the recipe>``,
so a change of the runtime only redoes the last, quick step. The base image carries the
label ``computer.autonomy.base-hash`` = :func:`runtime_hash`; while it matches, nothing is
rebuilt ("cached").

Library code: raises :class:`ImageError` (a :class:`~autonomy_cli.errors.CliError`), never
prints; progress goes to the optional ``onstep(str)`` callback.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import docker.errors

from .. import labels as L
from ..errors import ImageError
from ..names import BASE_IMAGE
from ._images import OnStep, build_in_memory, get_image, step, templates_dir
from .rootfs import (
    DEBIAN_SITE_PACKAGES,
    MMDEBSTRAP_APT_LINE,
    ONLINE_PYTHON_IMAGE,
    offline_recipe,
    offline_rootfs,
    online_python_image,
    online_rootfs,
    rootfs_tag,
)

__all__ = [
    "BASE_IMAGE",
    "BaseImageResult",
    "ImageError",
    "MMDEBSTRAP_APT_LINE",
    "ensure_base_image",
    "runtime_hash",
]

Way = Literal["cached", "online", "offline"]
Source = Literal["auto", "online", "offline"]


@dataclass(frozen=True)
class BaseImageResult:
    """What :func:`ensure_base_image` did.

    ``way``: "cached" (nothing built), "online" or "offline" (how the rootfs under a
    freshly built base image was obtained). ``source``: how the base image in use was
    built ("online"/"offline"; for a cached image, read from its label, may be "").
    ``rootfs``: the rootfs image the base was built on (``None`` when cached);
    ``rootfs_cached``: that rootfs already existed.
    """

    way: Way
    image_id: str
    base_hash: str
    source: str
    rootfs: str | None = None
    rootfs_cached: bool = False
    seconds: float = 0.0

    @property
    def tag(self) -> str:
        return BASE_IMAGE


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
    h = hashlib.sha256(b"autonomy-base-image/1\0")
    for name in sorted(files):
        data = files[name]
        h.update(f"{name}\0{len(data)}\0".encode())
        h.update(data)
    h.update(json.dumps(offline_recipe(), sort_keys=True).encode())
    h.update(ONLINE_PYTHON_IMAGE.encode())
    return h.hexdigest()


def runtime_hash() -> str:
    """Hash of what the base image is made of: the runtime package's sources, the files
    of ``templates/base-image`` and the rootfs recipes. The base image is rebuilt exactly
    when this changes. 64 hex chars."""
    return _hash_snapshot(_snapshot())


# --- small docker helpers ----------------------------------------------------------------


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One base-image build at a time on this machine (two CLIs racing would both build)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    uid = os.getuid() if hasattr(os, "getuid") else 0
    path = Path(tempfile.gettempdir()) / f"autonomy-base-image-{uid}.lock"
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --- the build ----------------------------------------------------------------------------


def _build_base(
    client: docker.DockerClient,
    rootfs: str,
    source: str,
    snapshot: dict[str, bytes],
    base_hash: str,
) -> str:
    image = get_image(client, rootfs)
    rootfs_labels = (image.labels if image is not None else {}) or {}
    site = rootfs_labels.get(L.SITE_PACKAGES) or DEBIAN_SITE_PACKAGES
    labels = {L.MANAGED: "true", L.BASE_HASH: base_hash, L.BASE_SOURCE: source}
    # One LABEL instruction (the build API's `labels` costs one step, ~1 s, per label).
    label_line = "LABEL " + " ".join(f'{k}="{v}"' for k, v in labels.items())
    files = {"Dockerfile": snapshot["templates/Dockerfile"].rstrip(b"\n") + b"\n" + label_line.encode() + b"\n"}
    files.update(
        {"autonomy/" + name[len("runtime/") :]: data for name, data in snapshot.items() if name.startswith("runtime/")}
    )
    return build_in_memory(
        client,
        files,
        tag=f"{BASE_IMAGE}:latest",
        buildargs={"ROOTFS": rootfs, "SITE_PACKAGES": site},
        labels={},
        what=f"the base image {BASE_IMAGE}",
    )


def _remove_if_dangling(client: docker.DockerClient, image_id: str | None, keep: str) -> None:
    """Remove the previous base image once nothing refers to it (best effort)."""
    if not image_id or image_id == keep:
        return
    with contextlib.suppress(docker.errors.APIError):
        old = client.images.get(image_id)
        if not old.tags:
            client.images.remove(image_id, force=False, noprune=False)


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
    "online" (python:3.11-slim, local or pulled within seconds, + PyPI) or "offline"
    (mmdebstrap); ``source="auto"`` reuses a cached rootfs first, then tries online,
    then offline. ``force`` rebuilds the base image (not the cached rootfs).
    """
    if source not in ("auto", "online", "offline"):
        raise ValueError(f"source must be auto, online or offline, not {source!r}")
    started = time.monotonic()
    snapshot = _snapshot()
    base_hash = _hash_snapshot(snapshot)

    def cached() -> BaseImageResult | None:
        image = get_image(client, BASE_IMAGE)
        if image is None or force:
            return None
        labels = image.labels or {}
        if labels.get(L.BASE_HASH) != base_hash:
            return None
        return BaseImageResult(
            way="cached",
            image_id=image.id,
            base_hash=base_hash,
            source=labels.get(L.BASE_SOURCE, ""),
            seconds=time.monotonic() - started,
        )

    hit = cached()
    if hit is not None:
        step(on_step, f"base image {BASE_IMAGE} is up to date")
        return hit

    with _build_lock():
        hit = cached()  # someone else may have built it while we waited
        if hit is not None:
            step(on_step, f"base image {BASE_IMAGE} is up to date")
            return hit
        previous = get_image(client, BASE_IMAGE)
        why = "forced" if force else ("the runtime changed" if previous is not None else "not built yet")
        step(on_step, f"building the base image {BASE_IMAGE} ({why})")

        rootfs: str | None = None
        rootfs_cached = False
        way: Way = "offline"
        if source == "auto":
            for kind in ("online", "offline"):
                if get_image(client, rootfs_tag(kind)) is not None:
                    way = "online" if kind == "online" else "offline"
                    rootfs, rootfs_cached = rootfs_tag(kind), True
                    step(on_step, f"root filesystem {rootfs} is cached ({kind})")
                    break
        online_error: str | None = None
        if rootfs is None and source in ("auto", "online"):
            online_error = online_python_image(client, on_step)
            if online_error is None:
                try:
                    rootfs, rootfs_cached = online_rootfs(client, on_step)
                    way = "online"
                except ImageError as e:
                    if source == "online":
                        raise
                    online_error = str(e)
            if online_error is not None:
                if source == "online":
                    raise ImageError(f"cannot get {ONLINE_PYTHON_IMAGE}: {online_error}")
                step(on_step, f"online did not work ({online_error.splitlines()[0]}); going offline")
        if rootfs is None:
            try:
                rootfs, rootfs_cached = offline_rootfs(client, on_step)
            except ImageError as e:
                if online_error is not None:
                    raise ImageError(f"{e}\n(online: {online_error.splitlines()[0]})") from e
                raise
            way = "offline"

        step(on_step, f"docker build {BASE_IMAGE} on {rootfs}")
        image_id = _build_base(client, rootfs, way, snapshot, base_hash)
        _remove_if_dangling(client, previous.id if previous is not None else None, image_id)
        seconds = time.monotonic() - started
        step(on_step, f"base image {BASE_IMAGE} built ({way}) in {seconds:.0f} s")
        return BaseImageResult(
            way=way,
            image_id=image_id,
            base_hash=base_hash,
            source=way,
            rootfs=rootfs,
            rootfs_cached=rootfs_cached,
            seconds=seconds,
        )
