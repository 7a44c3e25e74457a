"""The host's package-index settings, carried into the base images' builds.

The base images install what Debian does not package (``anthropic``, ``uv``) from a
package index, and the ``-dev`` image's pip and uv install a project's requirements. Both
must work where the host's pip works: behind a mirror, or behind a TLS-intercepting proxy
whose CA only the host's bundle holds. So the builds use the host's settings, read the
way pip reads them:

* the config files (``/etc/xdg/pip/pip.conf``, ``/etc/pip.conf``, ``~/.pip/pip.conf``,
  ``~/.config/pip/pip.conf``, then ``PIP_CONFIG_FILE``; later wins, ``[install]`` over
  ``[global]``), then the environment (``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``,
  ``PIP_TRUSTED_HOST``, ``PIP_CERT``);
* the CA bundle: pip's ``cert``, else ``SSL_CERT_FILE``, else ``REQUESTS_CA_BUNDLE``.

Only these four settings travel. Host-only ones (``find-links=/opt/wheels``, caches) do
not. A CA bundle is public and goes into the image; a password does not: an index URL
with ``user:password@`` loses it (:attr:`IndexSettings.stripped` names those URLs, with
the secret masked, for one warning), since an image's layers are readable by anyone who
gets the image.

In the image the settings become ``/etc/autonomy/index/pip.conf`` (+ ``ca.crt``) and, in
the ``-dev`` image, environment variables pip and uv read (:meth:`IndexSettings.env`).
"""

from __future__ import annotations

import configparser
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "IMAGE_DIR",
    "SYSTEM_CA_FILE",
    "IndexSettings",
    "host_ca_file",
    "host_config_files",
    "host_index_settings",
    "strip_credentials",
]

#: Where the settings go in the images.
IMAGE_DIR = "/etc/autonomy/index"
_CA_IN_IMAGE = f"{IMAGE_DIR}/ca.crt"
#: Debian's (and Ubuntu's) bundle of trusted CAs, where no setting names another
SYSTEM_CA_FILE = Path("/etc/ssl/certs/ca-certificates.crt")


def strip_credentials(url: str) -> tuple[str, bool]:
    """``url`` without a ``user[:password]@`` part; True when there was one."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, False
    if "@" not in parts.netloc:
        return url, False
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), True


def _masked(url: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, "***@" + host, parts.path, "", ""))


@dataclass(frozen=True)
class IndexSettings:
    """What the image builds use to reach a package index (credential-free).

    ``ca_bundle``: the bytes of the host's trusted CA bundle, or None (then pip in the
    image trusts the image's own CAs). ``stripped``: the index URLs that carried
    credentials on the host, masked (``https://***@host/path``)."""

    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    ca_bundle: bytes | None = None
    stripped: tuple[str, ...] = field(default=())

    def pip_conf(self) -> str:
        """The ``pip.conf`` of the images."""
        lines = ["[global]", "disable-pip-version-check = true", "no-cache-dir = true", "timeout = 60"]
        if self.index_url:
            lines.append(f"index-url = {self.index_url}")
        if self.extra_index_urls:
            lines.append("extra-index-url = " + " ".join(self.extra_index_urls))
        if self.trusted_hosts:
            lines.append("trusted-host = " + " ".join(self.trusted_hosts))
        if self.ca_bundle is not None:
            lines.append(f"cert = {_CA_IN_IMAGE}")
        return "\n".join(lines) + "\n"

    def context_files(self) -> dict[str, bytes]:
        """``index/pip.conf`` and ``index/ca.crt``: the files a build context carries."""
        files = {"index/pip.conf": self.pip_conf().encode()}
        files["index/ca.crt"] = self.ca_bundle if self.ca_bundle is not None else b""
        return files

    def env(self) -> dict[str, str]:
        """Environment for pip and uv in the ``-dev`` image (and builder stages)."""
        env = {"PIP_CONFIG_FILE": f"{IMAGE_DIR}/pip.conf", "PIP_ROOT_USER_ACTION": "ignore"}
        if self.ca_bundle is not None:
            env.update({"SSL_CERT_FILE": _CA_IN_IMAGE, "REQUESTS_CA_BUNDLE": _CA_IN_IMAGE, "UV_NATIVE_TLS": "1"})
        if self.index_url:
            env["UV_DEFAULT_INDEX"] = self.index_url
        if self.extra_index_urls:
            env["UV_INDEX"] = " ".join(self.extra_index_urls)
        if self.trusted_hosts:
            env["UV_INSECURE_HOST"] = " ".join(self.trusted_hosts)
        return env

    def fingerprint(self) -> str:
        """A hash of everything that goes into an image (so a change rebuilds it)."""
        h = hashlib.sha256(self.pip_conf().encode() + b"\0")
        h.update(self.ca_bundle or b"")
        for k, v in sorted(self.env().items()):
            h.update(f"{k}={v}\0".encode())
        return h.hexdigest()[:16]


def host_config_files(environ: Mapping[str, str], home: Path | None = None) -> list[Path]:
    """pip's config files on this host, lowest priority first (those that exist)."""
    home = home if home is not None else Path(environ.get("HOME") or Path.home())
    xdg = [d for d in (environ.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") if d]
    candidates = [Path(d) / "pip" / "pip.conf" for d in reversed(xdg)]
    candidates += [Path("/etc/pip.conf"), home / ".pip" / "pip.conf"]
    candidates.append(Path(environ.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / "pip.conf")
    forced = environ.get("PIP_CONFIG_FILE")
    if forced == os.devnull:
        return []
    if forced:
        candidates.append(Path(forced))
    return [p for p in candidates if p.is_file()]


def _read_files(files: Sequence[Path]) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue  # pip itself would complain; the build goes on without this file
        for section in ("global", "install"):
            if parser.has_section(section):
                for key, value in parser.items(section):
                    found[key.replace("_", "-")] = value
    return found


def _words(value: str) -> list[str]:
    return value.split()


def host_index_settings(environ: Mapping[str, str] | None = None, files: Sequence[Path] | None = None) -> IndexSettings:
    """The host's index settings (see the module docstring), credentials stripped."""
    env = os.environ if environ is None else environ
    conf = _read_files(host_config_files(env) if files is None else files)
    for key in ("index-url", "extra-index-url", "trusted-host", "cert"):
        value = env.get("PIP_" + key.upper().replace("-", "_"))
        if value:
            conf[key] = value
    stripped: list[str] = []

    def clean(url: str) -> str:
        bare, had = strip_credentials(url)
        if had:
            stripped.append(_masked(url))
        return bare

    index_url = clean(conf["index-url"].strip()) if conf.get("index-url", "").strip() else ""
    extras = tuple(clean(u) for u in _words(conf.get("extra-index-url", "")))
    trusted = tuple(_words(conf.get("trusted-host", "")))
    ca: bytes | None = None
    for candidate in _ca_candidates(conf, env):
        try:
            ca = candidate.read_bytes()
            break
        except OSError:
            continue
    return IndexSettings(index_url, extras, trusted, ca, tuple(stripped))


def _ca_candidates(conf: Mapping[str, str], env: Mapping[str, str]) -> list[Path]:
    """pip's ``cert``, ``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``: those that are files."""
    found = (conf.get("cert", ""), env.get("SSL_CERT_FILE", ""), env.get("REQUESTS_CA_BUNDLE", ""))
    return [Path(c.strip()) for c in found if c.strip() and Path(c.strip()).is_file()]


def host_ca_file(environ: Mapping[str, str] | None = None, files: Sequence[Path] | None = None) -> Path | None:
    """The file of the CA bundle this host trusts, found as :func:`host_index_settings`
    finds the bundle it carries into builds, else :data:`SYSTEM_CA_FILE`; None when there
    is none. The model gateway mounts it, so that providers' TLS works behind a
    TLS-intercepting proxy."""
    env = os.environ if environ is None else environ
    conf = _read_files(host_config_files(env) if files is None else files)
    if env.get("PIP_CERT"):
        conf["cert"] = env["PIP_CERT"]
    for candidate in [*_ca_candidates(conf, env), SYSTEM_CA_FILE]:
        if candidate.is_file():
            return candidate.resolve()
    return None
