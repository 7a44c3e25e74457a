"""Shared test setup: the runtime package is importable without installing."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (str(ROOT / "runtime"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)
