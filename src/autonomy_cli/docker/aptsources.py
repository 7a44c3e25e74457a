"""The Debian mirrors mmdebstrap fetches from: the ones this machine's apt uses (a local
mirror or proxy keeps working), else deb.debian.org. Used by :mod:`.rootfs`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_DEBIAN_MIRROR", "DEFAULT_DEBIAN_SECURITY", "debian_sources"]

DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEFAULT_DEBIAN_SECURITY = "http://deb.debian.org/debian-security"


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


def debian_sources(suite: str) -> list[str]:
    """One-line sources for mmdebstrap: ``<suite>``, ``-updates`` and ``-security``.

    From the Debian mirror(s) this machine's apt uses, whatever suite the host runs (a
    Debian mirror serves every suite: a bookworm host's mirror gives trixie too), else
    from deb.debian.org. A host source's ``signed-by`` keyring is kept only for the
    host's own suite; for another, mmdebstrap picks the keyring that signs it."""
    wanted = [suite, f"{suite}-updates", f"{suite}-security"]
    found: dict[str, str] = {}
    for src in _apt_sources():
        if "deb" not in src["types"] or "main" not in src["components"]:
            continue
        for uri in src["uris"]:
            if "debian" not in uri:
                continue  # a third-party repository that happens to say "bookworm main"
            for s in src["suites"]:
                head, dash, tail = s.partition("-")
                if tail not in ("", "updates", "security"):
                    continue  # backports, proposed-updates, ...
                target = suite + dash + tail
                opts = ""
                if head == suite and src["signed_by"].startswith("/") and Path(src["signed_by"]).is_file():
                    opts = f"[signed-by={src['signed_by']}] "
                if target in wanted and target not in found:
                    found[target] = f"deb {opts}{uri.rstrip('/')} {target} main"
    if suite not in found:
        found = {
            suite: f"deb {DEFAULT_DEBIAN_MIRROR} {suite} main",
            f"{suite}-updates": f"deb {DEFAULT_DEBIAN_MIRROR} {suite}-updates main",
            f"{suite}-security": f"deb {DEFAULT_DEBIAN_SECURITY} {suite}-security main",
        }
    return [found[s] for s in wanted if s in found]
