"""free_port(): ports for test nodes that an outgoing connection cannot take first."""

from __future__ import annotations

import socket

from autonomy import testing


def test_ports_are_below_the_ephemeral_range_and_never_repeat() -> None:
    ports = [testing.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    start = testing._ephemeral_start()
    assert all(1024 <= p < start for p in ports)


def test_a_port_in_use_is_not_handed_out(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        held.listen()
        asked: list[int] = []
        real = testing.random.SystemRandom()

        class TakenFirst:
            def randrange(self, lo: int, hi: int) -> int:
                asked.append(taken if not asked else real.randrange(lo, hi))
                return asked[-1]

        monkeypatch.setattr(testing.random, "SystemRandom", TakenFirst)
        assert testing.free_port() != taken
        assert asked[0] == taken and len(asked) >= 2
