"""Helpers for runtime tests: where the test apps are, common pods."""

from __future__ import annotations

from pathlib import Path

from autonomy.testing import LocalPod

APPS = Path(__file__).resolve().parent / "apps"


def app(name: str) -> Path:
    """The main.py of a test app under tests/runtime/apps/."""
    return APPS / name / "main.py"


def runners(n: int = 2) -> LocalPod:
    """A pod of ``n`` clones that only serve (``Node.start()``)."""
    return LocalPod("runner-pod", app("serve"), clones=n, container="runner")
