"""Reading a project's Dockerfiles: their FROM lines, and a copy with one LABEL line added."""

from __future__ import annotations

import json
from pathlib import Path

from ..names import BASE_DEV_IMAGE, BASE_IMAGE

__all__ = ["builds_on_base", "final_image", "from_lines", "labelled_dockerfile", "names_dev_image"]


def from_lines(dockerfile: str) -> list[tuple[str, str]]:
    """(image, stage alias) of each FROM instruction of a Dockerfile."""
    found = []
    for line in dockerfile.splitlines():
        words = [w for w in line.split() if not w.startswith("--")]
        if len(words) >= 2 and words[0].upper() == "FROM":
            alias = words[3] if len(words) >= 4 and words[2].upper() == "AS" else ""
            found.append((words[1], alias))
    return found


def _repository(ref: str) -> str:
    """``ref`` without its ``:tag`` / ``@digest`` (a registry's ``host:port/`` stays)."""
    ref = ref.split("@")[0]
    head, _, last = ref.rpartition("/")
    return (head + "/" if head else "") + last.split(":")[0]


def final_image(dockerfile: str) -> str | None:
    """The image the last stage of a Dockerfile builds on, through stage aliases
    (``FROM dev`` after ``FROM x AS dev`` is ``x``), without its tag; None when there is
    no FROM."""
    found = from_lines(dockerfile)
    if not found:
        return None
    aliases: dict[str, str] = {}
    for ref, alias in found:
        resolved = aliases.get(ref.lower(), ref)
        if alias:
            aliases[alias.lower()] = resolved
    last = found[-1][0]
    return _repository(aliases.get(last.lower(), last))


def _read(context: Path | None) -> str | None:
    if context is None:
        return None
    try:
        return (context / "Dockerfile").read_text()
    except (OSError, UnicodeDecodeError):
        return None


def builds_on_base(context: Path | None) -> bool:
    """True when the final stage of ``context``'s Dockerfile is built FROM the base image
    (it runs a node); a first stage FROM the -dev image does not count."""
    text = _read(context)
    return text is not None and final_image(text) in (BASE_IMAGE, BASE_DEV_IMAGE)


def names_dev_image(context: Path | None) -> bool:
    """True when any FROM of ``context``'s Dockerfile names the -dev image."""
    text = _read(context)
    return text is not None and any(_repository(ref) == BASE_DEV_IMAGE for ref, _ in from_lines(text))


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
