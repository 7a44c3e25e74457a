"""Helpers for runtime tests: where the test apps are, common pods."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from autonomy.testing import LocalPod, LocalZone

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


def run_checks(workdir: Path, name: str, n_runners: int) -> Iterator[str]:
    """Run check app ``name`` on main-pod beside ``n_runners`` runners; yield its output once
    it prints ``CHECKS DONE``; every node must then exit 0."""
    zone = LocalZone([LocalPod("main-pod", app(name)), runners(n_runners)], workdir=workdir)
    zone.start()
    try:
        yield zone.wait_for("main-pod", "CHECKS DONE", timeout=120)
    finally:
        codes = zone.stop()
    assert set(codes.values()) == {0}, codes


def assert_check(output: str, check: str) -> None:
    """The app printed ``CHECK <check>: ok``."""
    m = re.search(rf"^CHECK {check}: (.*)$", output, re.M)
    assert m, f"{check} did not run:\n{output[-3000:]}"
    assert m.group(1) == "ok", output[-3000:]
