"""Print a pip constraints file that pins every dependency to its floor.

Each requirement of pyproject.toml written ``name>=X`` (in ``dependencies`` and in the
optional groups named on the command line) becomes ``name==X``: installed with
``pip install -c``, the package is then tested against the oldest versions it claims to
support. A requirement without a ``>=`` floor is left out (pip resolves it freely).

    python .ci/floors.py test > constraints.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

_FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def floors(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project.get("dependencies", []))
    for extra in extras:
        requirements += project.get("optional-dependencies", {}).get(extra, [])
    pins: list[str] = []
    for requirement in requirements:
        m = _FLOOR.match(requirement.split(";")[0])
        if m is None:
            continue
        name, spec = m.groups()
        for clause in spec.split(","):
            clause = clause.strip()
            if clause.startswith(">="):
                pins.append(f"{name}=={clause[2:].strip()}")
    return pins


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    print("\n".join(floors(root / "pyproject.toml", sys.argv[1:])))
