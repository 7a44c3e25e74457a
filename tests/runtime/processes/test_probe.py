"""The readiness probe (autonomy.probe.ping_all) as ``zone deploy`` uses it from the host.

The roster names every node by a host name this machine cannot resolve (as a zone's
roster names pods that only Docker's DNS knows); the probe reaches a node only through
the address it is handed in ``endpoints``, and only once it is handed one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from pathlib import Path

from autonomy.probe import ping_all, probe_settings
from autonomy.settings import Settings
from autonomy.testing import LocalPod, LocalZone
from autonomy.transport.roster import NodeEntry, Roster, generate_keypair, node_name


def _zone_with_probe(tmp_path: Path) -> tuple[LocalZone, Settings, dict[str, str]]:
    """Two serving nodes whose roster endpoints do not resolve, and a probe identity."""
    zone = LocalZone([LocalPod("a"), LocalPod("b")], workdir=tmp_path / "zone", zone="probez")
    real = {n.name: n.entry.endpoint for n in zone.nodes}
    kp = generate_keypair()
    probe = NodeEntry(
        name=node_name(zone.cluster, zone.zone, "probe", "probe"),
        pod="probe",
        instance="probe",
        clone=0,
        container="probe",
        endpoint="tcp://probe.invalid:1",
        public_key=kp.public_key,
        role="probe",
    )
    entries = [
        dataclasses.replace(n.entry, endpoint=f"tcp://{n.entry.instance}.invalid:{n.entry.port}") for n in zone.nodes
    ]
    Roster.build(zone.cluster, zone.zone, [*entries, probe]).write(zone.roster_path)
    key = tmp_path / "probe.key"
    kp.write(key, probe.name)
    settings = probe_settings(probe.name, zone.cluster, zone.zone, str(zone.roster_path), str(key))
    return zone, settings, real


def test_probe_pings_only_nodes_it_was_given_an_address_for(tmp_path: Path) -> None:
    zone, settings, real = _zone_with_probe(tmp_path)
    a, b = (n.name for n in zone.nodes)
    with zone.start():
        zone.wait_ready()
        seen: list[dict[str, object]] = []
        result = asyncio.run(ping_all(settings, None, 5.0, endpoints={a: real[a]}, on_verdict=seen.append))
    assert set(result["answered"]) == {a}
    assert result["answered"][a]["workers"] == 0
    assert result["silent"] == [b]  # its roster endpoint does not resolve: never reached
    assert seen == [result]


def test_probe_waits_for_addresses_published_later_by_another_thread(tmp_path: Path) -> None:
    zone, settings, real = _zone_with_probe(tmp_path)
    endpoints: dict[str, str] = {}

    def publish() -> None:
        for name, endpoint in real.items():
            time.sleep(0.3)
            endpoints[name] = endpoint

    with zone.start():
        zone.wait_ready()
        t = threading.Thread(target=publish)
        t.start()
        started = time.monotonic()
        result = asyncio.run(ping_all(settings, None, 20.0, endpoints=endpoints))
        t.join()
    assert set(result["answered"]) == set(real) and result["silent"] == []
    assert time.monotonic() - started < 15  # done when all answered, not at the deadline


def test_probe_without_addresses_uses_the_roster_endpoints(tmp_path: Path) -> None:
    zone, settings, real = _zone_with_probe(tmp_path)
    with zone.start():
        zone.wait_ready()
        result = asyncio.run(ping_all(settings, [next(iter(real))], 1.0))
    assert result["answered"] == {} and result["silent"] == [next(iter(real))]
