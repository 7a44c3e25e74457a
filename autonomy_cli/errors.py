"""Exceptions of the ``autonomy`` CLI.

One root, :class:`CliError`. Library code (manifest, plan, compose, engine) raises these
and never prints or exits; only the command layer turns them into a message on stderr and
an exit code (``exit_code`` on each class)::

    CliError                      anything the user can fix; exit code 1
    ├── ManifestError             autonomy.yaml / secrets.yaml is wrong; exit code 2
    │                             (every Problem at once, one line each)
    └── PlanError                 the manifest is valid but cannot be deployed as is
                                  (e.g. a secret value an env file cannot carry)

A :class:`Problem` is one mistake at one place::

    Problem(path="pods[1].containers[0].image", message="expected a string, got a number (3)")

and prints as ``autonomy.yaml: pods[1].containers[0].image: expected a string, got a number (3)``.
A problem with no path (a missing file, a YAML syntax error) prints as
``autonomy.yaml: <message>``. Problems about secrets name ``secrets.yaml`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

__all__ = ["CliError", "ManifestError", "PlanError", "Problem"]


class CliError(Exception):
    """Root of every exception the CLI raises on purpose: the user can act on its text."""

    exit_code: int = 1


@dataclass(frozen=True)
class Problem:
    """One mistake in a user's file: where (a YAML path like ``pods[0].name``) and what."""

    path: str
    message: str
    file: str = "autonomy.yaml"

    def __str__(self) -> str:
        if self.path:
            return f"{self.file}: {self.path}: {self.message}"
        return f"{self.file}: {self.message}"


class ManifestError(CliError):
    """autonomy.yaml (or secrets.yaml) is missing or wrong; carries every problem found.

    The message is one line per problem, in the order given, so printing ``str(error)``
    is the whole report.
    """

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ManifestError needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))


class PlanError(CliError):
    """The manifest is valid but the zone cannot be planned or its files written."""
