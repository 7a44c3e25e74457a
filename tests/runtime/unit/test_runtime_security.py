"""autonomy.transport.security.RosterPolicy: ZAP decisions from the roster, counted and logged."""

from __future__ import annotations

import logging

import pytest
from zmq.utils import z85

from autonomy.transport.roster import KeyPair, NodeEntry, Roster, generate_keypair
from autonomy.transport.security import Decision, RosterPolicy

LOGGER = "autonomy.security"


@pytest.fixture()
def zone() -> tuple[Roster, list[KeyPair]]:
    pairs = [generate_keypair() for _ in range(3)]
    entries = [
        NodeEntry(
            name=f"c-z-pod-{i}-main",
            pod="pod",
            instance=f"pod-{i}",
            clone=i,
            container="main",
            endpoint=f"tcp://pod-{i}:5555",
            public_key=kp.public_key,
        )
        for i, kp in enumerate(pairs)
    ]
    return Roster.build("c", "z", entries), pairs


def _raw(key: str) -> bytes:
    return z85.decode(key)


def test_allows_roster_key_with_node_name(zone: tuple[Roster, list[KeyPair]]) -> None:
    roster, pairs = zone
    policy = RosterPolicy(roster, zone="z")
    for i, kp in enumerate(pairs):
        d = policy.decide(b"CURVE", [_raw(kp.public_key)], f"10.0.0.{i}")
        assert d == Decision(True, f"c-z-pod-{i}-main", "roster key")
    assert (policy.allowed, policy.denied) == (3, 0)


def test_denies_fresh_key(zone: tuple[Roster, list[KeyPair]]) -> None:
    roster, _ = zone
    policy = RosterPolicy(roster, zone="hello")
    stranger = generate_keypair()
    d = policy.decide(b"CURVE", [_raw(stranger.public_key)], "10.9.9.9")
    assert d.allowed is False
    assert d.user_id == ""
    assert "not in the roster" in d.reason and "'hello'" in d.reason
    assert stranger.public_key[:8] in d.reason
    assert (policy.allowed, policy.denied) == (0, 1)


def test_denies_secret_key_presented_as_public(zone: tuple[Roster, list[KeyPair]]) -> None:
    roster, pairs = zone
    policy = RosterPolicy(roster, zone="z")
    d = policy.decide(b"CURVE", [_raw(pairs[0].secret_key)], "10.0.0.1")
    assert d.allowed is False and d.user_id == ""
    assert pairs[0].secret_key not in d.reason


@pytest.mark.parametrize(
    "mechanism,credentials",
    [(b"NULL", []), (b"PLAIN", [b"user", b"password"]), (b"curve", None), (b"GSSAPI", [])],
)
def test_denies_non_curve(
    zone: tuple[Roster, list[KeyPair]], mechanism: bytes, credentials: list[bytes] | None
) -> None:
    roster, pairs = zone
    policy = RosterPolicy(roster, zone="z")
    # Even a roster key does not help with another mechanism.
    creds = [_raw(pairs[0].public_key)] if credentials is None else credentials
    d = policy.decide(mechanism, creds, "10.0.0.1")
    assert d.allowed is False and d.user_id == ""
    assert "not CURVE" in d.reason
    assert mechanism.decode() in d.reason
    assert (policy.allowed, policy.denied) == (0, 1)


def test_malformed_credentials(zone: tuple[Roster, list[KeyPair]]) -> None:
    roster, pairs = zone
    policy = RosterPolicy(roster, zone="z")
    good = _raw(pairs[0].public_key)
    cases: list[list[bytes]] = [
        [],
        [good[:31]],
        [good + b"\x00"],
        [good, good],  # two credentials, each a roster key
        [good, _raw(pairs[1].public_key)],
        [b""],
    ]
    for creds in cases:
        d = policy.decide(b"CURVE", creds, "10.0.0.1")
        assert d == Decision(False, "", "malformed CURVE credentials"), creds
    assert (policy.allowed, policy.denied) == (0, len(cases))


def test_counts_mixed_decisions(zone: tuple[Roster, list[KeyPair]]) -> None:
    roster, pairs = zone
    policy = RosterPolicy(roster, zone="z")
    outcomes = [
        policy.decide(b"CURVE", [_raw(pairs[0].public_key)], "a").allowed,
        policy.decide(b"NULL", [], "b").allowed,
        policy.decide(b"CURVE", [_raw(pairs[1].public_key)], "c").allowed,
        policy.decide(b"CURVE", [_raw(generate_keypair().public_key)], "d").allowed,
        policy.decide(b"CURVE", [b"x" * 5], "e").allowed,
        policy.decide(b"CURVE", [_raw(pairs[0].public_key)], "f").allowed,
    ]
    assert outcomes == [True, False, True, False, False, True]
    assert (policy.allowed, policy.denied) == (3, 3)


def test_empty_roster_denies_everyone() -> None:
    policy = RosterPolicy(Roster.build("c", "z", []), zone="z")
    assert policy.decide(b"CURVE", [_raw(generate_keypair().public_key)], "x").allowed is False
    assert policy.denied == 1


def test_every_decision_is_logged(zone: tuple[Roster, list[KeyPair]], caplog: pytest.LogCaptureFixture) -> None:
    roster, pairs = zone
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    policy = RosterPolicy(roster, zone="z")
    stranger = generate_keypair()

    policy.decide(b"CURVE", [_raw(pairs[1].public_key)], "10.1.1.1")
    policy.decide(b"CURVE", [_raw(stranger.public_key)], "10.2.2.2")
    policy.decide(b"PLAIN", [b"admin", pairs[2].secret_key.encode()], "10.3.3.3")
    policy.decide(b"CURVE", [b"short"], "10.4.4.4")
    policy.decide(b"CURVE", [_raw(pairs[0].secret_key)], "10.5.5.5")  # a leaked secret used as a key

    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 5
    allow, *denies = records
    assert allow.levelno == logging.DEBUG
    assert "allow" in allow.getMessage()
    assert "c-z-pod-1-main" in allow.getMessage() and "10.1.1.1" in allow.getMessage()
    for rec, addr in zip(denies, ["10.2.2.2", "10.3.3.3", "10.4.4.4", "10.5.5.5"], strict=True):
        assert rec.levelno == logging.WARNING
        assert rec.getMessage().startswith("deny")
        assert addr in rec.getMessage()
    assert "not in the roster" in denies[0].getMessage()
    assert "not CURVE" in denies[1].getMessage()
    assert "malformed" in denies[2].getMessage()
    # No secret key ever reaches the log, not even one presented as a credential.
    for kp in [*pairs, stranger]:
        assert kp.secret_key not in caplog.text


def test_allow_is_not_logged_at_warning(zone: tuple[Roster, list[KeyPair]], caplog: pytest.LogCaptureFixture) -> None:
    roster, pairs = zone
    caplog.set_level(logging.WARNING, logger=LOGGER)
    policy = RosterPolicy(roster, zone="z")
    policy.decide(b"CURVE", [_raw(pairs[0].public_key)], "10.1.1.1")
    assert [r for r in caplog.records if r.name == LOGGER] == []
    policy.decide(b"NULL", [], "10.1.1.2")
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [logging.WARNING]
