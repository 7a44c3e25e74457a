"""autonomy.transport.envelope: envelope encode/decode, strict decoding, error payloads."""

from __future__ import annotations

import json
import random
import struct

import pytest

from autonomy.transport.envelope import (
    HEADER_SIZE,
    VERSION,
    Envelope,
    Kind,
    Malformed,
    decode,
    encode,
    error_payload,
    parse_error,
)


def _header(version: int, kind: int, corr: int, tlen: int) -> bytes:
    return struct.pack(">BBQB", version, kind, corr, tlen)


def test_header_layout() -> None:
    assert HEADER_SIZE == 11
    assert VERSION == 1
    frame = encode(Kind.REQUEST, 0x0102030405060708, b"ab", b"xyz")
    assert frame == b"\x01\x01\x01\x02\x03\x04\x05\x06\x07\x08\x02abxyz"


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("corr", [0, 1, 2**63, 2**64 - 1])
def test_round_trip_every_kind(kind: Kind, corr: int) -> None:
    target = "wörker-1"
    payload = "héllo ✓".encode() + b"\x00\xff"
    env = decode(encode(kind, corr, target.encode(), payload))
    assert env == Envelope(kind, corr, target, payload)
    assert type(env.kind) is Kind
    assert env.kind is kind


@pytest.mark.parametrize("kind", list(Kind))
def test_empty_target_and_payload(kind: Kind) -> None:
    frame = encode(kind, 7)
    assert len(frame) == HEADER_SIZE
    assert decode(frame) == Envelope(kind, 7, "", b"")


def test_empty_target_with_payload() -> None:
    env = decode(encode(Kind.REPLY, 3, b"", b"answer"))
    assert env.target == "" and env.payload == b"answer"


def test_target_of_255_bytes_is_accepted() -> None:
    target = "a" * 255
    env = decode(encode(Kind.SEND, 1, target.encode(), b"p"))
    assert env.target == target
    assert env.payload == b"p"


def test_multibyte_target_of_255_bytes_is_accepted() -> None:
    target = "é" * 127 + "x"  # 254 + 1 bytes
    assert len(target.encode()) == 255
    assert decode(encode(Kind.SEND, 1, target.encode())).target == target


def test_target_of_256_bytes_is_rejected() -> None:
    with pytest.raises(ValueError, match="256"):
        encode(Kind.SEND, 1, b"a" * 256)


@pytest.mark.parametrize("length", range(HEADER_SIZE))
def test_short_frames_are_malformed(length: int) -> None:
    frame = encode(Kind.REQUEST, 5, b"", b"")[:length]
    with pytest.raises(Malformed):
        decode(frame)


@pytest.mark.parametrize("version", [0, 2, 255])
def test_unknown_version_is_malformed(version: int) -> None:
    with pytest.raises(Malformed, match="version"):
        decode(_header(version, Kind.REQUEST, 1, 0))


@pytest.mark.parametrize("kind", [0, 10, 99, 255])
def test_unknown_kind_is_malformed(kind: int) -> None:
    with pytest.raises(Malformed, match="kind"):
        decode(_header(VERSION, kind, 1, 0) + b"payload")


@pytest.mark.parametrize("tlen,present", [(1, 0), (5, 4), (255, 254), (255, 0)])
def test_target_length_beyond_frame_is_malformed(tlen: int, present: int) -> None:
    with pytest.raises(Malformed):
        decode(_header(VERSION, Kind.SEND, 1, tlen) + b"a" * present)


def test_target_exactly_filling_the_frame_is_ok() -> None:
    assert decode(_header(VERSION, Kind.STOP, 1, 4) + b"abcd") == Envelope(Kind.STOP, 1, "abcd", b"")


@pytest.mark.parametrize("target", [b"\xff", b"\xc3", b"ab\x80cd", b"\xed\xa0\x80"])
def test_non_utf8_target_is_malformed(target: bytes) -> None:
    with pytest.raises(Malformed, match="UTF-8"):
        decode(_header(VERSION, Kind.SEND, 1, len(target)) + target + b"payload")


def test_non_utf8_payload_is_not_the_envelopes_business() -> None:
    env = decode(encode(Kind.START, 1, b"w", b"\x80\x81pickle"))
    assert env.payload == b"\x80\x81pickle"


def test_malformed_is_a_value_error() -> None:
    assert issubclass(Malformed, ValueError)


def test_random_frames_decode_or_raise_malformed() -> None:
    rng = random.Random(20240611)
    valid = 0
    malformed = 0
    for i in range(4000):
        if i % 2 == 0:
            frame = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 48)))
        else:
            # A valid frame with a few random byte flips / truncation: reaches every branch.
            base = bytearray(
                encode(
                    rng.choice(list(Kind)),
                    rng.getrandbits(64),
                    "".join(rng.choice("abc-_é") for _ in range(rng.randrange(0, 12))).encode(),
                    bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 12))),
                )
            )
            for _ in range(rng.randrange(0, 3)):
                base[rng.randrange(len(base))] = rng.getrandbits(8)
            if rng.random() < 0.3:
                del base[rng.randrange(len(base) + 1) :]
            frame = bytes(base)
        try:
            env = decode(frame)
        except Malformed:
            malformed += 1
            continue
        except Exception as e:  # pragma: no cover - this is the failure being tested for
            pytest.fail(f"decode({frame!r}) raised {type(e).__name__}: {e}")
        assert isinstance(env, Envelope)
        # Whatever decodes re-encodes to the very same bytes.
        assert encode(env.kind, env.corr, env.target.encode(), env.payload) == frame
        valid += 1
    # Both outcomes were exercised, or the loop would prove nothing.
    assert valid > 500 and malformed > 500


def test_error_payload_round_trip() -> None:
    payload = error_payload("WorkerFailed", "wörker", "node-1", 'boom "quoted" ✓\nline 2')
    assert parse_error(payload) == {
        "type": "WorkerFailed",
        "worker": "wörker",
        "node": "node-1",
        "text": 'boom "quoted" ✓\nline 2',
    }
    assert json.loads(payload)["type"] == "WorkerFailed"


def test_parse_error_fills_missing_and_stringifies() -> None:
    assert parse_error(b'{"type": 3, "text": 1, "extra": 1}') == {"type": "3", "worker": "", "node": "", "text": "1"}


@pytest.mark.parametrize("payload", [b"{}", b'{"type": "failed"}', b'{"text": "boom"}'])
def test_parse_error_needs_a_type_and_a_text(payload: bytes) -> None:
    with pytest.raises(Malformed, match="type or text"):
        parse_error(payload)


@pytest.mark.parametrize("payload", [b"", b"not json", b"{", b"\xff\xfe", b"{'a': 1}"])
def test_parse_error_rejects_non_json(payload: bytes) -> None:
    with pytest.raises(Malformed, match="not JSON"):
        parse_error(payload)


@pytest.mark.parametrize("payload", [b"[]", b"1", b'"text"', b"null", b"true", b'[{"type": "x"}]'])
def test_parse_error_rejects_non_objects(payload: bytes) -> None:
    with pytest.raises(Malformed, match="not an object"):
        parse_error(payload)


def test_parse_error_deeply_nested_json_is_malformed() -> None:
    with pytest.raises(Malformed):
        parse_error(b"[" * 100_000)
