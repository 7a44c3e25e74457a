"""The snippets of the user documents, run as written, in zones of >= 3 node processes."""

from __future__ import annotations

import re

from zonekit import app, runners

from autonomy.testing import LocalPod


def test_greeter(local_zone):
    z = local_zone([LocalPod("main-pod", app("greeter")), runners(2)])
    z.wait_for("main-pod", "Hello, Alice!")


def test_echoer(local_zone):
    z = local_zone([LocalPod("main-pod", app("echoer")), runners(2)])
    out = z.wait_for("main-pod", "`main` received: hello")
    assert "`echoer` received: hello" in out
    assert out.index("`echoer` received: hello") < out.index("`main` received: hello")


def test_counter_and_printer_fire_and_forget(local_zone):
    z = local_zone([LocalPod("main-pod", app("counter_printer")), runners(2)])
    out = z.wait_for("main-pod", "Count: 2")
    assert "LOG: Application started" in out
    assert "Traceback" not in out


def test_stateful_counter_and_isolation(local_zone):
    z = local_zone([LocalPod("main-pod", app("stateful_counter")), runners(2)])
    out = z.wait_for("main-pod", "counter-2 Count: 0")
    assert re.search(r"Count: 1\n.*Count: 2\n.*Count: 3\n", out, re.S)
    assert "counter-1 Count: 1" in out


def test_calculator_json_and_type_error(local_zone):
    z = local_zone([LocalPod("main-pod", app("calculator")), runners(2)])
    out = z.wait_for("main-pod", "TypeError:")
    assert "Result: 42" in out


def test_timeout_then_fallback(local_zone):
    z = local_zone([LocalPod("main-pod", app("timeout_fallback")), runners(2)])
    out = z.wait_for("main-pod", "backup: job")
    assert "Operation timed out" in out and "timeout" in out


def test_multinode_runner_and_client_retry_loop(local_zone):
    z = local_zone(
        [
            LocalPod("client-pod", app("multinode_client"), container="client"),
            LocalPod("runner-pod", app("multinode_runner"), clones=2, container="runner"),
        ]
    )
    out = z.wait_for("client-pod", "Client completed all messages", timeout=40)
    for i, msg in enumerate(["Hello from client", "How are you?", "This is a test message", "Goodbye!"], 1):
        assert f"Received reply {i}: Hello! You said: {msg}" in out
    assert re.search(r"INFO node Connected to runner: \S+-runner-pod-\d-runner", out)
    runner_logs = z.log("runner-pod-0") + z.log("runner-pod-1")
    assert "Runner is ready with greeter worker" in runner_logs
    assert "Greeter received: Goodbye!" in runner_logs


def test_remote_processor_reached_by_name_alone(local_zone):
    z = local_zone([LocalPod("main-pod", app("remote_processors")), runners(3)])
    out = z.wait_for("main-pod", "Processed: task-2")
    assert "Found 3 runner nodes" in out
    assert "Processed: task-0" in out and "Processed: task-1" in out


def test_distribute_round_robin_gather(local_zone):
    z = local_zone([LocalPod("main-pod", app("distribute")), runners(3)])
    out = z.wait_for("main-pod", "Processed 4 chunks across 3 runners")
    assert "{'processed': 3, 'items': ['item10', 'item11', 'item12']}" in out
    # each runner got work, the first one twice (round robin over 3)
    started = [z.log(f"runner-pod-{i}").count("started worker") for i in range(3)]
    assert started == [2, 1, 1]


def test_remote_worker_per_runner_token_names(local_zone):
    z = local_zone([LocalPod("main-pod", app("remote_token")), runners(3)])
    out = z.wait_for("main-pod", r"(Got reply: Processed: hello from \S+\n.*){3}", regex=True)
    for i in range(3):
        assert f"hello from 00000000000000000000000000000000-local-runner-pod-{i}-runner" in out


def test_list_workers_on_all_nodes(local_zone):
    z = local_zone([LocalPod("main-pod", app("list_workers")), runners(2)])
    out = z.wait_for("main-pod", r"Node \S+runner-pod-1-runner: 1 workers", regex=True)
    assert "Local workers: ['local-idle']" in out
    assert re.search(r"runner-pod-0-runner: \['idle-0'\]", out)
    assert re.search(r"runner-pod-1-runner: \['idle-1'\]", out)
    assert re.search(r"Node \S+main-pod-main: 1 workers\n  - \{'name': 'local-idle'\}", out)


def test_error_handling_with_cleanup_in_finally(local_zone):
    z = local_zone([LocalPod("main-pod", app("cleanup")), runners(3)])
    out = z.wait_for("main-pod", r"(left on \S+: 0\n.*){3}", regex=True)
    assert "Processed 3 items" in out
    assert "Warning" not in out and "failed" not in out
