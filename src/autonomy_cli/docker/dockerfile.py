"""Reading a project's Dockerfiles: their FROM lines, and a copy with one LABEL line added."""

from __future__ import annotations

import json
from pathlib import Path

from ..names import BASE_IMAGE

__all__ = ["builds_on_base", "from_lines", "labelled_dockerfile"]


def from_lines(dockerfile: str) -> list[tuple[str, str]]:
    """(image, stage alias) of each FROM instruction of a Dockerfile."""
    found = []
    for line in dockerfile.splitlines():
        words = [w for w in line.split() if not w.startswith("--")]
        if len(words) >= 2 and words[0].upper() == "FROM":
            alias = words[3] if len(words) >= 4 and words[2].upper() == "AS" else ""
            found.append((words[1], alias))
    return found


def builds_on_base(context: Path | None) -> bool:
    """True when ``context``'s Dockerfile is built FROM the base image (it runs a node)."""
    if context is None:
        return False
    try:
        text = (context / "Dockerfile").read_text()
    except OSError:
        return False
    found = from_lines(text)
    return bool(found) and found[0][0].split(":")[0].split("@")[0] == BASE_IMAGE


def labelled_dockerfile(context: Path, labels: dict[str, str], folder: Path) -> Path | None:
    """A copy of ``context``'s Dockerfile, in ``folder``, ending with one LABEL instruction;
    None when the context has no readable Dockerfile (Docker then says what is wrong)."""
    try:
        text = (context / "Dockerfile").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    line = "LABEL " + " ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    path = folder / "Dockerfile"
    path.write_text(text.rstrip("\n") + "\n" + line + "\n")
    return path
