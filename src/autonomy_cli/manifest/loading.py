"""Read a project's ``autonomy.yaml`` (+ ``secrets.yaml``) into a validated :class:`Manifest`.

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
from .model import _SECRET_NAME_RE, MANIFEST_FILE, SECRETS_FILE, Manifest, is_zone_name
from .parsing import parse, read_text
from .problems import path_order, problem
from .rules import cross_checks
from .values import describe, scalar_text

__all__ = ["load", "zone_name"]


def _load_secrets(path: Path) -> tuple[dict[str, str] | None, list[Problem]]:
    """secrets.yaml -> (NAME -> value, problems); (None, []) when there is no such file."""
    if not os.path.lexists(path):
        return None, []
    try:
        text = read_text(path, SECRETS_FILE)
    except ManifestError as e:
        return {}, list(e.problems)
    data, problems = parse(text, SECRETS_FILE, reveal=False)
    if data is None:
        return {}, problems
    if not isinstance(data, dict):
        return {}, problems + [Problem("", f"expected a mapping of NAME: value, got {describe(data)}", SECRETS_FILE)]
    secrets: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(name, str) or not _SECRET_NAME_RE.match(name):
            problems.append(
                Problem(
                    str(name),
                    "a secret name must be letters, digits, '_' and '-', starting with a letter or '_'",
                    SECRETS_FILE,
                )
            )
            continue
        text_value = scalar_text(value)
        if text_value is None:
            problems.append(Problem(name, f"expected a string, number or boolean, got {describe(value)}", SECRETS_FILE))
            continue
        secrets[name] = text_value
    return secrets, problems


# --------------------------------------------------------------------------- errors -> problems


def load(project_dir: Path) -> Manifest:
    """Read and validate ``<project_dir>/autonomy.yaml`` (and ``secrets.yaml`` beside it).

    ``project_dir`` may also be the path of the autonomy.yaml file itself. Raises
    :class:`~autonomy_cli.errors.ManifestError` with every problem found; reads files only.
    """
    given = Path(project_dir)
    if given.is_file():
        manifest_path, project = given, given.parent
    else:
        manifest_path, project = given / MANIFEST_FILE, given
    file = manifest_path.name
    text = read_text(manifest_path, file)
    data, problems = parse(text, file)
    secrets, secret_problems = _load_secrets(project / SECRETS_FILE)
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
    context = {"project_dir": project, "secrets": secrets, "secrets_broken": bool(secret_problems)}
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
