"""Read a project's ``autonomy.yaml`` (+ ``secrets.yaml``) into a frozen, validated model.

This is the first stage of the CLI's one-way pipeline (DESIGN.md §2)::

    autonomy.yaml + secrets.yaml --load()--> Manifest --plan()--> ZonePlan --render()--> compose dict

:func:`load` reads the files, parses them with PyYAML's *safe* loader (plus a check for
keys written twice, which YAML itself silently allows), and validates the result with
pydantic into frozen models. It never stops at the first mistake: every problem is
collected, mapped to the YAML path the user wrote (``pods[1].containers[0].image``) and
raised together as one :class:`~autonomy_cli.errors.ManifestError`.

What users write (DESIGN.md §3)::

    name: hello                    # the zone: 1..10 characters, a-z and 0-9
    pods:
      - name: main-pod             # a-z, 0-9 and '-', starts with a letter, <= 40 chars
        public: true               # at most one pod: its port 8000 is the zone's HTTP endpoint
        size: big                  # regular (default) | big
        clones: 5                  # >= 1: five separate pod instances
        containers:
          - name: main
            image: main            # images/main/Dockerfile exists -> built locally
            env:                   # a mapping, or a list of `- NAME: value`
              - LOG_LEVEL: INFO
              - API_KEY: secrets.MY_KEY     # resolved from secrets.yaml
            args: ["--port", "8001"]        # appended to the image's ENTRYPOINT
        portals:
          outlets:
            - to: localhost:7000            # a port inside the pod ...
              inlet_from: localhost:32102   # ... reachable on 127.0.0.1:32102 here

How the model is shaped, and why:

* ``env`` comes in two spellings in the wild; both become one ordered tuple of
  :class:`EnvVar`. Scalars become text the way YAML wrote them (``true`` -> ``"true"``).
  A value ``secrets.NAME`` is replaced by ``NAME``'s value from ``secrets.yaml`` and the
  variable is marked ``secret=True``, so later stages can keep it out of any file that is
  not private (the Compose file carries only non-secret values).
* ``image`` becomes an :class:`Image`: ``local=True`` when ``images/<image>/Dockerfile``
  exists in the project (the only filesystem fact the pipeline needs), else a registry
  reference used as is. A folder under ``images/`` without a Dockerfile does not make an
  image local.
* Cross-item rules (unique names, one public pod, distinct inlet ports, distinct pod
  instance and node names) are checked on the raw data, so they are reported even when
  other parts of the file are broken.

Secrets travel to containers in env files that both Compose v1 (python-dotenv) and
Compose v2 (compose-go) must read identically; they agree on single-quoted text only when
it holds no ``'``, no ``${`` and no ``\\\\`` and does not end in ``\\``. A referenced secret
outside that set is reported here, at load time, rather than mangled later.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ManifestError, Problem, UsageError

__all__ = [
    "zone_name",
    "MANIFEST_FILE",
    "SECRETS_FILE",
    "MAX_CLONES",
    "RESERVED_ENV",
    "Container",
    "EnvVar",
    "Image",
    "Manifest",
    "Outlet",
    "Pod",
    "Portals",
    "load",
    "secret_value_problem",
]

MANIFEST_FILE = "autonomy.yaml"
SECRETS_FILE = "secrets.yaml"
MAX_CLONES = 100
"""A sanity bound: every clone is a set of containers on this one machine."""

RESERVED_ENV = frozenset({"CLUSTER", "ZONE", "NODE", "AUTONOMY_ROSTER", "AUTONOMY_KEY"})
"""Set by the CLI in every container (DESIGN.md §6); a user value would break the node."""

_ZONE_RE = re.compile(r"^[a-z0-9]{1,10}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_NAME_MAX = 40
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_SECRET_NAME_RE = re.compile(rf"^{_SECRET_NAME}$")
_SECRET_REF_RE = re.compile(rf"^secrets\.({_SECRET_NAME})$")
_PORT_RE = re.compile(r"^(?:(?P<host>[^:]+):)?(?P<port>[0-9]{1,5})$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1")
# A folder name under images/ that may hold a Dockerfile (no path separators, no "..").
_FOLDER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# A local image becomes part of a tag: autonomy-<zone>-<image>.
_LOCAL_IMAGE_RE = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?/)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
_DIGEST = r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
_REFERENCE_RE = re.compile(rf"^{_DOMAIN}{_COMPONENT}(?:/{_COMPONENT})*{_TAG}{_DIGEST}$")


# --------------------------------------------------------------------------- helpers


def _describe(value: Any) -> str:
    """How a YAML value reads in an error message: its kind, and for scalars the value."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return f"a date ({value})"
    return type(value).__name__


def _scalar_text(value: Any) -> str | None:
    """YAML scalar -> the text a container sees; None when it is not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return str(value)
    return None


def secret_value_problem(value: str) -> str | None:
    """Why a secret value cannot travel in an env file read alike by Compose v1 and v2."""
    if "'" in value:
        return "contains a single quote (')"
    if "${" in value:
        return "contains '${'"
    if "\\\\" in value or value.endswith("\\"):
        return "contains a double backslash or ends with a backslash"
    return None


def _check_name(value: str, what: str) -> str:
    if len(value) > _NAME_MAX or not _NAME_RE.match(value):
        raise ValueError(
            f"{what} name must be lowercase a-z, 0-9 and single '-' between them, start with a "
            f"letter and be at most {_NAME_MAX} characters, got {value!r}"
        )
    return value


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context if isinstance(info.context, dict) else {}


@dataclass(frozen=True)
class _RawEnv:
    """One ``NAME: value`` pair as read from YAML, before EnvVar validates it."""

    name: Any
    value: Any


@dataclass(frozen=True)
class _BadEnvItem:
    """An env list item that is not ``NAME: value``; EnvVar reports ``reason`` for it."""

    reason: str


def _flatten_env(raw: Any) -> list[tuple[Any, Any]]:
    """Both env spellings as one ordered list of (name or None, value or bad item).

    Used by the validator and by the error mapper alike, so an error at ``env[i]`` can be
    reported at ``env.<NAME>``.
    """
    if isinstance(raw, dict):
        return list(raw.items())
    out: list[tuple[Any, Any]] = []
    if isinstance(raw, (list, tuple)):
        for item in raw:
            if isinstance(item, EnvVar):
                out.append((item.name, item))
            elif isinstance(item, dict) and item:
                out.extend(item.items())
            else:
                out.append((None, _BadEnvItem(_bad_env_reason(item))))
    return out


def _bad_env_reason(item: Any) -> str:
    if isinstance(item, str) and "=" in item:
        k, _, v = item.partition("=")
        return f"write `{k.strip()}: {v.strip()}` instead of {item!r}"
    if isinstance(item, dict):
        return "expected `NAME: value`, got an empty mapping"
    return f"expected `NAME: value`, got {_describe(item)}"


# --------------------------------------------------------------------------- models


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EnvVar(_Frozen):
    """One environment variable of a container; ``secret`` when it came from secrets.yaml."""

    name: str
    value: str = Field(repr=False)
    secret: bool = False

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, _BadEnvItem):
            raise ValueError(data.reason)
        if not isinstance(data, _RawEnv):
            return data
        name = data.name
        if not isinstance(name, str):
            raise ValueError(f"a variable name must be text, got {_describe(name)}")
        text = _scalar_text(data.value)
        if text is None:
            raise ValueError(f"expected a string, number or boolean, got {_describe(data.value)}")
        ref = _SECRET_REF_RE.match(text) if isinstance(data.value, str) else None
        if ref is None:
            return {"name": name, "value": text, "secret": False}
        secret = ref.group(1)
        ctx = _context(info)
        secrets: dict[str, str] | None = ctx.get("secrets")
        if ctx.get("secrets_broken"):
            return {"name": name, "value": "", "secret": True}  # secrets.yaml's own problems say why
        if secrets is None:
            raise ValueError(
                f"secret '{secret}' is not defined in {SECRETS_FILE} "
                f"(there is no {SECRETS_FILE} beside {MANIFEST_FILE})"
            )
        if secret not in secrets:
            raise ValueError(f"secret '{secret}' is not defined in {SECRETS_FILE}")
        why = secret_value_problem(secrets[secret])
        if why is not None:
            raise ValueError(f"secret '{secret}' in {SECRETS_FILE} {why}, which cannot be passed to a container safely")
        return {"name": name, "value": secrets[secret], "secret": True}

    @field_validator("name")
    @classmethod
    def _check_env_name(cls, value: str) -> str:
        if not _ENV_NAME_RE.match(value):
            raise ValueError(
                f"a variable name must be letters, digits and '_', not starting with a digit, got {value!r}"
            )
        if value in RESERVED_ENV:
            raise ValueError(f"{value} is set by autonomy in every container; choose another name")
        return value


class Image(_Frozen):
    """A container's image: a folder ``images/<name>/`` with a Dockerfile, or a registry reference."""

    name: str
    local: bool = False

    @property
    def context(self) -> str | None:
        """The build context relative to the project folder, for a local image."""
        return f"images/{self.name}" if self.local else None


class Container(_Frozen):
    """One container of a pod."""

    name: str
    image: Image
    env: tuple[EnvVar, ...] = ()
    args: tuple[str, ...] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "container")

    @field_validator("image", mode="before")
    @classmethod
    def _image(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Image):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected an image name, got {_describe(value)}")
        if not value.strip():
            raise ValueError("must not be empty")
        project_dir = _context(info).get("project_dir")
        local = False
        if project_dir is not None and _FOLDER_RE.match(value):
            local = (Path(project_dir) / "images" / value / "Dockerfile").is_file()
        if local:
            if not _LOCAL_IMAGE_RE.match(value):
                raise ValueError(
                    f"images/{value}/ has a Dockerfile, but a local image name must be lowercase "
                    "a-z, 0-9 and single '.', '_' or '-' between them (it becomes part of an image tag)"
                )
        elif not _REFERENCE_RE.match(value):
            raise ValueError(
                f"{value!r} is neither a folder images/{value}/ with a Dockerfile nor a valid "
                "registry image reference (which is lowercase, like ghcr.io/owner/name:tag)"
            )
        return Image(name=value, local=local)

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: Any) -> Any:
        if value is None:
            return ()
        if not isinstance(value, (dict, list, tuple)):
            raise ValueError(f"expected a mapping of NAME: value, or a list of `- NAME: value`, got {_describe(value)}")
        items: list[Any] = []
        seen: set[str] = set()
        for name, item in _flatten_env(value):
            if isinstance(item, (EnvVar, _BadEnvItem)):
                entry: Any = item
            else:
                entry = _RawEnv(name, item)
            if isinstance(name, str):
                if name in seen:
                    entry = _BadEnvItem(f"{name} is set twice")
                seen.add(name)
            items.append(entry)
        return items

    @field_validator("args", mode="before")
    @classmethod
    def _args(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(f'expected a list of strings, e.g. ["--port", "8001"], got {_describe(value)}')
        if isinstance(value, (list, tuple)):
            # numbers and booleans read as text ("8001"); anything else fails as not a string
            return [v if isinstance(v, str) or _scalar_text(v) is None else _scalar_text(v) for v in value]
        return value

    @property
    def plain_env(self) -> tuple[EnvVar, ...]:
        return tuple(e for e in self.env if not e.secret)

    @property
    def secret_env(self) -> tuple[EnvVar, ...]:
        return tuple(e for e in self.env if e.secret)


def _parse_port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected localhost:<port>, got {_describe(value)}")
    if isinstance(value, int):
        port = value
    else:
        m = _PORT_RE.match(value.strip())
        if not m:
            raise ValueError(f"expected localhost:<port>, got {_describe(value)}")
        host = m.group("host")
        if host is not None and host not in _LOCAL_HOSTS:
            raise ValueError(f"only localhost (or 127.0.0.1) is allowed here, got {value!r}")
        port = int(m.group("port"))
    if not 1 <= port <= 65535:
        raise ValueError(f"a port must be between 1 and 65535, got {port}")
    return port


class Outlet(_Frozen):
    """A port inside a pod (``to``) made reachable on 127.0.0.1 of this machine (``inlet_from``)."""

    to: int
    inlet_from: int

    @field_validator("to", "inlet_from", mode="before")
    @classmethod
    def _port(cls, value: Any) -> int:
        return _parse_port(value)


class Portals(_Frozen):
    outlets: tuple[Outlet, ...] = ()


class Pod(_Frozen):
    """A group of containers sharing one network namespace; ``clones`` copies of it."""

    name: str
    public: Annotated[bool, Field(strict=True)] = False
    size: Literal["regular", "big"] = "regular"
    clones: Annotated[int, Field(strict=True, ge=1, le=MAX_CLONES)] = 1
    containers: tuple[Container, ...] = Field(min_length=1)
    portals: Portals | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "pod")

    @property
    def outlets(self) -> tuple[Outlet, ...]:
        return self.portals.outlets if self.portals is not None else ()


class Manifest(_Frozen):
    """A whole autonomy.yaml: the zone's name and its pods."""

    name: str
    pods: tuple[Pod, ...] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not _ZONE_RE.match(value):
            raise ValueError(f"a zone name must be 1 to 10 characters of a-z and 0-9, got {value!r}")
        return value

    @property
    def public_pod(self) -> Pod | None:
        return next((p for p in self.pods if p.public), None)


# --------------------------------------------------------------------------- YAML


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
        return {}, problems + [Problem("", f"expected a mapping of NAME: value, got {_describe(data)}", SECRETS_FILE)]
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
        text_value = _scalar_text(value)
        if text_value is None:
            problems.append(
                Problem(name, f"expected a string, number or boolean, got {_describe(value)}", SECRETS_FILE)
            )
            continue
        secrets[name] = text_value
    return secrets, problems


# --------------------------------------------------------------------------- errors -> problems


def _lookup(data: Any, loc: Sequence[Any]) -> Any:
    """The raw YAML value at a pydantic location, or None where the walk fails."""
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _render_loc(loc: Sequence[Any], data: Any) -> str:
    """``('pods', 1, 'containers', 0, 'env', 2, 'value')`` -> ``pods[1].containers[0].env.API_KEY``."""
    out = ""
    i = 0
    while i < len(loc):
        part = loc[i]
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
            if part == "env" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
                flat = _flatten_env(_lookup(data, loc[: i + 1]))
                idx = loc[i + 1]
                name = flat[idx][0] if 0 <= idx < len(flat) else None
                out += f".{name}" if isinstance(name, str) else f"[{idx}]"
                break  # name/value below an env entry add nothing for the reader
        i += 1
    return out


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _unwrap_model(arg)
        if found is not None:
            return found
    return None


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """Which model validates the mapping at ``loc`` (for "unknown key" suggestions)."""
    model: type[BaseModel] | None = Manifest
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _unwrap_model(model.model_fields[part].annotation)
    return model


_EMPTY = {"pods": "must list at least one pod", "containers": "must list at least one container"}


def _problem(err: Any, data: Any) -> Problem | None:
    loc: tuple[Any, ...] = tuple(err["loc"])
    kind: str = err["type"]
    value = err.get("input")
    ctx: dict[str, Any] = err.get("ctx") or {}
    path = _render_loc(loc, data)
    if kind == "too_short":
        raw = _lookup(data, loc)
        if isinstance(raw, list) and raw:
            return None  # non-empty, its items failed: their own errors say why
        last = loc[-1] if loc else ""
        return Problem(path, _EMPTY.get(str(last), "must not be empty"))
    if kind == "extra_forbidden":
        key = loc[-1] if loc else ""
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        if close:
            hint = f"; did you mean '{close[0]}'?"
        elif known:
            hint = f"; expected one of: {', '.join(known)}"
        else:
            hint = ""
        return Problem(path, f"unknown key{hint}")
    if kind == "missing":
        return Problem(path, "is required")
    if kind == "string_type":
        return Problem(path, f"expected a string, got {_describe(value)}")
    if kind == "bool_type":
        return Problem(path, f"expected true or false, got {_describe(value)}")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return Problem(path, f"expected a whole number, got {_describe(value)}")
    if kind == "greater_than_equal":
        return Problem(path, f"must be at least {ctx.get('ge')}, got {_describe(value)}")
    if kind == "less_than_equal":
        return Problem(path, f"must be at most {ctx.get('le')}, got {_describe(value)}")
    if kind == "literal_error":
        return Problem(path, f"must be {ctx.get('expected')}, got {_describe(value)}")
    if kind in ("tuple_type", "list_type"):
        return Problem(path, f"expected a list, got {_describe(value)}")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return Problem(path, f"expected a mapping, got {_describe(value)}")
    if kind == "invalid_key":
        return Problem(path, "keys must be text")
    message = str(err.get("msg", kind))
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return Problem(path, message)


def _path_order(problem: Problem) -> tuple[tuple[int, int], ...]:
    """Sort key: by list indices along the path; names keep their original order."""
    tokens = re.findall(r"\[(\d+)\]|[^.\[\]]+", problem.path)
    return tuple((0, int(t)) if t else (1, 0) for t in tokens)


# --------------------------------------------------------------------------- cross-item checks


def _instances(name: str, clones: int) -> list[str]:
    return [name] if clones == 1 else [f"{name}-{k}" for k in range(clones)]


def _cross_checks(data: dict[Any, Any]) -> list[Problem]:
    """Rules across items, checked on the raw data so they show up next to other errors."""
    problems: list[Problem] = []
    pods = data.get("pods")
    if not isinstance(pods, list):
        return problems
    pod_names: dict[str, int] = {}
    public_at: int | None = None
    inlets: dict[int, str] = {}
    instance_owner: dict[str, tuple[int, str]] = {}
    node_owner: dict[str, str] = {}
    for i, pod in enumerate(pods):
        if not isinstance(pod, dict):
            continue
        name = pod.get("name")
        good_name = isinstance(name, str) and _NAME_RE.match(name) is not None
        if isinstance(name, str):
            if name in pod_names:
                problems.append(
                    Problem(f"pods[{i}].name", f"pod name '{name}' is already used by pods[{pod_names[name]}]")
                )
                good_name = False
            else:
                pod_names[name] = i
        if pod.get("public") is True:
            if public_at is None:
                public_at = i
            else:
                problems.append(
                    Problem(f"pods[{i}].public", f"only one pod can be public, and pods[{public_at}] already is")
                )
        containers = pod.get("containers")
        container_names: list[str] = []
        if isinstance(containers, list):
            seen: dict[str, int] = {}
            for j, c in enumerate(containers):
                cname = c.get("name") if isinstance(c, dict) else None
                if not isinstance(cname, str):
                    continue
                if cname in seen:
                    problems.append(
                        Problem(
                            f"pods[{i}].containers[{j}].name",
                            f"container name '{cname}' is already used by containers[{seen[cname]}]",
                        )
                    )
                else:
                    seen[cname] = j
                    container_names.append(cname)
        portals = pod.get("portals")
        outlets = portals.get("outlets") if isinstance(portals, dict) else None
        if isinstance(outlets, list):
            for k, outlet in enumerate(outlets):
                raw = outlet.get("inlet_from") if isinstance(outlet, dict) else None
                try:
                    port = _parse_port(raw)
                except ValueError:
                    continue
                where = f"pods[{i}].portals.outlets[{k}]"
                if port in inlets:
                    problems.append(Problem(f"{where}.inlet_from", f"port {port} is already used by {inlets[port]}"))
                else:
                    inlets[port] = where
        clones = pod.get("clones", 1)
        if not good_name or isinstance(clones, bool) or not isinstance(clones, int) or not 1 <= clones <= MAX_CLONES:
            continue
        assert isinstance(name, str)
        for k, instance in enumerate(_instances(name, clones)):
            owner = instance_owner.get(instance)
            if owner is not None:
                what = f"clone {k} of pod '{name}'" if clones > 1 else f"pod '{name}'"
                problems.append(
                    Problem(
                        f"pods[{i}].name",
                        f"{what} would be named '{instance}', like a pod instance of pods[{owner[0]}] ('{owner[1]}')",
                    )
                )
                continue
            instance_owner[instance] = (i, name)
            for cname in container_names:
                node = f"{instance}-{cname}"
                if node in node_owner:
                    problems.append(
                        Problem(
                            f"pods[{i}].containers",
                            f"container '{cname}' of pod instance '{instance}' would get the same node name "
                            f"('...-{node}') as container {node_owner[node]}; rename one of them",
                        )
                    )
                else:
                    node_owner[node] = f"'{cname}' of pod instance '{instance}'"
    return problems


# --------------------------------------------------------------------------- entry point


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
            + [Problem("", f"expected a mapping with keys 'name' and 'pods', got {_describe(data)}", file)]
            + secret_problems
        )
    context = {"project_dir": project, "secrets": secrets, "secrets_broken": bool(secret_problems)}
    manifest: Manifest | None = None
    found: list[Problem] = []
    try:
        manifest = Manifest.model_validate(data, context=context)
    except ValidationError as e:
        for err in e.errors(include_url=False):
            p = _problem(err, data)
            if p is not None:
                found.append(Problem(p.path, p.message, file))
    found += [Problem(p.path, p.message, file) for p in _cross_checks(data)]
    found.sort(key=_path_order)
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
    if not _ZONE_RE.match(name):
        raise UsageError(f"{name!r} is not a zone name (1..10 characters of a-z and 0-9)")
    return name
