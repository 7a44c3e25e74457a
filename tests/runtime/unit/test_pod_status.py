"""The status helper (``autonomy.clusters.pod_status``) merges what each pod instance
answers: a node with ``/agents``, an older one that answers 404 there, one that does not
answer at all. The HTTP GET is replaced by a table of answers (no network)."""

from __future__ import annotations

import email.message
import json
import urllib.error
from typing import Any

import pytest

from autonomy.clusters import pod_status

AGENT = {
    "name": "henry",
    "model": "claude-sonnet-4-v1",
    "tools": ["lookup"],
    "exposed_as": None,
    "conversations": 3,
    "waiting_for_input": 0,
    "model_calls": 5,
    "prompt_tokens": 812,
    "completion_tokens": 95,
    "last_error": None,
}


def _http_error(url: str, code: int) -> urllib.error.HTTPError:
    return urllib.error.HTTPError(url, code, "Not Found", email.message.Message(), None)


def _get(instance: str, path: str) -> Any:
    if instance == "gone":
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
    if path == "health":
        return {"node": f"c-{instance}", "status": "ok", "workers": 1, "last_message_at": 1.5}
    if path == "workers":
        return {"node": f"c-{instance}", "workers": [{"name": "henry"}]}
    if instance == "old":  # an image from before /agents
        raise _http_error(f"http://{instance}:8000/agents", 404)
    return {"agents": [AGENT]}


def test_each_instance_answer_is_kept_apart(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pod_status, "_get", _get)
    request = {"instances": {"new": ["c-new"], "old": ["c-old"], "gone": ["c-gone"]}, "probe": False}
    pod_status.main([json.dumps(request)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    http = out["http"]
    assert http["new"]["agents"] == {"agents": [AGENT]} and "agents_error" not in http["new"]
    assert http["new"]["workers"]["workers"] == [{"name": "henry"}]
    # a 404 on /agents spoils nothing else: health and workers are there
    assert http["old"]["agents_error"] == "HTTP 404" and "agents" not in http["old"]
    assert http["old"]["health"]["node"] == "c-old" and "error" not in http["old"]
    # no answer at all: an error, and /agents is not asked
    assert set(http["gone"]) == {"error"} and "Connection refused" in http["gone"]["error"]
    assert out["ping"] == {}


def test_a_failure_after_health_keeps_health() -> None:
    def get(instance: str, path: str) -> Any:
        if path == "workers":
            raise _http_error("http://a:8000/workers", 500)
        return {"node": "c-a"}

    into: dict[str, Any] = {}
    pod_status._ask("a", into, get)
    assert into == {"a": {"health": {"node": "c-a"}, "error": "HTTP 500"}}
