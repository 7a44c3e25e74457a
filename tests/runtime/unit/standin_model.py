"""A scripted stand-in for an OpenAI-compatible model API, for tests only.

It is not a model: each ``POST /v1/chat/completions`` is answered by a Python function
of the request (the test's script), as a whole ``ChatCompletion`` or, with
``"stream": true``, as server-sent ``ChatCompletionChunk``s (the text word by word, tool
calls in one chunk, then the usage). ``/v1/embeddings`` and ``/v1/models`` answer fixed
data. Every request's body and headers are kept in ``requests``.

    async with StandIn(script) as standin:       # listens on 127.0.0.1:<free port>
        os.environ["OPENAI_BASE_URL"] = standin.url + "/v1"
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

#: a script answers a request body with {"content": str}, {"tool_calls": [(name, args dict)]}
#: or {"status": 400, "content": "why"} (an API error)
Script = Callable[[dict[str, Any]], dict[str, Any]]


def call(name: str, **arguments: Any) -> dict[str, Any]:
    """An answer that calls one tool."""
    return {"tool_calls": [(name, arguments)]}


def say(text: str) -> dict[str, Any]:
    """An answer in words."""
    return {"content": text}


def last(body: dict[str, Any], role: str) -> str:
    """The text of the request's last message of ``role``."""
    for m in reversed(body["messages"]):
        if m["role"] == role:
            return str(m.get("content") or "")
    return ""


def _tool_calls(answer: dict[str, Any], n: int) -> list[dict[str, Any]]:
    return [
        {"id": f"call_{n}_{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
        for i, (name, args) in enumerate(answer.get("tool_calls", []))
    ]


class StandIn:
    """The stand-in server; ``url`` is its base (``http://127.0.0.1:<port>``)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[dict[str, Any], dict[str, str]]] = []
        self.app = FastAPI()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self._sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._routes()

    def _routes(self) -> None:
        @self.app.post("/v1/chat/completions", response_model=None)
        async def chat(request: Request) -> JSONResponse | StreamingResponse:
            body = await request.json()
            self.requests.append((body, dict(request.headers)))
            n = len(self.requests)
            answer = self.script(body)
            if "status" in answer:  # the API refuses the request
                error = {"message": answer.get("content", "refused"), "type": "invalid_request_error"}
                return JSONResponse({"error": error}, status_code=answer["status"])
            calls = _tool_calls(answer, n)
            usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
            if body.get("stream"):
                return StreamingResponse(self._chunks(body, answer, calls, usage, n), media_type="text/event-stream")
            message: dict[str, Any] = {"role": "assistant", "content": answer.get("content")}
            if calls:
                message["tool_calls"] = calls
            return JSONResponse(
                {
                    "id": f"chatcmpl-{n}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
                    "usage": usage,
                }
            )

        @self.app.post("/v1/embeddings")
        async def embeddings(request: Request) -> dict[str, Any]:
            body = await request.json()
            self.requests.append((body, dict(request.headers)))
            data = [
                {"object": "embedding", "index": i, "embedding": [float(len(t)), 1.0]}
                for i, t in enumerate(body["input"])
            ]
            return {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }

        @self.app.get("/v1/models")
        async def models(request: Request) -> dict[str, Any]:
            self.requests.append(({}, dict(request.headers)))
            ids = ["claude-sonnet-4-v1", "gpt-4o"]
            return {
                "object": "list",
                "data": [{"id": i, "object": "model", "created": 0, "owned_by": "x"} for i in ids],
            }

    async def _chunks(
        self, body: dict[str, Any], answer: dict[str, Any], calls: list[dict[str, Any]], usage: dict[str, int], n: int
    ) -> AsyncIterator[str]:
        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
            data = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
            return "data: " + json.dumps({**data, "choices": choices, **extra}) + "\n\n"

        yield chunk({"role": "assistant", "content": ""})
        text = answer.get("content") or ""
        for word in text.split(" ") if text else []:
            yield chunk({"content": word + " "})
        if calls:
            yield chunk({"tool_calls": [{"index": i, **c} for i, c in enumerate(calls)]})
        yield chunk({}, "tool_calls" if calls else "stop")
        yield (
            "data: "
            + json.dumps(
                {
                    "id": f"chatcmpl-{n}",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body["model"],
                    "choices": [],
                    "usage": usage,
                }
            )
            + "\n\n"
        )
        yield "data: [DONE]\n\n"

    async def __aenter__(self) -> StandIn:
        config = uvicorn.Config(self.app, log_config=None, lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[self._sock]))
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task
        self._sock.close()
