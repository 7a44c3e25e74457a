"""The test files' names are unique across tests/: pytest imports them as top-level
modules (no packages), and a second ``test_x.py`` elsewhere stops the whole run at
collection ("import file mismatch")."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_name_is_unique() -> None:
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, k in names.items() if k > 1] == []
