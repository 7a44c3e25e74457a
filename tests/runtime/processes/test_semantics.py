"""Messaging semantics (see docs/architecture.md, the runtime: messages) checked inside a real 3-node zone
(tests/runtime/processes/apps/semantics)."""

from __future__ import annotations

import pytest
from zonekit import assert_check, run_checks

CHECKS = [
    "type_error_before_sending",
    "reply_must_be_str",
    "unknown_worker_local",
    "unknown_worker_remote",
    "handler_raises_local",
    "handler_raises_remote",
    "timeout_local",
    "timeout_remote",
    "duplicate_name",
    "bad_names_and_objects",
    "stop_then_unknown",
    "one_at_a_time_in_order_local",
    "one_at_a_time_in_order_remote",
    "explicit_node_argument",
    "zone_nodes_filters_by_pod",
]


@pytest.fixture(scope="module")
def semantics_output(tmp_path_factory):
    yield from run_checks(tmp_path_factory.mktemp("sem"), "semantics", 2)


@pytest.mark.parametrize("check", CHECKS)
def test_semantics(semantics_output, check):
    assert_check(semantics_output, check)


def test_handler_failure_is_logged_with_traceback(semantics_output):
    assert "worker 'boom' failed on a message: ValueError: boom on m1" in semantics_output
    assert "Traceback (most recent call last)" in semantics_output
