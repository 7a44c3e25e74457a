"""The envelope every node-to-node message travels in.

An envelope is one ZeroMQ frame::

    version  1 byte   (1)
    kind     1 byte   (see Kind)
    corr     8 bytes  correlation id, big-endian: pairs a REPLY/ERROR with its request
    tlen     1 byte   length of the target name
    target   tlen bytes, UTF-8: the worker name (empty where the kind has none)
    payload  the rest: a UTF-8 message, a JSON error, or a pickled worker (START only)

A ZeroMQ message carries one or more envelopes, one per frame (the sending channel
batches what was posted in one loop turn). On a ROUTER the routing id comes first; it is
ZeroMQ's, not ours. Which node sent a frame is never read from the envelope: the ZAP
handler names it (``User-Id``).

Decoding is strict and total: any frame that does not fit raises :class:`Malformed`,
which the node counts and drops. Pickle never carries the envelope.
"""

from __future__ import annotations

import json
import struct
from enum import IntEnum
from typing import NamedTuple

__all__ = [
    "Kind",
    "Envelope",
    "Malformed",
    "encode",
    "decode",
    "VERSION",
    "error_payload",
    "parse_error",
    "HEADER_SIZE",
]

VERSION = 1
_HEADER = struct.Struct(">BBQB")
HEADER_SIZE = _HEADER.size
_pack = _HEADER.pack
_unpack_from = _HEADER.unpack_from


class Kind(IntEnum):
    REQUEST = 1  # target, message; expects REPLY or ERROR
    SEND = 2  # target, message; fire and forget
    REPLY = 3  # message
    ERROR = 4  # JSON {type, worker, node, text}
    START = 5  # target, pickled worker object; expects REPLY or ERROR
    STOP = 6  # target; expects REPLY or ERROR
    LIST = 7  # expects REPLY with JSON list
    PING = 8  # expects REPLY with JSON node info
    CREDIT = 9  # corr = how many more REQUEST/SEND envelopes the receiver grants


_KINDS = {k.value: k for k in Kind}


class Malformed(ValueError):
    """A frame that is not a valid envelope."""


class Envelope(NamedTuple):
    kind: Kind
    corr: int
    target: str
    payload: bytes


def encode(kind: int, corr: int, target: bytes = b"", payload: bytes = b"") -> bytes:
    """One envelope as one frame. ``target`` is the UTF-8 worker name (<= 255 bytes)."""
    if len(target) > 255:
        raise ValueError(f"worker name of {len(target)} bytes is longer than 255")
    return _pack(VERSION, kind, corr, len(target)) + target + payload


def decode(frame: bytes) -> Envelope:
    """Parse one frame into an Envelope or raise Malformed."""
    if len(frame) < HEADER_SIZE:
        raise Malformed(f"frame of {len(frame)} bytes is shorter than a header")
    version, kind, corr, tlen = _unpack_from(frame)
    if version != VERSION:
        raise Malformed(f"unknown version {version}")
    k = _KINDS.get(kind)
    if k is None:
        raise Malformed(f"unknown kind {kind}")
    end = HEADER_SIZE + tlen
    if len(frame) < end:
        raise Malformed("truncated target")
    try:
        target = frame[HEADER_SIZE:end].decode()
    except UnicodeDecodeError:
        raise Malformed("target is not UTF-8") from None
    return Envelope(k, corr, target, frame[end:])


def error_payload(kind: str, worker: str, node: str, text: str) -> bytes:
    return json.dumps({"type": kind, "worker": worker, "node": node, "text": text}).encode()


def parse_error(payload: bytes) -> dict[str, str]:
    """The fields of an ERROR payload, as strings; Malformed unless it is a JSON object
    with a ``type`` and a ``text`` (``worker`` and ``node`` may be missing)."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise Malformed("error payload is not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("error payload is not an object")
    if "type" not in data or "text" not in data:
        raise Malformed("error payload lacks its type or text")
    return {k: str(data.get(k, "")) for k in ("type", "worker", "node", "text")}
