"""The envelope every node-to-node message travels in.

A message is a ZeroMQ multipart message of three frames::

    header   10 bytes: version (1), kind (1), correlation id (8, big-endian)
    target   the worker name, UTF-8 (empty where the kind has none)
    payload  bytes: a UTF-8 message, a JSON error, or a pickled worker (START only)

On a ROUTER the routing id comes first; it is ZeroMQ's, not ours. Which node sent a
frame is never read from the envelope: the ZAP handler names it (``User-Id``).

Decoding is strict and total: any frame that does not fit raises :class:`Malformed`,
which the node counts and drops. Pickle never carries the envelope.
"""

from __future__ import annotations

import json
import struct
from enum import IntEnum
from typing import Any, NamedTuple

__all__ = ["Kind", "Envelope", "Malformed", "encode", "decode", "VERSION", "error_payload", "parse_error"]

VERSION = 1
_HEADER = struct.Struct(">BBQ")
HEADER_SIZE = _HEADER.size
MAX_NAME = 255


class Kind(IntEnum):
    REQUEST = 1  # target, message; expects REPLY or ERROR
    SEND = 2  # target, message; fire and forget
    REPLY = 3  # message
    ERROR = 4  # JSON {type, worker, node, text}
    START = 5  # target, pickled worker object; expects REPLY or ERROR
    STOP = 6  # target; expects REPLY or ERROR
    LIST = 7  # expects REPLY with JSON list
    PING = 8  # expects REPLY with JSON node info


_KINDS = {k.value: k for k in Kind}


class Malformed(ValueError):
    """A frame that is not a valid envelope."""


class Envelope(NamedTuple):
    kind: Kind
    corr: int
    target: str
    payload: bytes


def header(kind: int, corr: int) -> bytes:
    return _HEADER.pack(VERSION, kind, corr)


def encode(kind: Kind, corr: int, target: str = "", payload: bytes = b"") -> list[bytes]:
    return [_HEADER.pack(VERSION, kind, corr), target.encode(), payload]


def decode(frames: list[bytes]) -> Envelope:
    """Parse three frames into an Envelope or raise Malformed."""
    if len(frames) != 3:
        raise Malformed(f"expected 3 frames, got {len(frames)}")
    head, target, payload = frames
    if len(head) != HEADER_SIZE:
        raise Malformed(f"header of {len(head)} bytes")
    version, kind, corr = _HEADER.unpack(head)
    if version != VERSION:
        raise Malformed(f"unknown version {version}")
    k = _KINDS.get(kind)
    if k is None:
        raise Malformed(f"unknown kind {kind}")
    if len(target) > MAX_NAME:
        raise Malformed("target name too long")
    try:
        name = target.decode()
    except UnicodeDecodeError:
        raise Malformed("target is not UTF-8") from None
    return Envelope(k, corr, name, payload)


def error_payload(kind: str, worker: str, node: str, text: str) -> bytes:
    return json.dumps({"type": kind, "worker": worker, "node": node, "text": text}).encode()


def parse_error(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError:
        raise Malformed("error payload is not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("error payload is not an object")
    return {k: str(data.get(k, "")) for k in ("type", "worker", "node", "text")}
