"""Messaging semantics (see docs/architecture.md, the runtime: messages) checked inside a real 3-node zone
(tests/runtime/processes/apps/semantics)."""

from __future__ import annotations

import re

import pytest
from zonekit import app, runners

from autonomy.testing import LocalPod

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
    from autonomy.testing import LocalZone

    zone = LocalZone([LocalPod("main-pod", app("semantics")), runners(2)], workdir=tmp_path_factory.mktemp("sem"))
    zone.start()
    try:
        yield zone.wait_for("main-pod", "CHECKS DONE", timeout=120)
    finally:
        codes = zone.stop()
    assert set(codes.values()) == {0}, codes


@pytest.mark.parametrize("check", CHECKS)
def test_semantics(semantics_output, check):
    m = re.search(rf"^CHECK {check}: (.*)$", semantics_output, re.M)
    assert m, f"{check} did not run:\n{semantics_output[-3000:]}"
    assert m.group(1) == "ok", semantics_output[-3000:]


def test_handler_failure_is_logged_with_traceback(semantics_output):
    assert "worker 'boom' failed on a message: ValueError: boom on m1" in semantics_output
    assert "Traceback (most recent call last)" in semantics_output
