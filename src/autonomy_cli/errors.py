"""Exceptions of the ``autonomy`` CLI.

One root, :class:`CliError`. Library code (manifest, plan, compose, docker, zones, logs)
raises these and never prints or exits; only the command layer (autonomy_cli.commands)
turns them into a message on stderr and an exit code (``exit_code`` on each class)::

    CliError                      anything the user can fix; exit code 1
    ├── ManifestError             autonomy.yaml / secrets.yaml is wrong; exit code 2
    │                             (every Problem at once, one line each)
    ├── PlanError                 the manifest is valid but cannot be deployed as is
    │                             (e.g. a secret value an env file cannot carry)
    ├── UsageError                a command was given something it cannot use; exit code 2
    ├── ClusterError              the cluster identity is missing or unreadable
    ├── ZoneNotFound              no container of the zone is here (``zone``)
    ├── ImageError                the base image cannot be built (autonomy_cli.docker.image)
    └── EngineError               Docker is unreachable or refused something
        ├── PreflightError        a port is taken or the host is too small; nothing started
        ├── BuildError            an image of the project did not build (its last lines)
        ├── ImageUnavailable      an image cannot be pulled; nothing started; exit code 2
        └── DeployFailed          a container died while the zone started (its last logs)

A :class:`Problem` is one mistake at one place::

    Problem(path="pods[1].containers[0].image", message="expected a string, got a number (3)")

and prints as ``autonomy.yaml: pods[1].containers[0].image: expected a string, got a number (3)``.
A problem with no path (a missing file, a YAML syntax error) prints as
``autonomy.yaml: <message>``. Problems about secrets name ``secrets.yaml`` instead.

A user's file may hold anything, so a problem prints through :func:`printable`: control
characters escaped (``\\x1b``, never a raw escape sequence), line breaks too (a value
cannot forge a line of its own), long text cut. A :class:`ManifestError` shows its first
:data:`MAX_SHOWN_PROBLEMS` problems and counts the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BuildError",
    "CliError",
    "ClusterError",
    "DeployFailed",
    "EngineError",
    "ImageError",
    "ImageUnavailable",
    "MAX_SHOWN_PROBLEMS",
    "ManifestError",
    "PlanError",
    "PreflightError",
    "Problem",
    "UsageError",
    "ZoneNotFound",
    "printable",
]

MAX_SHOWN_PROBLEMS = 20
"""Problems a ManifestError's message lists; it ends with how many more there are."""

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, limit: int = 500, *, one_line: bool = False) -> str:
    """``text`` safe to show on a terminal: every control or invisible character escaped
    (``\\x1b``, ``\\u202e``), and cut after ``limit`` characters with a note of how many
    more there were. ``one_line`` escapes line breaks too, so that text from a user's file
    cannot start a line of its own in a message.
    """
    more = len(text) - limit
    if more > 0:
        text = text[:limit]
    if not text.isprintable():
        keep = "" if one_line else "\n"
        text = "".join(c if c.isprintable() or c in keep else _escaped(c) for c in text)
    return f"{text}... ({more} more characters)" if more > 0 else text


def _escaped(char: str) -> str:
    code = ord(char)
    if char in _ESCAPES:
        return _ESCAPES[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


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
        message = printable(self.message, 1000, one_line=True)
        if self.path:
            return f"{self.file}: {printable(self.path, one_line=True)}: {message}"
        return f"{self.file}: {message}"


class ManifestError(CliError):
    """autonomy.yaml (or secrets.yaml) is missing or wrong; carries every problem found.

    The message is one line per problem, in the order given (the first
    :data:`MAX_SHOWN_PROBLEMS`, then ``... and N more problems``), so printing
    ``str(error)`` is the whole report; ``problems`` holds them all.
    """

    exit_code = 2

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("ManifestError needs at least one problem")
        lines = [str(p) for p in self.problems[:MAX_SHOWN_PROBLEMS]]
        if len(self.problems) > MAX_SHOWN_PROBLEMS:
            lines.append(f"... and {len(self.problems) - MAX_SHOWN_PROBLEMS} more problems")
        super().__init__("\n".join(lines))


class PlanError(CliError):
    """The manifest is valid but the zone cannot be planned or its files written."""


class UsageError(CliError):
    """A command was given something it cannot use (a zone name, a folder, a setting)."""

    exit_code = 2


class ClusterError(CliError):
    """The cluster identity under AUTONOMY_HOME is missing or unreadable."""


class ZoneNotFound(CliError):
    """A command names a zone that has no container on this machine."""

    def __init__(self, zone: str) -> None:
        self.zone = zone
        super().__init__(
            f"zone {zone!r} has no containers here: is it deployed? (`autonomy zone list` shows the zones)"
        )


class ImageError(CliError):
    """The base image could not be built; the text says why and what to do."""


class EngineError(CliError):
    """Docker is not reachable, or refused what we asked of it."""


class PreflightError(EngineError):
    """The zone cannot start here (a port is held, the host is too small); nothing started."""

    exit_code = 2

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class BuildError(EngineError):
    """An image of the project did not build."""

    def __init__(self, image: str, context: str, lines: Iterable[str]) -> None:
        self.image = image
        self.context = context
        self.lines = tuple(lines)
        tail = "\n".join(f"  | {printable(line, one_line=True)}" for line in self.lines[-15:])
        super().__init__(f"image {image} (from {context}) did not build:\n{tail}")


class ImageUnavailable(EngineError):
    """An image the zone needs is not on this machine and cannot be pulled; nothing started."""

    exit_code = 2

    def __init__(self, image: str, wanted_by: str, reason: str) -> None:
        self.image = image
        self.wanted_by = wanted_by  # "images/ui/Dockerfile", or the container of autonomy.yaml
        self.reason = reason
        where, what = printable(wanted_by, 300, one_line=True), printable(image, 200, one_line=True)
        super().__init__(
            f"{where}: image {what} is not on this machine and cannot be pulled: "
            f"{printable(reason, 300, one_line=True)}\nNothing was started. Pull or build that image "
            f"first (`docker pull`, `docker build -t`), or name another one."
        )


class DeployFailed(EngineError):
    """A container of the zone stopped while the zone was starting."""

    def __init__(self, container: str, state: str, logs: Iterable[str]) -> None:
        self.container = container
        self.state = state
        self.logs = tuple(logs)
        tail = "\n".join(f"  | {printable(line, one_line=True)}" for line in self.logs[-20:]) or "  | (no output)"
        super().__init__(
            f"container {container} {state} while the zone was starting; its last log lines:\n{tail}\n"
            f"The zone is left as it is for you to look at; `autonomy zone delete` removes it."
        )
