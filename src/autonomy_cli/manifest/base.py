"""What every model of the manifest shares: frozen, strict about keys, and the name rule."""

from __future__ import annotations

import re
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, ValidationInfo

__all__ = ["NAME_MAX", "NAME_RE", "Frozen", "check_name", "context", "yaml_keys"]

NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
NAME_MAX = 40


class Frozen(BaseModel):
    """Immutable once read; a key the model does not know is an error (a typo)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def check_name(value: str, what: str) -> str:
    """A pod, container or volume name: lowercase words joined by single '-'."""
    if len(value) > NAME_MAX or not NAME_RE.match(value):
        raise ValueError(
            f"{what} name must be lowercase a-z, 0-9 and single '-' between them, start with a "
            f"letter and be at most {NAME_MAX} characters, got {value!r}"
        )
    return value


def context(info: ValidationInfo) -> dict[str, Any]:
    """The validation context ``load`` passes (project folder, secrets), or {}."""
    return info.context if isinstance(info.context, dict) else {}


def yaml_keys(model: type[BaseModel]) -> dict[str, str]:
    """Every key a user may write for ``model`` -> its field: names and aliases, in order."""
    keys: dict[str, str] = {}
    for field, info in model.model_fields.items():
        if isinstance(info.validation_alias, AliasChoices):
            keys.update({str(a): field for a in info.validation_alias.choices})
        elif isinstance(info.validation_alias, str):
            keys[info.validation_alias] = field
        elif info.alias is not None:
            keys[info.alias] = field
        else:
            keys[field] = field
    return keys
