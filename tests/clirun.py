"""The one way tests launch the ``autonomy`` command: ``python -m autonomy_cli``, as the
``autonomy`` entry point runs it, in a child process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from autonomy_cli.labels import PREFIX as LABEL

__all__ = ["LABEL", "autonomy_argv", "run_autonomy"]


def autonomy_argv(*args: str) -> list[str]:
    """The command line of ``autonomy <args>``."""
    return [sys.executable, "-m", "autonomy_cli", *args]


def run_autonomy(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    timeout: float = 600,
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """Run ``autonomy <args>`` to its end; output captured as text."""
    return subprocess.run(
        autonomy_argv(*args), env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs
    )
