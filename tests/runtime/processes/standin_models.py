"""A scripted OpenAI-compatible model server for tests: a STAND-IN, not a model.

It answers as an OpenAI-compatible server (Ollama, llama.cpp, vLLM) would, with fixed
text, on 127.0.0.1, in a thread of the test process, and records every request (path,
headers, JSON body) so a test can see what the gateway sent upstream:

* ``GET /v1/models``: lists :data:`LISTED`;
* ``POST /v1/chat/completions``: with ``tools``, a call of the first tool (:data:`TOOL_CALL`);
  with ``stream``, :data:`STREAM_PIECES` as separate server-sent events, then ``[DONE]``;
  else ``echo: <last message>``. A last message ``please fail`` gets a 429 with OpenAI's
  error JSON, ``fail plainly`` a 500 in plain text that repeats the request's bearer key;
* ``POST /v1/embeddings``: one 3-number vector per input.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LISTED", "STREAM_PIECES", "TOOL_CALL", "Recorded", "StandIn", "stand_in"]

LISTED = ("stand-in-model", "deepseek-r1:7b", "stand-in-embed")
STREAM_PIECES = ("Hel", "lo", " from", " the stand-in")
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "", "arguments": '{"city": "Paris"}'}}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StandIn:
    port: int
    requests: list[Recorded] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]


def _chat(body: dict[str, Any]) -> dict[str, Any]:
    messages = body.get("messages") or [{}]
    if body.get("tools"):
        call = json.loads(json.dumps(TOOL_CALL))
        call["function"]["name"] = body["tools"][0]["function"]["name"]
        message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": f"echo: {messages[-1].get('content')}"}
        finish = "stop"
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    data = {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


@contextmanager
def stand_in() -> Iterator[StandIn]:
    """Serve the stand-in on a free port of 127.0.0.1 for the ``with`` block."""
    server_box: list[StandIn] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _record(self, body: Any) -> None:
            server_box[0].requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))

        def _json(self, status: int, data: Any) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._record(None)
            if self.path == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in LISTED]})
            else:
                self._json(404, {"error": {"message": "no such route", "type": "not_found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self._record(body)
            last = (body.get("messages") or [{}])[-1].get("content")
            if self.path == "/v1/embeddings":
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(inputs))]
                self._json(200, {"object": "list", "data": data, "model": body["model"], "usage": {}})
            elif last == "please fail":
                self._json(429, {"error": {"message": "slow down", "type": "rate_limit_error", "code": "rate"}})
            elif last == "fail plainly":
                payload = f"boom, key was {self.headers.get('Authorization', '')}".encode()
                self.send_response(500)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            elif body.get("stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for piece in STREAM_PIECES:
                    self.wfile.write(_chunk(body["model"], {"content": piece}))
                    self.wfile.flush()
                self.wfile.write(_chunk(body["model"], {}, "stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True
            else:
                self._json(200, _chat(body))

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server_box.append(StandIn(server.server_address[1]))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server_box[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
