"""Read a project's ``autonomy.yaml`` (+ ``secrets.yaml``) into a validated :class:`Manifest`.

:func:`load` reads the files, parses them with PyYAML's *safe* loader (plus a check for
keys written twice, which YAML itself silently allows), and validates the result with
pydantic into frozen models. It never stops at the first mistake: every problem is
collected, mapped to the YAML path the user wrote (:mod:`.problems`), joined with the
cross-item rules (:mod:`.rules`) and raised together as one
:class:`~autonomy_cli.errors.ManifestError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import ManifestError, Problem, UsageError
from .model import _SECRET_NAME_RE, MANIFEST_FILE, SECRETS_FILE, Manifest, is_zone_name
from .problems import path_order, problem
from .rules import cross_checks
from .values import describe, scalar_text

__all__ = ["load", "zone_name"]


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader that also remembers keys written twice in one mapping."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[Any, yaml.Mark]] = []


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[dict[Any, Any]]:
    seen: set[tuple[str, str]] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            ident = (key_node.tag, key_node.value)
            if ident in seen:
                loader.duplicates.append((key_node.value, key_node.start_mark))
            seen.add(ident)
    return (yield from yaml.constructor.SafeConstructor.construct_yaml_map(loader, node))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def _parse_yaml(text: str, file: str) -> tuple[Any, list[Problem], bool]:
    """YAML text -> (data, problems, ok). ``ok`` is False when there is no usable data."""
    loader = _Loader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        what = e.problem or e.context or "syntax error"
        return None, [Problem("", f"{where}invalid YAML: {what}", file)], False
    except yaml.YAMLError as e:
        return None, [Problem("", f"invalid YAML: {e}", file)], False
    finally:
        loader.dispose()
    problems = [
        Problem("", f"line {m.line + 1}, column {m.column + 1}: key '{key}' is written twice in the same mapping", file)
        for key, m in loader.duplicates
    ]
    return data, problems, True


def _read_text(path: Path, file: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError([Problem("", f"not found in {path.parent}", file)]) from None
    except IsADirectoryError:
        raise ManifestError([Problem("", f"{path} is a folder, not a file", file)]) from None
    except UnicodeDecodeError as e:
        raise ManifestError([Problem("", f"is not UTF-8 text (byte {e.start})", file)]) from None
    except OSError as e:
        raise ManifestError([Problem("", f"cannot be read: {e.strerror or e}", file)]) from None


def _load_secrets(path: Path) -> tuple[dict[str, str] | None, list[Problem]]:
    """secrets.yaml -> (NAME -> value, problems); (None, []) when there is no such file."""
    if not path.exists():
        return None, []
    try:
        text = _read_text(path, SECRETS_FILE)
    except ManifestError as e:
        return {}, list(e.problems)
    data, problems, ok = _parse_yaml(text, SECRETS_FILE)
    if not ok:
        return {}, problems
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
    text = _read_text(manifest_path, file)
    data, problems, ok = _parse_yaml(text, file)
    secrets, secret_problems = _load_secrets(project / SECRETS_FILE)
    if not ok:
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
