"""Fixtures for tests that run real node processes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from autonomy.testing import LocalPod, LocalZone


@pytest.fixture
def local_zone(tmp_path: Path) -> Iterator[Callable[..., LocalZone]]:
    """Start LocalZones; every one is stopped (SIGTERM, then SIGKILL) after the test."""
    zones: list[LocalZone] = []

    def make(pods: list[LocalPod], **kw: object) -> LocalZone:
        workdir = tmp_path / f"zone{len(zones)}"
        zone = LocalZone(pods, workdir=workdir, **kw)  # type: ignore[arg-type]
        zones.append(zone)
        return zone.start()

    yield make
    for z in zones:
        z.stop()
