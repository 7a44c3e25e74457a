"""An agent started on another node of a zone (node processes on 127.0.0.1), its model a
scripted stand-in server in this process (not a model: see unit/standin_model.py)."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from zonekit import app, runners

from autonomy.testing import LocalPod

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from standin_model import StandIn, call, last, say  # noqa: E402


def script(body: dict[str, Any]) -> dict[str, Any]:
    if body["messages"][-1]["role"] == "tool":
        return say("found: " + last(body, "tool"))
    return call("where", city="Porto")


def test_an_agent_runs_on_the_node_it_was_started_on(local_zone: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ready = threading.Event()
    stop: dict[str, Any] = {}

    def serve() -> None:
        async def go() -> None:
            async with StandIn(script) as standin:
                stop["url"], stop["loop"], stop["event"] = standin.url, asyncio.get_running_loop(), asyncio.Event()
                ready.set()
                await stop["event"].wait()

        asyncio.run(go())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        monkeypatch.setenv("OPENAI_BASE_URL", stop["url"] + "/v1")
        z = local_zone([LocalPod("main-pod", app("remote_agent")), runners(1)])
        out = z.wait_for("main-pod", "STREAMED", timeout=60)
        assert "GEO ON RUNNER True True" in out
        assert "REPLY found: Porto is in Portugal" in out
        assert "STREAMED" in out and out.split("STREAMED ")[1].split()[1] == "True"
        assert "Traceback" not in out
    finally:
        stop["loop"].call_soon_threadsafe(stop["event"].set)
        thread.join(30)
