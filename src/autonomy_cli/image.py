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
prints; progress goes to the optional ``on_step(str)`` callback.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.resources
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import docker
import docker.errors

from autonomy_cli.errors import CliError

__all__ = [
    "BASE_IMAGE",
    "BaseImageResult",
    "ImageError",
    "MMDEBSTRAP_APT_LINE",
    "ensure_base_image",
    "runtime_hash",
]

BASE_IMAGE = "ghcr.io/build-trust/autonomy-python"
ROOTFS_REPOSITORY = "autonomy-local/rootfs"
ONLINE_PYTHON_IMAGE = "python:3.11-slim"

LABEL_BASE_HASH = "computer.autonomy.base-hash"
LABEL_BASE_SOURCE = "computer.autonomy.base-source"  # "online" | "offline"
LABEL_MANAGED = "computer.autonomy.managed"
LABEL_ROOTFS_HASH = "computer.autonomy.rootfs-hash"
LABEL_SITE_PACKAGES = "computer.autonomy.site-packages"

#: How to get mmdebstrap on Debian/Ubuntu (for error messages and CI).
MMDEBSTRAP_APT_LINE = "apt-get install -y --no-install-recommends mmdebstrap"

# A pull that gets no answer within this many seconds is given up (the registry is
# unreachable); a pull that is making progress may take longer.
PULL_SILENCE_TIMEOUT = 15.0
MMDEBSTRAP_TIMEOUT = 900.0

DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEFAULT_DEBIAN_SECURITY = "http://deb.debian.org/debian-security"

# --- the offline recipe: everything here goes into the rootfs tag's hash ----------------

DEBIAN_SUITE = "bookworm"
# essential = dpkg + a shell + coreutils, no apt (apt would add 15 MB).
DEBIAN_VARIANT = "essential"
DEBIAN_PACKAGES = (
    "python3-minimal",
    "python3-zmq",  # libzmq5 is built with libsodium: CURVE works
    "python3-nacl",
    "python3-yaml",
    "python3-cloudpickle",
    "python-is-python3",  # `python main.py` in user Dockerfiles
    "ca-certificates",  # HTTPS from user code (python:3.11-slim has it too); ~1 MB
)
DEBIAN_APTOPTS = ('Apt::Install-Recommends "false"',)
DEBIAN_DPKGOPTS = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/locale/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/lintian/*",
    "path-exclude=/usr/share/bash-completion/*",
)
# Without it, init-system-helpers (Essential in bookworm) drags in usrmerge and all of perl.
MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/maybe-merged-usr"
DEBIAN_SITE_PACKAGES = "/usr/lib/python3/dist-packages"
DEBIAN_IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
    f"LABEL {LABEL_MANAGED}=true",
    f"LABEL {LABEL_SITE_PACKAGES}={DEBIAN_SITE_PACKAGES}",
)

Way = Literal["cached", "online", "offline"]
Source = Literal["auto", "online", "offline"]
OnStep = Optional[Callable[[str], None]]


class ImageError(CliError):
    """The base image could not be built; the text says why and what to do."""


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


def _offline_recipe() -> dict:
    return {
        "suite": DEBIAN_SUITE,
        "variant": DEBIAN_VARIANT,
        "packages": sorted(DEBIAN_PACKAGES),
        "aptopts": list(DEBIAN_APTOPTS),
        "dpkgopts": list(DEBIAN_DPKGOPTS),
        "merged_usr_hook": True,
        "changes": list(DEBIAN_IMPORT_CHANGES),
    }


def _rootfs_hash(kind: str) -> str:
    h = hashlib.sha256()
    if kind == "offline":
        h.update(json.dumps(_offline_recipe(), sort_keys=True).encode())
    else:
        h.update(ONLINE_PYTHON_IMAGE.encode() + b"\0")
        h.update((templates_dir() / "rootfs-online.Dockerfile").read_bytes())
    return h.hexdigest()[:16]


def _rootfs_tag(kind: str) -> str:
    prefix = DEBIAN_SUITE if kind == "offline" else "python3.11-slim"
    return f"{ROOTFS_REPOSITORY}:{prefix}-{_rootfs_hash(kind)}"


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
    h.update(json.dumps(_offline_recipe(), sort_keys=True).encode())
    h.update(ONLINE_PYTHON_IMAGE.encode())
    return h.hexdigest()


def runtime_hash() -> str:
    """Hash of what the base image is made of: the runtime package's sources, the files
    of ``templates/base-image`` and the rootfs recipes. The base image is rebuilt exactly
    when this changes. 64 hex chars."""
    return _hash_snapshot(_snapshot())


# --- small docker helpers ----------------------------------------------------------------


def _get_image(client: docker.DockerClient, ref: str):
    try:
        return client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None
    except docker.errors.APIError as e:
        raise ImageError(f"cannot inspect image {ref}: {_explain(e)}") from e


def _explain(e: BaseException) -> str:
    if isinstance(e, docker.errors.APIError):
        return str(e.explanation or e)
    return str(e) or type(e).__name__


def _step(on_step: OnStep, text: str) -> None:
    if on_step is not None:
        on_step(text)


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


def _pull_quickly(client: docker.DockerClient, ref: str) -> str | None:
    """Pull ``ref``; give up after PULL_SILENCE_TIMEOUT s without any answer.

    Returns None on success, else why it failed (an unreachable registry fails in
    milliseconds when DNS says so, in at most PULL_SILENCE_TIMEOUT s when packets are
    dropped)."""
    repository, _, tag = ref.rpartition(":")
    api = client.api
    saved = api.timeout
    api.timeout = PULL_SILENCE_TIMEOUT  # the socket timeout of the streaming request
    try:
        for event in api.pull(repository, tag=tag, stream=True, decode=True):
            if isinstance(event, dict) and event.get("error"):
                return str(event["error"])
        return None
    except docker.errors.APIError as e:
        return _explain(e)
    except Exception as e:  # requests' ReadTimeout / ConnectionError
        return f"{type(e).__name__}: {e}"
    finally:
        api.timeout = saved


# --- offline rootfs: mmdebstrap ---------------------------------------------------------


def _apt_sources() -> list[dict]:
    """The host's apt sources as dicts (types, uris, suites, components, signed_by)."""
    out: list[dict] = []
    apt = Path("/etc/apt")
    files: list[Path] = []
    if (apt / "sources.list").is_file():
        files.append(apt / "sources.list")
    d = apt / "sources.list.d"
    if d.is_dir():
        files += sorted(p for p in d.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                key = None
                for line in stanza.splitlines():
                    if not line.strip() or line.lstrip().startswith("#"):
                        continue
                    if line[0] in " \t" and key:
                        fields[key] += " " + line.strip()
                        continue
                    key, _, value = line.partition(":")
                    key = key.strip().lower()
                    fields[key] = value.strip()
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                out.append(
                    {
                        "types": fields.get("types", "").split(),
                        "uris": fields.get("uris", "").split(),
                        "suites": fields.get("suites", "").split(),
                        "components": fields.get("components", "").split(),
                        "signed_by": fields.get("signed-by", ""),
                    }
                )
        else:
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                m = re.match(r"^(deb)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
                if not m:
                    continue
                opts = dict(o.split("=", 1) for o in (m.group(2) or "").split() if "=" in o)
                out.append(
                    {
                        "types": ["deb"],
                        "uris": [m.group(3)],
                        "suites": [m.group(4)],
                        "components": m.group(5).split(),
                        "signed_by": opts.get("signed-by", ""),
                    }
                )
    return out


def debian_sources(suite: str = DEBIAN_SUITE) -> list[str]:
    """One-line sources for mmdebstrap: ``<suite>``, ``-updates`` and ``-security`` from
    the Debian mirror(s) this machine's apt uses, else from deb.debian.org."""
    wanted = [suite, f"{suite}-updates", f"{suite}-security"]
    found: dict[str, str] = {}
    for src in _apt_sources():
        if "deb" not in src["types"] or "main" not in src["components"]:
            continue
        for uri in src["uris"]:
            if "debian" not in uri:
                continue  # a third-party repository that happens to say "bookworm main"
            opts = ""
            if src["signed_by"].startswith("/") and Path(src["signed_by"]).is_file():
                opts = f"[signed-by={src['signed_by']}] "
            for s in src["suites"]:
                if s in wanted and s not in found:
                    found[s] = f"deb {opts}{uri.rstrip('/')} {s} main"
    if suite not in found:
        found = {
            suite: f"deb {DEFAULT_DEBIAN_MIRROR} {suite} main",
            f"{suite}-updates": f"deb {DEFAULT_DEBIAN_MIRROR} {suite}-updates main",
            f"{suite}-security": f"deb {DEFAULT_DEBIAN_SECURITY} {suite}-security main",
        }
    return [found[s] for s in wanted if s in found]


def mmdebstrap_command(output: str) -> list[str]:
    """The mmdebstrap command line that writes the offline rootfs tarball to ``output``."""
    exe = shutil.which("mmdebstrap")
    if exe is None:
        raise ImageError(
            "mmdebstrap is not installed, and no Python image can be pulled: "
            f"install it ({MMDEBSTRAP_APT_LINE}) or make {ONLINE_PYTHON_IMAGE} available"
        )
    mode = "root" if hasattr(os, "geteuid") and os.geteuid() == 0 else "auto"
    cmd = [exe, f"--mode={mode}", f"--variant={DEBIAN_VARIANT}", "--format=tar"]
    cmd += [f"--aptopt={o}" for o in DEBIAN_APTOPTS]
    cmd += [f"--dpkgopt={o}" for o in DEBIAN_DPKGOPTS]
    if Path(MERGED_USR_HOOK).is_dir():
        cmd.append(f"--hook-dir={MERGED_USR_HOOK}")
    else:
        cmd.append("--include=usr-is-merged")
    cmd.append("--include=" + ",".join(DEBIAN_PACKAGES))
    cmd += [DEBIAN_SUITE, output, *debian_sources()]
    return cmd


def _run_mmdebstrap(output: str, on_step: OnStep) -> None:
    cmd = mmdebstrap_command(output)
    _step(on_step, f"mmdebstrap: Debian {DEBIAN_SUITE} + {' '.join(DEBIAN_PACKAGES)}")
    tail: list[str] = []
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as e:
        raise ImageError(f"cannot run mmdebstrap: {e}") from e
    timer = threading.Timer(MMDEBSTRAP_TIMEOUT, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail = (tail + [line])[-20:]
            if line.startswith("I: ") and not line.startswith("I: removing tempdir"):
                _step(on_step, "mmdebstrap: " + line[3:])
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if rc != 0:
        why = "timed out" if rc < 0 else f"exit code {rc}"
        raise ImageError(f"mmdebstrap failed ({why}); its last lines:\n  " + "\n  ".join(tail))


def _import_rootfs(client: docker.DockerClient, tarball: str, tag: str, rootfs_hash: str) -> None:
    repository, _, version = tag.rpartition(":")
    changes = [*DEBIAN_IMPORT_CHANGES, f"LABEL {LABEL_ROOTFS_HASH}={rootfs_hash}"]
    try:
        result = client.api.import_image_from_file(tarball, repository=repository, tag=version, changes=changes)
    except docker.errors.APIError as e:
        raise ImageError(f"docker import of the root filesystem failed: {_explain(e)}") from e
    for line in str(result).splitlines():
        with contextlib.suppress(ValueError):
            msg = json.loads(line)
            if isinstance(msg, dict) and msg.get("error"):
                raise ImageError(f"docker import of the root filesystem failed: {msg['error']}")


def _offline_rootfs(client: docker.DockerClient, on_step: OnStep) -> tuple[str, bool]:
    tag = _rootfs_tag("offline")
    if _get_image(client, tag) is not None:
        _step(on_step, f"root filesystem {tag} is cached")
        return tag, True
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autonomy-rootfs-") as tmp:
        tarball = os.path.join(tmp, "rootfs.tar")
        _run_mmdebstrap(tarball, on_step)
        _step(on_step, f"docker import -> {tag}")
        _import_rootfs(client, tarball, tag, _rootfs_hash("offline"))
    _step(on_step, f"root filesystem {tag} built in {time.monotonic() - started:.0f} s")
    return tag, False


# --- online rootfs: python:3.11-slim + pip ------------------------------------------------


def _online_python_image(client: docker.DockerClient, on_step: OnStep) -> str | None:
    """None if python:3.11-slim is here (or was just pulled), else why it is not."""
    if _get_image(client, ONLINE_PYTHON_IMAGE) is not None:
        return None
    _step(on_step, f"pulling {ONLINE_PYTHON_IMAGE} (gives up after {PULL_SILENCE_TIMEOUT:.0f} s of silence)")
    return _pull_quickly(client, ONLINE_PYTHON_IMAGE)


def _online_rootfs(client: docker.DockerClient, on_step: OnStep) -> tuple[str, bool]:
    tag = _rootfs_tag("online")
    if _get_image(client, tag) is not None:
        _step(on_step, f"root filesystem {tag} is cached")
        return tag, True
    _step(on_step, f"building {tag}: {ONLINE_PYTHON_IMAGE} + pip install of the runtime's dependencies")
    dockerfile = (templates_dir() / "rootfs-online.Dockerfile").read_bytes()
    _build(
        client,
        {"Dockerfile": dockerfile},
        tag=tag,
        buildargs={"PYTHON_IMAGE": ONLINE_PYTHON_IMAGE},
        labels={LABEL_ROOTFS_HASH: _rootfs_hash("online")},
        what="the online root filesystem",
    )
    return tag, False


# --- the build ----------------------------------------------------------------------------


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


def _build(
    client: docker.DockerClient,
    files: dict[str, bytes],
    *,
    tag: str,
    buildargs: dict[str, str],
    labels: dict[str, str],
    what: str,
) -> str:
    """docker build from an in-memory context; returns the image id."""
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
        ):
            if "stream" in chunk:
                text = _ANSI.sub("", chunk["stream"])
                log += [line for line in text.splitlines() if line.strip()]
                log = log[-30:]
            if "aux" in chunk and isinstance(chunk["aux"], dict):
                image_id = chunk["aux"].get("ID", image_id)
            if "error" in chunk:
                detail = chunk.get("error") or chunk.get("errorDetail", {}).get("message", "")
                raise ImageError(f"building {what} failed: {detail.strip()}\n  " + "\n  ".join(log[-15:]))
    except docker.errors.APIError as e:
        raise ImageError(f"building {what} failed: {_explain(e)}") from e
    image = _get_image(client, tag)
    if image is None:
        raise ImageError(f"building {what} produced no image {tag}:\n  " + "\n  ".join(log[-15:]))
    return image.id or image_id or ""


def _build_base(
    client: docker.DockerClient,
    rootfs: str,
    source: str,
    snapshot: dict[str, bytes],
    base_hash: str,
) -> str:
    image = _get_image(client, rootfs)
    rootfs_labels = (image.labels if image is not None else {}) or {}
    site = rootfs_labels.get(LABEL_SITE_PACKAGES) or DEBIAN_SITE_PACKAGES
    labels = {LABEL_MANAGED: "true", LABEL_BASE_HASH: base_hash, LABEL_BASE_SOURCE: source}
    # One LABEL instruction (the build API's `labels` costs one step, ~1 s, per label).
    label_line = "LABEL " + " ".join(f'{k}="{v}"' for k, v in labels.items())
    files = {"Dockerfile": snapshot["templates/Dockerfile"].rstrip(b"\n") + b"\n" + label_line.encode() + b"\n"}
    files.update(
        {"autonomy/" + name[len("runtime/") :]: data for name, data in snapshot.items() if name.startswith("runtime/")}
    )
    return _build(
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
        image = _get_image(client, BASE_IMAGE)
        if image is None or force:
            return None
        labels = image.labels or {}
        if labels.get(LABEL_BASE_HASH) != base_hash:
            return None
        return BaseImageResult(
            way="cached",
            image_id=image.id,
            base_hash=base_hash,
            source=labels.get(LABEL_BASE_SOURCE, ""),
            seconds=time.monotonic() - started,
        )

    hit = cached()
    if hit is not None:
        _step(on_step, f"base image {BASE_IMAGE} is up to date")
        return hit

    with _build_lock():
        hit = cached()  # someone else may have built it while we waited
        if hit is not None:
            _step(on_step, f"base image {BASE_IMAGE} is up to date")
            return hit
        previous = _get_image(client, BASE_IMAGE)
        why = "forced" if force else ("the runtime changed" if previous is not None else "not built yet")
        _step(on_step, f"building the base image {BASE_IMAGE} ({why})")

        rootfs: str | None = None
        rootfs_cached = False
        way: Way = "offline"
        if source == "auto":
            for kind in ("online", "offline"):
                if _get_image(client, _rootfs_tag(kind)) is not None:
                    way = kind  # type: ignore[assignment]
                    rootfs, rootfs_cached = _rootfs_tag(kind), True
                    _step(on_step, f"root filesystem {rootfs} is cached ({kind})")
                    break
        online_error: str | None = None
        if rootfs is None and source in ("auto", "online"):
            online_error = _online_python_image(client, on_step)
            if online_error is None:
                try:
                    rootfs, rootfs_cached = _online_rootfs(client, on_step)
                    way = "online"
                except ImageError as e:
                    if source == "online":
                        raise
                    online_error = str(e)
            if online_error is not None:
                if source == "online":
                    raise ImageError(f"cannot get {ONLINE_PYTHON_IMAGE}: {online_error}")
                _step(on_step, f"online did not work ({online_error.splitlines()[0]}); going offline")
        if rootfs is None:
            try:
                rootfs, rootfs_cached = _offline_rootfs(client, on_step)
            except ImageError as e:
                if online_error is not None:
                    raise ImageError(f"{e}\n(online: {online_error.splitlines()[0]})") from e
                raise
            way = "offline"

        _step(on_step, f"docker build {BASE_IMAGE} on {rootfs}")
        image_id = _build_base(client, rootfs, way, snapshot, base_hash)
        _remove_if_dangling(client, previous.id if previous is not None else None, image_id)
        seconds = time.monotonic() - started
        _step(on_step, f"base image {BASE_IMAGE} built ({way}) in {seconds:.0f} s")
        return BaseImageResult(
            way=way,
            image_id=image_id,
            base_hash=base_hash,
            source=way,
            rootfs=rootfs,
            rootfs_cached=rootfs_cached,
            seconds=seconds,
        )
