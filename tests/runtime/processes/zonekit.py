"""Helpers for runtime tests: where the test apps are, common pods."""

from __future__ import annotations

from pathlib import Path

from autonomy.testing import LocalPod

APPS = Path(__file__).resolve().parent / "apps"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
# seed snippets that are also examples/ run from there: one copy of each
_IN_EXAMPLES = {
    "echoer": "hello/images/main",
    "counter_printer": "counter/images/main",
    "multinode_runner": "multinode/images/runner",
    "multinode_client": "multinode/images/client",
    "distribute": "distribute/images/main",
}


def app(name: str) -> Path:
    """The main.py of a test app: tests/runtime/processes/apps/<name>, or the example it is."""
    if name in _IN_EXAMPLES:
        return EXAMPLES / _IN_EXAMPLES[name] / "main.py"
    return APPS / name / "main.py"


def runners(n: int = 2) -> LocalPod:
    """A pod of ``n`` clones that only serve (``Node.start()``)."""
    return LocalPod("runner-pod", app("serve"), clones=n, container="runner")
