"""The SDK's small print across nodes (tests/runtime/processes/apps/small_print): a
mailbox gets every reply of a remote worker, in order; a remote worker finds its node as
``self.node``; a later reply to a plain send_and_receive harms nothing; ``Zone.node``
returns None for an absent node."""

from __future__ import annotations

import re

import pytest
from zonekit import app, runners

from autonomy.testing import LocalPod

CHECKS = [
    "mailbox_gets_every_remote_reply",
    "remote_worker_finds_its_node",
    "first_reply_answers_the_rest_harmless",
    "remote_error_reaches_the_mailbox",
    "another_node_sends_to_a_mailbox",
    "zone_node_none_when_absent",
]


@pytest.fixture(scope="module")
def small_print_output(tmp_path_factory):
    from autonomy.testing import LocalZone

    zone = LocalZone([LocalPod("main-pod", app("small_print")), runners(1)], workdir=tmp_path_factory.mktemp("sp"))
    zone.start()
    try:
        yield zone.wait_for("main-pod", "CHECKS DONE", timeout=120)
    finally:
        codes = zone.stop()
    assert set(codes.values()) == {0}, codes


@pytest.mark.parametrize("check", CHECKS)
def test_small_print(small_print_output, check):
    m = re.search(rf"^CHECK {check}: (.*)$", small_print_output, re.M)
    assert m, f"{check} did not run:\n{small_print_output[-3000:]}"
    assert m.group(1) == "ok", small_print_output[-3000:]
