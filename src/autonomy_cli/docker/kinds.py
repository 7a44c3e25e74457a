"""Which containers of a project are *nodes*: the rule, read from the project's files.

A container is a **node** when both hold:

1. its image is built here (``images/<name>/Dockerfile``) ``FROM`` the base image
   (:func:`~autonomy_cli.docker.dockerfile.builds_on_base`), so the runtime is in it;
2. its build context calls the runtime's node: a ``.py`` file there (or the Dockerfile
   itself, for ``python -c``) contains ``Node.start`` or ``Node(`` (:data:`NODE_CALL`).

Every other container is a **service**: a registry image (an MCP server), or a plain
program built on the base image (``python -m http.server``). ``zone deploy`` waits for
nodes to answer an encrypted ping; it never waits for a service, which gets no node key
and no roster. A service that calls ``Node.start`` all the same runs a standalone node
(no peers) and says so in its log (``AUTONOMY_DEPLOYED_AS=service``, see
:mod:`autonomy.nodes._serve`).

The same reading tells whether a zone's code uses models (:func:`uses_models`): a
``.py`` file that calls ``Agent.start``/``Agent.start_many``/``Model(`` (:data:`MODEL_CALL`).
Only then does a deploy with no model provider configured start the bundled offline
model (building its image takes minutes the first time); the model gateway runs either way.

The rule is static so that it is known before anything starts, and cheap: at most
:data:`MAX_FILES` files of at most :data:`MAX_FILE_BYTES` each are read per context,
skipping folders that hold no user code (``.git``, ``node_modules``, virtualenvs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from .dockerfile import builds_on_base

__all__ = [
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "MODEL_CALL",
    "NODE_CALL",
    "calls_node",
    "node_contexts",
    "runs_node",
    "uses_models",
]

#: ``Node.start`` (also ``autonomy.Node.start``) or ``Node(``, not ``RemoteNode(``
NODE_CALL = re.compile(r"(?<![A-Za-z0-9_])Node\s*(?:\.\s*start\b|\()")
#: ``Agent.start(``, ``Agent.start_many(`` or ``Model(``
MODEL_CALL = re.compile(r"(?<![A-Za-z0-9_])(?:Agent\s*\.\s*start(?:_many)?|Model)\s*\(")
MAX_FILES = 2000
MAX_FILE_BYTES = 1 << 20
_SKIP_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".tox", "site-packages"})


def _candidates(context: Path) -> Iterable[Path]:
    yield context / "Dockerfile"
    seen = 0
    for root, dirs, files in os.walk(context):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            seen += 1
            if seen > MAX_FILES:
                return
            yield Path(root) / name


def calls_node(context: Path) -> bool:
    """True when a ``.py`` file of ``context`` (or its Dockerfile) calls ``Node.start``/``Node(``."""
    return _mentions(context, NODE_CALL)


def _mentions(context: Path, pattern: re.Pattern[str]) -> bool:
    for path in _candidates(context):
        try:
            with path.open("rb") as f:
                text = f.read(MAX_FILE_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        if pattern.search(text):
            return True
    return False


def runs_node(context: Path | None) -> bool:
    """The rule of this module for one build context (``None``: a registry image)."""
    return context is not None and builds_on_base(context) and calls_node(context)


def node_contexts(project_dir: Path, contexts: Iterable[str | None]) -> frozenset[str]:
    """Of ``contexts`` (relative to ``project_dir``, as the manifest writes them), those
    whose containers are nodes; each is read once."""
    found = {c for c in contexts if c is not None}
    return frozenset(c for c in found if runs_node(Path(project_dir) / c))


def uses_models(project_dir: Path, contexts: Iterable[str | None]) -> bool:
    """True when a build context of ``contexts`` (relative to ``project_dir``) has code
    that starts agents or makes a ``Model`` (:data:`MODEL_CALL`)."""
    found = {c for c in contexts if c is not None}
    return any(_mentions(Path(project_dir) / c, MODEL_CALL) for c in sorted(found))
