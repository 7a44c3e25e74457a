"""Read a project's ``autonomy.yaml`` (+ ``secrets.yaml``) into a validated :class:`Manifest`.

Either file may also be spelled ``.yml``, or be named explicitly (``zone deploy --config
FILE --secrets FILE``).

:func:`load` reads the files and parses them (:mod:`.parsing`: safe constructors only,
bounded in size, depth and count, keys written twice reported), checks the sizes of
:mod:`.limits`, and validates the result with pydantic into frozen models. It never
stops at the first mistake: every problem is collected, mapped to the YAML path the user
wrote (:mod:`.problems`), joined with the cross-item rules (:mod:`.rules`) and raised
together as one :class:`~autonomy_cli.errors.ManifestError`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from ..errors import ManifestError, Problem, UsageError
from .limits import check_limits
from .model import (
    _SECRET_NAME_RE,
    MANIFEST_FILE,
    MANIFEST_FILES,
    SECRETS_FILE,
    SECRETS_FILES,
    Manifest,
    is_zone_name,
)
from .parsing import parse, read_text
from .problems import path_order, problem
from .rules import cross_checks
from .values import describe, scalar_text

__all__ = ["load", "zone_name"]


def _load_secrets(path: Path, file: str) -> tuple[dict[str, str] | None, list[Problem]]:
    """The secrets file -> (NAME -> value, problems); ``file`` is its name in messages."""
    try:
        text = read_text(path, file)
    except ManifestError as e:
        return {}, list(e.problems)
    data, problems = parse(text, file, reveal=False)
    if data is None:
        return {}, problems
    if not isinstance(data, dict):
        return {}, problems + [Problem("", f"expected a mapping of NAME: value, got {describe(data)}", file)]
    secrets: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not _SECRET_NAME_RE.match(name):
            problems.append(
                Problem(
                    str(name),
                    "a secret name must be letters, digits, '_' and '-', starting with a letter or '_'",
                    file,
                )
            )
            continue
        text_value = scalar_text(value)
        if text_value is None:
            problems.append(Problem(name, f"expected a string, number or boolean, got {describe(value)}", file))
            continue
        secrets[name] = text_value
    return secrets, problems


def _find(folder: Path, names: tuple[str, ...], option: str) -> Path | None:
    """The one of ``names`` present in ``folder``, None if none; an error if several are."""
    present = [folder / n for n in names if os.path.lexists(folder / n)]
    if len(present) > 1:
        both = " and ".join(p.name for p in present)
        raise ManifestError(
            [Problem("", f"{both} are both in {folder}; keep one, or name the one to read with {option}", names[0])]
        )
    return present[0] if present else None


# --------------------------------------------------------------------------- errors -> problems


def load(project_dir: Path, *, config: Path | None = None, secrets: Path | None = None) -> Manifest:
    """Read and validate the project's manifest and, when there is one, its secrets file.

    The manifest is ``config`` when given, else ``autonomy.yaml`` or ``autonomy.yml`` in
    ``project_dir`` (which may also be the manifest file itself); the secrets file is
    ``secrets`` when given, else ``secrets.yaml`` or ``secrets.yml`` beside the manifest.
    A folder holding both spellings of one file is an error. Messages name a file given
    here as it was given. ``images/`` is read in ``project_dir``. Raises
    :class:`~autonomy_cli.errors.ManifestError` with every problem found; reads files only.
    """
    given = Path(project_dir)
    project = given.parent if given.is_file() else given
    if config is not None:
        manifest_path, file = Path(config), str(config)
    elif given.is_file():
        manifest_path, file = given, given.name
    else:
        manifest_path = _find(given, MANIFEST_FILES, "--config") or given / MANIFEST_FILE
        file = manifest_path.name
    text = read_text(manifest_path, file)
    data, problems = parse(text, file)
    if secrets is not None:
        secrets_path: Path | None = Path(secrets)
        secrets_file = str(secrets)
    else:
        secrets_path = _find(manifest_path.parent, SECRETS_FILES, "--secrets")
        secrets_file = secrets_path.name if secrets_path is not None else SECRETS_FILE
    found_secrets, secret_problems = _load_secrets(secrets_path, secrets_file) if secrets_path else (None, [])
    if data is None and problems:
        raise ManifestError(problems + secret_problems)
    if data is None:
        raise ManifestError(
            problems + [Problem("", "is empty; expected a mapping with keys 'name' and 'pods'", file)] + secret_problems
        )
    if not isinstance(data, dict):
        raise ManifestError(
            problems
            + [Problem("", f"expected a mapping with keys 'name' and 'pods', got {describe(data)}", file)]
            + secret_problems
        )
    too_big = check_limits(data)
    if too_big:  # before the model: validating what is too big would cost as much as it is big
        raise ManifestError(problems + [Problem(p.path, p.message, file) for p in too_big] + secret_problems)
    context = {
        "project_dir": project,
        "secrets": found_secrets,
        "secrets_broken": bool(secret_problems),
        "secrets_file": secrets_file,
        "manifest_file": file,
    }
    manifest: Manifest | None = None
    found: list[Problem] = []
    try:
        manifest = Manifest.model_validate(data, context=context)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            p = problem(err, data)
            if p is not None:
                found.append(Problem(p.path, p.message, file))
    found += [Problem(p.path, p.message, file) for p in cross_checks(data)]
    found.sort(key=path_order)
    problems += found
    if problems or secret_problems or manifest is None:
        raise ManifestError(problems + secret_problems)
    return manifest


def zone_name(name: str | None, project_dir: Path | None) -> str:
    """The zone a command acts on: ``name`` as given, else the one in the project's
    autonomy.yaml (``project_dir`` or the current folder). UsageError if not a zone name."""
    if name is None:
        d = (project_dir or Path.cwd()).resolve()
        if not d.is_dir():
            raise UsageError(f"{d}: not a folder")
        name = load(d).name
    if not is_zone_name(name):
        raise UsageError(f"{name!r} is not a zone name (1..10 characters of a-z and 0-9)")
    return name
