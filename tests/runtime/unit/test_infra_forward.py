"""The infra container's outlet forwarder (autonomy.clusters.infra), over real TCP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from autonomy import testing
from autonomy.clusters import infra
from autonomy.clusters.infra import Forward, parse_forward


def test_parse_forward() -> None:
    assert parse_forward("61000=127.0.0.1:7000") == Forward(61000, "127.0.0.1", 7000)
    # localhost is the pod's IPv4 loopback (servers bind 127.0.0.1 or 0.0.0.0)
    assert parse_forward("61001=localhost:80") == Forward(61001, "127.0.0.1", 80)
    assert parse_forward("61002=db-pod:5432") == Forward(61002, "db-pod", 5432)
    for bad in ("61000", "61000=7000", "x=127.0.0.1:1", "1=127.0.0.1:70000", "=h:1", "1=:2"):
        with pytest.raises(ValueError):
            parse_forward(bad)


async def _target() -> tuple[asyncio.Server, int, list[bytes]]:
    """A server on 127.0.0.1 only: greets, then answers what it read once the client half-closes."""
    got: list[bytes] = []

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"hello\n")
        await w.drain()
        data = await r.read()  # until the client's EOF
        got.append(data)
        w.write(b"got " + data)
        await w.drain()
        w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], got


def test_data_flows_both_ways_to_a_loopback_server() -> None:
    async def scenario() -> tuple[bytes, bytes, list[bytes]]:
        target, port, got = await _target()
        (fwd,) = await infra.start([Forward(0, "127.0.0.1", port, listen_host="127.0.0.1")])
        r, w = await asyncio.open_connection("127.0.0.1", fwd.sockets[0].getsockname()[1])
        greeting = await asyncio.wait_for(r.readline(), 5)
        big = os.urandom(300_000)  # more than one read
        w.write(big)
        await w.drain()
        w.write_eof()  # the half-close reaches the target
        answer = await asyncio.wait_for(r.read(), 5)
        w.close()
        fwd.close()
        target.close()
        return greeting, answer, [big, *got]

    greeting, answer, (big, *got) = asyncio.run(scenario())
    assert greeting == b"hello\n"
    assert got == [big]
    assert answer == b"got " + big


def test_a_connection_to_a_closed_target_just_closes() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    async def scenario() -> bytes:
        (fwd,) = await infra.start([Forward(0, "127.0.0.1", closed, listen_host="127.0.0.1")])
        r, w = await asyncio.open_connection("127.0.0.1", fwd.sockets[0].getsockname()[1])
        data = await asyncio.wait_for(r.read(), 5)
        w.close()
        fwd.close()
        return data

    assert asyncio.run(scenario()) == b""


def _listening(port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.02)
    return False


def _catches_sigterm(pid: int, deadline: float) -> bool:
    """True once the process has its SIGTERM handler (SigCgt in /proc/<pid>/status)."""
    while time.monotonic() < deadline:
        for line in open(f"/proc/{pid}/status").read().splitlines():
            if line.startswith("SigCgt:") and int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
                return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("forward", [True, False])
def test_the_program_exits_at_once_on_sigterm(forward: bool) -> None:
    port = testing.free_port()
    args = ["--forward", f"{port}=127.0.0.1:9"] if forward else []
    proc = subprocess.Popen([sys.executable, "-m", "autonomy.clusters.infra", *args])
    try:
        if forward:
            assert _listening(port, time.monotonic() + 10), "the forwarder did not listen"
        else:
            assert _catches_sigterm(proc.pid, time.monotonic() + 10), "no SIGTERM handler"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=3) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_arguments_exit_non_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "autonomy.clusters.infra", "--forward", "nonsense"], capture_output=True, timeout=10
    )
    assert done.returncode != 0 and b"nonsense" in done.stderr
