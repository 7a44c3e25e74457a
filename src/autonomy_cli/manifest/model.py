"""The manifest's model: what ``autonomy.yaml`` may say, as frozen pydantic models.

The file's shape, with an example, is in :mod:`autonomy_cli.manifest`.

How the model is shaped, and why:

* ``env`` comes in three spellings in the wild (a mapping, a list of one-key mappings
  ``- NAME: value``, and Kubernetes' ``- {name: NAME, value: V}``); all become one
  ordered tuple of :class:`EnvVar`. Scalars become text the way YAML wrote them (``true`` -> ``"true"``).
  A value ``secrets.NAME`` is replaced by ``NAME``'s value from the secrets file and the
  variable is marked ``secret=True``, so later stages can keep it out of any file that is
  not private (the Compose file carries only non-secret values).
* keys have the cloud's other spellings too (``zone_name``, ``portal``, ``tcp-outlets``,
  ...: :func:`.base.yaml_keys` lists them); writing one key twice under two spellings is
  an error (:mod:`.rules`).
* what the cloud's rules refuse but a laptop does not need (names over 10 characters,
  several pods without a ``main-pod``) and keys that mean nothing here
  (``imagePullPolicy``) are :func:`.notes.notes`: warnings, not errors.
* ``image`` becomes an :class:`Image`: ``local=True`` when ``images/<image>/Dockerfile``
  exists in the project (the only filesystem fact the pipeline needs), else a registry
  reference used as is. A folder under ``images/`` without a Dockerfile does not make an
  image local.

Secrets travel to containers in env files that both Compose v1 (python-dotenv) and
Compose v2 (compose-go) must read identically; they agree on single-quoted text only when
it holds no ``'``, no ``${`` and no ``\\\\`` and does not end in ``\\``. A referenced secret
outside that set is reported here, at load time, rather than mangled later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from .base import Frozen, check_name, context
from .images import local_image
from .limits import MAX_CLONES
from .portals import Inlet, Outlet, Portals, parse_port
from .values import describe, scalar_text
from .volumes import Volume, VolumeMount

__all__ = [
    "MANIFEST_FILE",
    "MAX_CLONES",
    "RESERVED_ENV",
    "SECRETS_FILE",
    "Container",
    "EnvVar",
    "Image",
    "Inlet",
    "Manifest",
    "Outlet",
    "Pod",
    "Portals",
    "Volume",
    "VolumeMount",
    "flatten_env",
    "is_zone_name",
    "parse_port",
    "secret_value_problem",
]

MANIFEST_FILE = "autonomy.yaml"
SECRETS_FILE = "secrets.yaml"
MANIFEST_FILES = (MANIFEST_FILE, "autonomy.yml")
"""The names a project's manifest may have, the usual one first."""
SECRETS_FILES = (SECRETS_FILE, "secrets.yml")

RESERVED_ENV = frozenset({"CLUSTER", "ZONE", "NODE", "AUTONOMY_ROSTER", "AUTONOMY_KEY"})
"""Set by the CLI in every container; a user value would break the node."""

_ZONE_RE = re.compile(r"^[a-z0-9]{1,10}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_SECRET_NAME_RE = re.compile(rf"^{_SECRET_NAME}$")
_SECRET_REF_RE = re.compile(rf"^secrets\.({_SECRET_NAME})$")
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


def secret_value_problem(value: str) -> str | None:
    """Why a secret value cannot travel in an env file read alike by Compose v1 and v2."""
    if "'" in value:
        return "contains a single quote (')"
    if "${" in value:
        return "contains '${'"
    if "\\\\" in value or value.endswith("\\"):
        return "contains a double backslash or ends with a backslash"
    return None


@dataclass(frozen=True)
class _RawEnv:
    """One ``NAME: value`` pair as read from YAML, before EnvVar validates it."""

    name: Any
    value: Any


@dataclass(frozen=True)
class _BadEnvItem:
    """An env list item that is not ``NAME: value``; EnvVar reports ``reason`` for it."""

    reason: str


def _kubernetes_pair(item: dict[Any, Any]) -> tuple[Any, Any] | None:
    """``{name: K, value: V}`` -> (K, V); None for any other mapping."""
    if set(item) == {"name", "value"}:
        return item["name"], item["value"]
    return None


def flatten_env(raw: Any) -> list[tuple[Any, Any]]:
    """Every env spelling as one ordered list of (name or None, value or bad item).

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
            elif isinstance(item, dict) and (pair := _kubernetes_pair(item)) is not None:
                out.append(pair)
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
    return f"expected `NAME: value`, got {describe(item)}"


# --------------------------------------------------------------------------- models


class EnvVar(Frozen):
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
            raise ValueError(f"a variable name must be text, got {describe(name)}")
        text = scalar_text(data.value)
        if text is None:
            raise ValueError(f"expected a string, number or boolean, got {describe(data.value)}")
        ref = _SECRET_REF_RE.match(text) if isinstance(data.value, str) else None
        if ref is None:
            return {"name": name, "value": text, "secret": False}
        secret = ref.group(1)
        ctx = context(info)
        secrets: dict[str, str] | None = ctx.get("secrets")
        file = ctx.get("secrets_file", SECRETS_FILE)
        if ctx.get("secrets_broken"):
            return {"name": name, "value": "", "secret": True}  # secrets.yaml's own problems say why
        if secrets is None:
            raise ValueError(
                f"secret '{secret}' is not defined in {file} (there is no {file} beside {ctx.get('manifest_file')})"
            )
        if secret not in secrets:
            raise ValueError(f"secret '{secret}' is not defined in {file}")
        why = secret_value_problem(secrets[secret])
        if why is not None:
            raise ValueError(f"secret '{secret}' in {file} {why}, which cannot be passed to a container safely")
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


class Image(Frozen):
    """A container's image: a folder ``images/<name>/`` with a Dockerfile, or a registry reference."""

    name: str
    local: bool = False

    @property
    def context(self) -> str | None:
        """The build context relative to the project folder, for a local image."""
        return f"images/{self.name}" if self.local else None

    @property
    def pull_note(self) -> str | None:
        """For a bare name (``main``: no registry, owner or tag) that has no folder here,
        where Docker will pull it from instead, and how to build it here; else None."""
        if self.local or any(c in self.name for c in "/:@"):
            return None
        return (
            f"image '{self.name}' has no images/{self.name}/Dockerfile in the project, so it is pulled from "
            f"docker.io/library/{self.name}; to build it here, create images/{self.name}/Dockerfile"
        )


class Container(Frozen):
    """One container of a pod."""

    name: str
    image: Image
    env: tuple[EnvVar, ...] = ()
    args: tuple[str, ...] | None = None
    volume_mounts: tuple[VolumeMount, ...] = Field((), alias="volumeMounts")
    #: the cloud's; here a local image is always built and another pulled when missing
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(None, alias="imagePullPolicy")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "container")

    @field_validator("image", mode="before")
    @classmethod
    def _image(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, Image):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected an image name, got {describe(value)}")
        if not value.strip():
            raise ValueError("must not be empty")
        project_dir = context(info).get("project_dir")
        local = False
        if project_dir is not None and _FOLDER_RE.match(value):
            local = local_image(Path(project_dir), value)
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
            raise ValueError(f"expected a mapping of NAME: value, or a list of `- NAME: value`, got {describe(value)}")
        items: list[Any] = []
        seen: set[str] = set()
        for name, item in flatten_env(value):
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
            raise ValueError(f'expected a list of strings, e.g. ["--port", "8001"], got {describe(value)}')
        if isinstance(value, (list, tuple)):
            # numbers and booleans read as text ("8001"); anything else fails as not a string
            return [v if isinstance(v, str) or scalar_text(v) is None else scalar_text(v) for v in value]
        return value

    @property
    def plain_env(self) -> tuple[EnvVar, ...]:
        return tuple(e for e in self.env if not e.secret)

    @property
    def secret_env(self) -> tuple[EnvVar, ...]:
        return tuple(e for e in self.env if e.secret)


class Pod(Frozen):
    """A group of containers sharing one network namespace; ``clones`` copies of it."""

    name: str
    public: Annotated[bool, Field(strict=True)] = False
    size: Literal["regular", "big"] = "regular"  # the keys of autonomy_cli.sizes.SIZES
    clones: Annotated[int, Field(strict=True, ge=1, le=MAX_CLONES)] = 1
    containers: tuple[Container, ...] = Field(min_length=1)
    portals: Portals | None = Field(None, validation_alias=AliasChoices("portals", "portal"))
    volumes: tuple[Volume, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "pod")

    @property
    def outlets(self) -> tuple[Outlet, ...]:
        return self.portals.outlets if self.portals is not None else ()

    @property
    def inlets(self) -> tuple[Inlet, ...]:
        return self.portals.inlets if self.portals is not None else ()


class Manifest(Frozen):
    """A whole autonomy.yaml: the zone's name and its pods."""

    name: str = Field(validation_alias=AliasChoices("name", "zone_name"))
    pods: tuple[Pod, ...] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not _ZONE_RE.match(value):
            raise ValueError(f"a zone name must be 1 to 10 characters of a-z and 0-9, got {value!r}")
        return value

    # the secrets file's values, kept out of the model's fields (never dumped nor shown)
    _secrets: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _keep_secrets(self, info: ValidationInfo) -> Manifest:
        self._secrets = dict((info.context or {}).get("secrets") or {})
        return self

    @property
    def public_pod(self) -> Pod | None:
        return next((p for p in self.pods if p.public), None)

    def secrets_named(self, names: tuple[str, ...]) -> dict[str, str]:
        """The secrets file's values of those of ``names`` it defines (the model
        gateway's provider settings, :mod:`autonomy_cli.gateway`)."""
        return {n: self._secrets[n] for n in names if n in self._secrets}


# --------------------------------------------------------------------------- YAML


def is_zone_name(name: str) -> bool:
    """True when ``name`` is a valid zone name."""
    return _ZONE_RE.match(name) is not None
