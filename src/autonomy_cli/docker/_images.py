"""What the base image and its root filesystems are built with: in-memory build contexts,
image lookups, the templates folder. Used by :mod:`.image` and :mod:`.rootfs`."""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import os
import re
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
from docker.models.images import Image

from ..errors import ImageError

__all__ = ["OnStep", "build_in_memory", "build_lock", "explain", "get_image", "pull_bounded", "step", "templates_dir"]

OnStep = Callable[[str], None] | None


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """One build of our images at a time on this machine (two CLIs racing would both build)."""
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


def templates_dir() -> Path:
    """``autonomy_cli/templates/base-image`` (the Dockerfiles of this module), package data
    read through :mod:`importlib.resources`."""
    found = Path(str(importlib.resources.files("autonomy_cli") / "templates" / "base-image"))
    if not (found / "Dockerfile").is_file():
        raise ImageError(
            f"the base image's Dockerfile is missing: {found / 'Dockerfile'} "
            "(is the package installed without its templates?)"
        )
    return found


def get_image(client: docker.DockerClient, ref: str) -> Image | None:
    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as e:
        raise ImageError(f"cannot inspect image {ref}: {explain(e)}") from e


def explain(e: BaseException) -> str:
    if isinstance(e, docker.errors.APIError):
        return str(e.explanation or e)
    return str(e) or type(e).__name__


def step(on_step: OnStep, text: str) -> None:
    if on_step is not None:
        on_step(text)


def _context_tar(files: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0  # the same sources give the same build cache key
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def build_in_memory(
    client: docker.DockerClient,
    files: dict[str, bytes],
    *,
    tag: str,
    buildargs: dict[str, str],
    labels: dict[str, str],
    what: str,
    target: str | None = None,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """docker build from an in-memory context; returns the image id. ``on_line`` gets
    the build's steps and the output of its RUN instructions."""
    context = _context_tar(files)
    log: list[str] = []
    image_id = None
    try:
        for chunk in client.api.build(
            fileobj=context,
            custom_context=True,
            tag=tag,
            buildargs=buildargs,
            labels=labels,
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
            target=target,
        ):
            if "stream" in chunk:
                text = _ANSI.sub("", chunk["stream"])
                new = [line for line in text.splitlines() if line.strip()]
                log = (log + new)[-30:]
                if on_line is not None:
                    for line in new:
                        on_line(line)
            if "aux" in chunk and isinstance(chunk["aux"], dict):
                image_id = chunk["aux"].get("ID", image_id)
            if "error" in chunk:
                detail = chunk.get("error") or chunk.get("errorDetail", {}).get("message", "")
                raise ImageError(f"building {what} failed: {detail.strip()}\n  " + "\n  ".join(log[-15:]))
    except docker.errors.APIError as e:
        raise ImageError(f"building {what} failed: {explain(e)}") from e
    image = get_image(client, tag)
    if image is None:
        raise ImageError(f"building {what} produced no image {tag}:\n  " + "\n  ".join(log[-15:]))
    return image.id or image_id or ""


def pull_bounded(client: docker.DockerClient, ref: str, timeout: float) -> str | None:
    """Pull ``ref``, giving up after ``timeout`` s of silence; None on success, else why not
    (an unreachable registry fails in milliseconds when DNS says so, in ``timeout`` s when
    packets are dropped)."""
    repository, tag = ref, None
    if "@" not in ref:
        tail = ref.rsplit("/", 1)[-1]
        if ":" in tail:
            repository, tag = ref.rsplit(":", 1)
        else:
            tag = "latest"
    api = client.api
    saved = api.timeout
    api.timeout = timeout  # the socket timeout of the streaming request
    try:
        for event in api.pull(repository, tag=tag, stream=True, decode=True):
            if isinstance(event, dict) and event.get("error"):
                return str(event["error"])
        return None
    except docker.errors.APIError as e:
        return str(e.explanation or e)
    except Exception as e:  # requests' ReadTimeout / ConnectionError
        return f"no answer within {timeout:g} s ({type(e).__name__})"
    finally:
        api.timeout = saved
