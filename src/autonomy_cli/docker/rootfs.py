"""The base image's root filesystem: a Python 3 with pyzmq (CURVE), PyNaCl, cloudpickle
and PyYAML, got one of two ways and cached under ``autonomy-local/rootfs:<kind>-<hash>``.

* **online**: ``python:3.11-slim`` (present locally, or pulled if a registry answers
  quickly) plus the dependencies from PyPI (``templates/base-image/rootfs-online.Dockerfile``);
* **offline**: ``mmdebstrap`` builds a small Debian bookworm with the Debian packages of
  the dependencies (about 20 s) from the apt mirror this machine uses; ``docker import``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors

from .. import labels as L
from ..errors import ImageError
from ._images import OnStep, build_in_memory, explain, get_image, step, templates_dir

__all__ = [
    "DEBIAN_SITE_PACKAGES",
    "MMDEBSTRAP_APT_LINE",
    "ONLINE_PYTHON_IMAGE",
    "ROOTFS_REPOSITORY",
    "debian_sources",
    "mmdebstrap_command",
    "offline_recipe",
    "offline_rootfs",
    "online_python_image",
    "online_rootfs",
    "rootfs_tag",
]

ROOTFS_REPOSITORY = "autonomy-local/rootfs"
ONLINE_PYTHON_IMAGE = "python:3.11-slim"


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
    f"LABEL {L.MANAGED}=true",
    f"LABEL {L.SITE_PACKAGES}={DEBIAN_SITE_PACKAGES}",
)


def offline_recipe() -> dict[str, Any]:
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
        h.update(json.dumps(offline_recipe(), sort_keys=True).encode())
    else:
        h.update(ONLINE_PYTHON_IMAGE.encode() + b"\0")
        h.update((templates_dir() / "rootfs-online.Dockerfile").read_bytes())
    return h.hexdigest()[:16]


def rootfs_tag(kind: str) -> str:
    prefix = DEBIAN_SUITE if kind == "offline" else "python3.11-slim"
    return f"{ROOTFS_REPOSITORY}:{prefix}-{_rootfs_hash(kind)}"


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
        return explain(e)
    except Exception as e:  # requests' ReadTimeout / ConnectionError
        return f"{type(e).__name__}: {e}"
    finally:
        api.timeout = saved


# --- offline rootfs: mmdebstrap ---------------------------------------------------------


def _apt_sources() -> list[dict[str, Any]]:
    """The host's apt sources as dicts (types, uris, suites, components, signed_by)."""
    out: list[dict[str, Any]] = []
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
    step(on_step, f"mmdebstrap: Debian {DEBIAN_SUITE} + {' '.join(DEBIAN_PACKAGES)}")
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


def offline_rootfs(client: docker.DockerClient, on_step: OnStep) -> tuple[str, bool]:
    tag = rootfs_tag("offline")
    if get_image(client, tag) is not None:
        step(on_step, f"root filesystem {tag} is cached")
        return tag, True
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autonomy-rootfs-") as tmp:
        tarball = os.path.join(tmp, "rootfs.tar")
        _run_mmdebstrap(tarball, on_step)
        step(on_step, f"docker import -> {tag}")
        _import_rootfs(client, tarball, tag, _rootfs_hash("offline"))
    step(on_step, f"root filesystem {tag} built in {time.monotonic() - started:.0f} s")
    return tag, False


# --- online rootfs: python:3.11-slim + pip ------------------------------------------------


def online_python_image(client: docker.DockerClient, on_step: OnStep) -> str | None:
    """None if python:3.11-slim is here (or was just pulled), else why it is not."""
    if get_image(client, ONLINE_PYTHON_IMAGE) is not None:
        return None
    step(on_step, f"pulling {ONLINE_PYTHON_IMAGE} (gives up after {PULL_SILENCE_TIMEOUT:.0f} s of silence)")
    return _pull_quickly(client, ONLINE_PYTHON_IMAGE)


def online_rootfs(client: docker.DockerClient, on_step: OnStep) -> tuple[str, bool]:
    tag = rootfs_tag("online")
    if get_image(client, tag) is not None:
        step(on_step, f"root filesystem {tag} is cached")
        return tag, True
    step(on_step, f"building {tag}: {ONLINE_PYTHON_IMAGE} + pip install of the runtime's dependencies")
    dockerfile = (templates_dir() / "rootfs-online.Dockerfile").read_bytes()
    build_in_memory(
        client,
        {"Dockerfile": dockerfile},
        tag=tag,
        buildargs={"PYTHON_IMAGE": ONLINE_PYTHON_IMAGE},
        labels={L.ROOTFS_HASH: _rootfs_hash("online")},
        what="the online root filesystem",
    )
    return tag, False
