"""A scripted OpenAI-compatible **stand-in** for the e2e tests: not a model.

It listens on this host's 127.0.0.1 (a free port), lists one model, and answers every
``POST /v1/chat/completions`` with what its ``script`` returns for the request's body:
an assistant message (``{"content": ...}`` or ``{"tool_calls": [...]}``), sent as one
JSON answer or, when the request says ``stream: true``, as server-sent event chunks the
way OpenAI streams them. It records each request body in :attr:`StandIn.seen`.

::

    with StandIn(lambda body: {"content": "hi"}) as standin:
        deploy(OPENAI_BASE_URL=standin.url)      # http://127.0.0.1:<port>/v1
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["MODEL", "StandIn", "tool_call", "tool_results"]

#: the one model the stand-in lists
MODEL = "standin-model"

Script = Callable[[dict[str, Any]], dict[str, Any]]


def tool_call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """An assistant message asking for one call of the tool ``name``."""
    return {
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        ]
    }


def tool_results(body: dict[str, Any]) -> list[str]:
    """The contents of the ``tool`` messages of a chat request (the tools' results)."""
    return [str(m.get("content")) for m in body.get("messages", []) if m.get("role") == "tool"]


def _chunks(message: dict[str, Any], model: str) -> Iterator[dict[str, Any]]:
    """``message`` as OpenAI's stream chunks: the role, the text word by word or the tool
    calls, then the finish reason."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return {"id": "chatcmpl-standin", "object": "chat.completion.chunk", "created": 0, "model": model,
                "choices": [choice]}  # fmt: skip

    yield chunk({"role": "assistant", "content": ""})
    if message.get("tool_calls"):
        calls = [dict(c, index=i) for i, c in enumerate(message["tool_calls"])]
        yield chunk({"tool_calls": calls})
        yield chunk({}, "tool_calls")
        return
    for word in str(message.get("content", "")).split(" "):
        yield chunk({"content": word + " "})
    yield chunk({}, "stop")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _json(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._json({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "stand-in"}]})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        standin = self.server.standin
        with standin.lock:
            standin.seen.append(dict(body, path=self.path))
        message = {"role": "assistant", "content": None} | standin.script(body)
        model = str(body.get("model"))
        if not body.get("stream"):
            finish = "tool_calls" if message.get("tool_calls") else "stop"
            choice = {"index": 0, "message": message, "finish_reason": finish}
            usage = {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}
            self._json({"id": "chatcmpl-standin", "object": "chat.completion", "created": 0, "model": model,
                        "choices": [choice], "usage": usage})  # fmt: skip
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for chunk in _chunks(message, model):
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: StandIn


class StandIn:
    """The stand-in server, serving in a thread while the ``with`` block runs."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)  # this host's loopback only
        self._server.standin = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, as ``OPENAI_BASE_URL`` wants it: ``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
