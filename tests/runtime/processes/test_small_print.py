"""The SDK's small print across nodes (tests/runtime/processes/apps/small_print): a
mailbox gets every reply of a remote worker, in order; a remote worker finds its node as
``self.node``; a later reply to a plain send_and_receive harms nothing; ``Zone.node``
returns None for an absent node."""

from __future__ import annotations

import pytest
from zonekit import assert_check, run_checks

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
    yield from run_checks(tmp_path_factory.mktemp("sp"), "small_print", 1)


@pytest.mark.parametrize("check", CHECKS)
def test_small_print(small_print_output, check):
    assert_check(small_print_output, check)
