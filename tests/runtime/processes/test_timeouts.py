"""Timeouts: only finite numbers >= 0, they keep firing, and calls to a node that is down end.

* NaN, infinities and negative timeouts are refused with ``ValueError`` at the call,
  in-node and remote, and later timeouts still fire;
* a call to a node of the roster that is not running fails (one of our errors) within
  its timeout, and also with no timeout at all; while the node is known to be down, the
  next call fails at once;
* a request whose caller gave up (timed out) while the node was down is not delivered
  when the node comes up.
"""

from __future__ import annotations

import re

from hardkit import happ, zone

from autonomy.testing import LocalPod


def _cases(out: str) -> dict[str, str]:
    return dict(re.findall(r"CASE (\S+): (.*)", out))


def _seconds(line: str) -> float:
    return float(re.search(r"s=([\d.]+)", line).group(1))  # type: ignore[union-attr]


def test_bad_timeouts_are_refused_and_calls_to_a_down_node_end(tmp_path):
    pods = [
        LocalPod("client-pod", happ("timeouts"), container="client"),
        LocalPod("target-pod", happ("echo"), container="target"),
        LocalPod("down-pod", happ("echo"), container="down", autostart=False),
    ]
    with zone(tmp_path, pods, http=False) as z:
        out = z.wait_for("client-pod", "TIMEOUTS DONE", timeout=240)
    cases = _cases(out)
    for where in ("local", "remote", "via_node"):
        for bad in ("nan", "inf", "minus_inf", "minus_one"):
            line = cases[f"{where}_{bad}"]
            assert line.startswith("ValueError"), f"{where}_{bad}: {line}"
            assert "timeout" in line
    for name in ("local_after", "remote_after"):
        assert cases[name].startswith("MessageTimeout"), f"{name}: {cases[name]}"
        assert _seconds(cases[name]) < 10
    down = z.node("down-pod").name
    for name, bound in (("down_timeout", 5 + 5), ("down_default", 30), ("down_again", 1), ("down_list", 1)):
        line = cases[name]
        assert "ours=True" in line, f"{name}: {line}"
        assert down in line, f"{name} does not name the node: {line}"
        assert _seconds(line) < bound, f"{name} took too long: {line}"


def test_a_request_whose_caller_gave_up_is_not_delivered_later(tmp_path):
    pods = [
        LocalPod("client-pod", happ("stale_client"), container="client"),
        LocalPod("late-pod", happ("recorder"), container="late", autostart=False),
    ]
    with zone(tmp_path, pods, http=False) as z:
        out = z.wait_for("client-pod", "STALE SENT", timeout=60)
        assert "answered" not in out
        z.start_node(z.node("late-pod"))
        out = z.wait_for("client-pod", "SEEN ", timeout=120)
        late = z.log("late-pod")
    assert "SEEN []" in out, out[-2000:]
    assert "stale" not in late
