"""autonomy.transport.channel: what a Channel counts in its Traffic (inproc sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

import zmq

from autonomy.transport.channel import Channel, Traffic


def test_sent_counts_every_envelope_and_a_gone_peer_counts_as_unroutable() -> None:
    async def run() -> tuple[Traffic, Traffic, list[bytes]]:
        loop = asyncio.get_running_loop()
        ctx: zmq.Context[Any] = zmq.Context()
        router_sock = ctx.socket(zmq.ROUTER)
        router_sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        router_sock.bind("inproc://channel-test")
        dealer_sock = ctx.socket(zmq.DEALER)
        dealer_sock.connect("inproc://channel-test")
        got: list[bytes] = []
        arrived = asyncio.Event()
        server_traffic, client_traffic = Traffic(), Traffic()

        def on_router(first: Any, frames: list[bytes]) -> None:
            got.extend(frames)
            if len(got) >= 3:
                arrived.set()

        router = Channel(router_sock, loop, on_router, router=True, traffic=server_traffic)
        dealer = Channel(dealer_sock, loop, lambda first, frames: None, traffic=client_traffic)
        try:
            for frame in (b"one", b"two", b"three"):  # one now, two batched at the turn's end
                dealer.post(frame)
            await asyncio.wait_for(arrived.wait(), 10)
            router.post(b"lost", b"no-such-routing-id")
            router.flush()
        finally:
            dealer.close()
            router.close()
            ctx.term()
        return server_traffic, client_traffic, got

    server, client, got = asyncio.run(run())
    assert got == [b"one", b"two", b"three"]
    assert client.sent == 3 and client.unroutable == 0
    assert server.sent == 1 and server.unroutable == 1
    assert server.as_dict() == {
        "received": 0,
        "sent": 1,
        "malformed": 0,
        "unroutable": 1,
        "refused": 0,
        "over_window": 0,
        "replies_dropped": 0,
        "outbox_dropped": 0,
        "dropped_at_stop": 0,
        "mailbox_dropped": 0,
    }


def test_drop_malformed_counts() -> None:
    t = Traffic()
    for _ in range(3):
        t.drop_malformed("someone", ValueError("bad"))
    assert t.malformed == 3
