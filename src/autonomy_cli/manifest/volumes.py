"""A pod's volumes and a container's mounts of them.

::

    pods:
      - name: db-pod
        volumes:
          - name: data
            size: 10Gi                # Kubernetes quantities: Ki Mi Gi Ti Pi Ei, k M G T P E
        containers:
          - name: db
            image: db
            volumeMounts:
              - name: data            # a volume of this pod
                mountPath: /var/data  # absolute
                readOnly: false       # optional

Each pod instance gets its own Docker named volume per declared volume (clones do not
share one, as each pod of the cloud has its own), named so that a redeploy or an
``autonomy dev`` reload finds the same one again; ``zone delete`` removes them. A local
named volume cannot be capped at a size: ``size`` is read and checked, not enforced.
"""

from __future__ import annotations

import posixpath
import re
from typing import Annotated, Any

from pydantic import Field, field_validator

from .base import Frozen, check_name
from .values import describe

__all__ = ["RESERVED_MOUNT", "Volume", "VolumeMount", "format_size", "parse_size"]

RESERVED_MOUNT = "/run/autonomy"
"""Where the CLI mounts each node's roster and key; no volume may go there."""

_SIZE_RE = re.compile(r"^([0-9]{1,20})(?:\.([0-9]{1,9}))?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_UNITS = {
    None: 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
_MAX_SIZE = 2**60


def parse_size(value: Any) -> int:
    """``100Gi`` -> bytes; a whole number is bytes. ValueError when not a positive size."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (m := _SIZE_RE.match(value.strip())):
        whole, fraction, unit = m.group(1), m.group(2) or "", _UNITS[m.group(3)]
        size = (int(whole + fraction) * unit) // 10 ** len(fraction)  # exact: no float
    else:
        raise ValueError(f"expected a size like 100Gi or 500Mi, got {describe(value)}")
    if not 0 < size <= _MAX_SIZE:
        raise ValueError(f"a size must be more than 0 and at most 1Ei, got {describe(value)}")
    return size


def format_size(size: int) -> str:
    """Bytes -> the largest binary unit that writes them whole (``10737418240`` -> ``10Gi``)."""
    for unit in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if size % _UNITS[unit] == 0:
            return f"{size // _UNITS[unit]}{unit}"
    return f"{size}"


class Volume(Frozen):
    """A volume of a pod: its name, and its size in bytes (checked, not enforced locally)."""

    name: str
    size: int

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value, "volume")

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)


class VolumeMount(Frozen):
    """Volume ``name`` of the pod, mounted at ``mount_path`` in one container."""

    name: str
    mount_path: str = Field(alias="mountPath")
    read_only: Annotated[bool, Field(strict=True, alias="readOnly")] = False

    @field_validator("mount_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must be an absolute path (starting with '/'), got {value!r}")
        if any(c in value for c in ":,\0\n") or any(part in (".", "..") for part in value.split("/")):
            raise ValueError(f"must be a plain absolute path, without ':', ',', '.' or '..' parts, got {value!r}")
        path = posixpath.normpath(value)
        if path == "/":
            raise ValueError("cannot be '/' itself")
        if path == RESERVED_MOUNT or path.startswith(RESERVED_MOUNT + "/"):
            raise ValueError(f"{RESERVED_MOUNT} is where autonomy mounts each node's roster and key")
        return path
