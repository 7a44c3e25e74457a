"""The base images' root filesystems ("rootfs"), got one of two ways and cached under
``autonomy-local/rootfs:<prefix>-<hash of the recipe>``.

Two of each: one for ``autonomy-python`` (``base``) and a superset for
``autonomy-python-dev`` (``dev``: + a C toolchain and the Python headers). Both have the
same Python at the same path, so a venv made on one runs on the other. A third flavour,
``mcp`` (offline only), is the root of ``ghcr.io/build-trust/mcp-proxy``: Python, Node.js
and npm, no SDK libraries (:mod:`.mcpimage`).

* **offline**: ``mmdebstrap`` builds a small Debian trixie (Python 3.13) with Debian's
  packages of the runtime's dependencies and of the SDK's libraries (fastapi, uvicorn,
  openai, ...) from the apt mirror this machine uses; ``docker import``. The ``essential``
  variant has no apt, so the dev rootfs is a second mmdebstrap with more packages.
* **online**: ``python:3.13-slim`` (present locally, or pulled if a registry answers
  quickly) is the base rootfs as it is (the libraries go into the venv from PyPI, see
  ``templates/base-image/Dockerfile``); the dev rootfs adds ``build-essential`` with apt
  (``templates/base-image/rootfs-online-dev.Dockerfile``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any, Literal

import docker
import docker.errors

from .. import labels as L
from ..errors import ImageError
from ._images import OnStep, build_in_memory, explain, get_image, pull_bounded, step, templates_dir
from .aptsources import debian_sources

__all__ = [
    "DEBIAN_SITE_PACKAGES",
    "MMDEBSTRAP_APT_LINE",
    "ONLINE_PYTHON_IMAGE",
    "ONLINE_SITE_PACKAGES",
    "ROOTFS_REPOSITORY",
    "Flavour",
    "mmdebstrap_command",
    "offline_recipe",
    "offline_rootfs",
    "online_python_image",
    "online_rootfs",
    "rootfs_tag",
]

Flavour = Literal["base", "dev", "mcp"]

ROOTFS_REPOSITORY = "autonomy-local/rootfs"
ONLINE_PYTHON_IMAGE = "python:3.13-slim"
ONLINE_SITE_PACKAGES = "/usr/local/lib/python3.13/site-packages"

#: How to get mmdebstrap on Debian/Ubuntu (for error messages and CI).
MMDEBSTRAP_APT_LINE = "apt-get install -y --no-install-recommends mmdebstrap eatmydata"

# A pull that gets no answer within this many seconds is given up (the registry is
# unreachable); a pull that is making progress may take longer.
PULL_SILENCE_TIMEOUT = 15.0
MMDEBSTRAP_TIMEOUT = 1200.0

# --- the offline recipe: everything here goes into the rootfs tag's hash ----------------

DEBIAN_SUITE = "trixie"  # Python 3.13
# essential = dpkg + a shell + coreutils, no apt (apt would add 15 MB).
DEBIAN_VARIANT = "essential"
DEBIAN_PACKAGES = (
    "python3",
    "python3-venv",  # the venv at /app/venv (and ensurepip's wheel for the -dev image)
    "python-is-python3",  # `python` outside the venv too
    "python3-zmq",  # libzmq5 is built with libsodium: CURVE works
    "python3-nacl",
    "python3-yaml",
    "python3-cloudpickle",
    # the SDK image's libraries that Debian packages (anthropic comes from PyPI)
    "python3-fastapi",
    "python3-uvicorn",
    "python3-starlette",
    "python3-httpx",
    "python3-openai",
    "python3-websockets",
    "python3-pydantic",
    "python3-aiohttp",
    "python3-distro",  # anthropic's dependencies that Debian has
    "python3-docstring-parser",
    "ca-certificates",  # HTTPS from user code
)
# what the -dev rootfs adds (bash is Essential: already there)
DEBIAN_DEV_PACKAGES = ("build-essential", "python3-dev")
# the MCP proxy's rootfs: Python for mcp-proxy and uvx's servers, Node.js and npm for npx's
DEBIAN_MCP_PACKAGES = ("python3", "python3-venv", "nodejs", "npm", "ca-certificates")
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
# Without it, init-system-helpers drags in usrmerge and all of perl on older mmdebstraps.
MERGED_USR_HOOK = "/usr/share/mmdebstrap/hooks/maybe-merged-usr"
# dpkg without fsync (about half the time of a build) when the host has eatmydata; the
# hook needs eatmydata and dpkg-architecture on the host, and leaves nothing behind.
EATMYDATA_HOOK = "/usr/share/mmdebstrap/hooks/eatmydata"
DEBIAN_SITE_PACKAGES = "/usr/lib/python3/dist-packages"
DEBIAN_IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
    f"LABEL {L.MANAGED}=true",
    f"LABEL {L.SITE_PACKAGES}={DEBIAN_SITE_PACKAGES}",
)


def _packages(flavour: Flavour) -> tuple[str, ...]:
    if flavour == "mcp":
        return DEBIAN_MCP_PACKAGES
    return DEBIAN_PACKAGES + (DEBIAN_DEV_PACKAGES if flavour == "dev" else ())


def offline_recipe(flavour: Flavour = "base") -> dict[str, Any]:
    return {
        "suite": DEBIAN_SUITE,
        "variant": DEBIAN_VARIANT,
        "packages": sorted(_packages(flavour)),
        "aptopts": list(DEBIAN_APTOPTS),
        "dpkgopts": list(DEBIAN_DPKGOPTS),
        "merged_usr_hook": True,
        "changes": list(DEBIAN_IMPORT_CHANGES),
    }


def _rootfs_hash(kind: str, flavour: Flavour) -> str:
    h = hashlib.sha256()
    if kind == "offline":
        h.update(json.dumps(offline_recipe(flavour), sort_keys=True).encode())
    else:
        h.update(ONLINE_PYTHON_IMAGE.encode() + b"\0")
        h.update((templates_dir() / "rootfs-online-dev.Dockerfile").read_bytes())
    return h.hexdigest()[:16]


def rootfs_tag(kind: str, flavour: Flavour = "base") -> str:
    """The cache tag of a rootfs; the online base rootfs is the Python image itself."""
    if kind == "online" and flavour == "base":
        return ONLINE_PYTHON_IMAGE
    prefix = DEBIAN_SUITE if kind == "offline" else "python3.13-slim"
    suffix = "" if flavour == "base" else f"-{flavour}"
    return f"{ROOTFS_REPOSITORY}:{prefix}{suffix}-{_rootfs_hash(kind, flavour)}"


# --- offline rootfs: mmdebstrap ---------------------------------------------------------


def mmdebstrap_command(output: str, flavour: Flavour = "base") -> list[str]:
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
    if os.path.isdir(MERGED_USR_HOOK):
        cmd.append(f"--hook-dir={MERGED_USR_HOOK}")
    else:
        cmd.append("--include=usr-is-merged")
    if os.path.isdir(EATMYDATA_HOOK) and shutil.which("eatmydata") and shutil.which("dpkg-architecture"):
        cmd.append(f"--hook-dir={EATMYDATA_HOOK}")
    cmd.append("--include=" + ",".join(_packages(flavour)))
    cmd += [DEBIAN_SUITE, output, *debian_sources(DEBIAN_SUITE)]
    return cmd


def _run_mmdebstrap(output: str, flavour: Flavour, on_step: OnStep) -> None:
    cmd = mmdebstrap_command(output, flavour)
    step(on_step, f"mmdebstrap: Debian {DEBIAN_SUITE} + {' '.join(_packages(flavour))}")
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
                step(on_step, "mmdebstrap: " + line[3:])
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
    changes = [*DEBIAN_IMPORT_CHANGES, f"LABEL {L.ROOTFS_HASH}={rootfs_hash}"]
    try:
        result = client.api.import_image_from_file(tarball, repository=repository, tag=version, changes=changes)
    except docker.errors.APIError as e:
        raise ImageError(f"docker import of the root filesystem failed: {explain(e)}") from e
    for line in str(result).splitlines():
        with contextlib.suppress(ValueError):
            msg = json.loads(line)
            if isinstance(msg, dict) and msg.get("error"):
                raise ImageError(f"docker import of the root filesystem failed: {msg['error']}")


def offline_rootfs(client: docker.DockerClient, on_step: OnStep, flavour: Flavour = "base") -> tuple[str, bool]:
    """The offline rootfs of ``flavour``: (tag, was cached)."""
    tag = rootfs_tag("offline", flavour)
    if get_image(client, tag) is not None:
        step(on_step, f"root filesystem {tag} is cached")
        return tag, True
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autonomy-rootfs-") as tmp:
        tarball = os.path.join(tmp, "rootfs.tar")
        _run_mmdebstrap(tarball, flavour, on_step)
        step(on_step, f"docker import -> {tag}")
        _import_rootfs(client, tarball, tag, _rootfs_hash("offline", flavour))
    step(on_step, f"root filesystem {tag} built in {time.monotonic() - started:.0f} s")
    return tag, False


# --- online rootfs: python:3.13-slim (+ build-essential for -dev) -------------------------


def online_python_image(client: docker.DockerClient, on_step: OnStep) -> str | None:
    """None if python:3.13-slim is here (or was just pulled), else why it is not."""
    if get_image(client, ONLINE_PYTHON_IMAGE) is not None:
        return None
    step(on_step, f"pulling {ONLINE_PYTHON_IMAGE} (gives up after {PULL_SILENCE_TIMEOUT:.0f} s of silence)")
    return pull_bounded(client, ONLINE_PYTHON_IMAGE, PULL_SILENCE_TIMEOUT)


def online_rootfs(client: docker.DockerClient, on_step: OnStep, flavour: Flavour = "base") -> tuple[str, bool]:
    """The online rootfs of ``flavour``: (tag, was cached); python:3.13-slim must be here."""
    tag = rootfs_tag("online", flavour)
    if get_image(client, tag) is not None:
        step(on_step, f"root filesystem {tag} is cached")
        return tag, True
    if flavour == "base":
        raise ImageError(f"{ONLINE_PYTHON_IMAGE} is not here")
    step(on_step, f"building {tag}: {ONLINE_PYTHON_IMAGE} + apt-get install build-essential")
    build_in_memory(
        client,
        {"Dockerfile": (templates_dir() / "rootfs-online-dev.Dockerfile").read_bytes()},
        tag=tag,
        buildargs={"PYTHON_IMAGE": ONLINE_PYTHON_IMAGE},
        labels={L.ROOTFS_HASH: _rootfs_hash("online", flavour)},
        what="the online -dev root filesystem",
    )
    return tag, False
