"""The pieces of the node's FastAPI app that know nothing of nodes: ASGI middleware that
hands the node to routes and asks for the API key, the ``/docs`` page that carries the
key along, a log filter that hides the key, and the listen address parser.

Loaded with FastAPI, off the event loop (see :mod:`._http`).
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

__all__ = ["InjectNode", "RequireKey", "RedactKey", "add_docs", "parse_listen_address", "quiet_uvicorn"]

_KEY_IN_TEXT = re.compile(r"(api_key=)[^&\s\"']*")


class InjectNode:
    """Puts the node in every request's state (``request.state.node``) for ``NodeDep``;
    a mounted app sees it too."""

    def __init__(self, app: ASGIApp, node: Any) -> None:
        self.app = app
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("state", {})["node"] = self.node
        await self.app(scope, receive, send)


class RequireKey:
    """Every HTTP request and WebSocket needs ``?api_key=<key>``: 401 (a WebSocket is
    closed, 1008) otherwise. Compared in constant time."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self._key = key.encode()

    def allowed(self, scope: Scope) -> bool:
        query = scope.get("query_string", b"").decode("latin-1")
        given = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "api_key"]
        return bool(given) and secrets.compare_digest(given[-1].encode(), self._key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allowed(scope):
            response = JSONResponse({"detail": "Invalid or missing API key"}, status_code=401)
            await response(scope, receive, send)
        elif scope["type"] == "websocket" and not self.allowed(scope):
            await WebSocketClose(code=1008)(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class RedactKey(logging.Filter):
    """Replaces the value of ``api_key=`` in a log record's text (uvicorn's access log
    writes the whole query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_KEY_IN_TEXT.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _KEY_IN_TEXT.sub(r"\1***", record.msg)
        return True


def quiet_uvicorn() -> None:
    """uvicorn's loggers at WARNING unless a level was given to them
    (``AUTONOMY_LOG_LEVEL="uvicorn.access=INFO"``); the access log never shows a key."""
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactKey) for f in access.filters):
        access.addFilter(RedactKey())


def add_docs(app: FastAPI) -> None:
    """``GET /docs``: Swagger UI over ``/openapi.json``, passing ``api_key`` along when
    the page was asked for with one (the schema is behind the key too)."""
    openapi = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        key = request.query_params.get("api_key")
        url = f"{openapi}?{urlencode({'api_key': key})}" if key else openapi
        return get_swagger_ui_html(openapi_url=url, title=f"{app.title} - docs")


def parse_listen_address(text: str) -> tuple[str, int]:
    """``"0.0.0.0:8000"`` -> ``("0.0.0.0", 8000)``; ``"[::]:9000"`` -> ``("::", 9000)``.
    ValueError when it is not ``HOST:PORT`` with a port of 0 to 65535."""
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"listen_address: expected HOST:PORT such as '0.0.0.0:8000', got {text!r}")
    return host.strip("[]") or "0.0.0.0", int(port)
