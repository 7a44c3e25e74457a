"""The zone's model gateway: an OpenAI-shaped API in front of the configured backends.

The SDK reaches models through an OpenAI client at ``$AUTONOMY_EXTERNAL_APIS_GATEWAY_URL/v1``
with the zone's token as key; this app answers there:

* ``POST /v1/chat/completions``: routed by its ``model`` (:mod:`.routing`), forwarded with
  the model name replaced by the backend's (and fields that model refuses left out) and
  the token replaced by the backend's key;
  ``stream: true`` answers are passed on as server-sent events chunk by chunk, ``tools``
  and ``tool_calls`` unchanged;
* ``POST /v1/embeddings``: the same;
* ``GET /v1/models``: the SDK's names it can serve and the local server's own, in
  OpenAI's list shape;
* ``GET /health``: no token needed; says which backends are configured, nothing secret.

Every other request needs ``Authorization: Bearer <AUTONOMY_GATEWAY_TOKEN>`` (compared in
constant time; 401 otherwise). A backend's error comes back with its status as OpenAI's
error JSON; a backend that cannot be reached gives 502 naming it (504 when it does not
answer in time); a model no backend serves gives 503 saying what to set. Each request is
logged in one line (model, backend, status, duration), never with a key or the token.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ...errors import ConfigurationError
from ...logs import get_logger
from ._upstream import Unreachable, Upstream, error_body
from .routing import SDK_MODELS, UNSUPPORTED_FIELDS, GatewayConfig, NoBackend, backends, route

__all__ = ["create_app"]

log = get_logger("autonomy.gateway")


class _ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str, code: str | None = None) -> None:
        self.status = status
        self.body = error_body(message, kind, code)
        super().__init__(message)


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def create_app(config: GatewayConfig, client: httpx.AsyncClient | None = None) -> FastAPI:
    """The gateway's app. ``client``: the httpx client to reach backends with (made from
    ``config``, with its CA bundle, when None, and closed with the app)."""
    if not config.token:
        raise ConfigurationError("AUTONOMY_GATEWAY_TOKEN", "required: the token clients must send")
    upstream = Upstream(config, client)
    token = config.token.encode()

    def require_token(request: Request) -> None:
        if not hmac.compare_digest(_bearer(request).encode(), token):
            log.warning("%s refused: missing or wrong bearer token", request.url.path)
            raise _ApiError(401, "missing or wrong bearer token", "invalid_request_error", "invalid_api_key")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await upstream.aclose()

    app = FastAPI(title="autonomy model gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(_ApiError)
    async def api_error(_: Request, e: _ApiError) -> JSONResponse:
        return JSONResponse(e.body, status_code=e.status)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "backends": list(backends(config))}

    @app.get("/v1/models", dependencies=[Depends(require_token)])
    async def models() -> dict[str, Any]:
        listed = await upstream.listed()
        data = []
        for name in dict.fromkeys((*SDK_MODELS, *(listed or ()))):
            try:
                served = route(config, name, listed)
            except NoBackend:
                continue
            data.append({"id": name, "object": "model", "created": 0, "owned_by": served.backend.name})
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions", dependencies=[Depends(require_token)])
    async def chat(request: Request) -> Response:
        return await _forward(upstream, request, "/chat/completions")

    @app.post("/v1/embeddings", dependencies=[Depends(require_token)])
    async def embeddings(request: Request) -> Response:
        return await _forward(upstream, request, "/embeddings")

    return app


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise _ApiError(400, "the request body is not JSON", "invalid_request_error") from None
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        raise _ApiError(400, "the request needs a JSON object with a 'model' string", "invalid_request_error")
    return body


def _printable(text: str) -> str:
    """``text`` cut to 100 characters, each one that is not printable shown as ``?``: what a
    client sends (its model name, its node) never starts a log line of its own."""
    return "".join(c if c.isprintable() else "?" for c in text[:100])


def _log(request: Request, model: str, backend: str, upstream: str, status: int, started: float) -> None:
    node = _printable(request.headers.get("x-client-node", "-"))
    log.info(
        "%s model=%s backend=%s upstream=%s status=%d duration=%.3fs node=%s",
        request.url.path,
        _printable(model),
        backend,
        upstream,
        status,
        time.monotonic() - started,
        node,
    )


async def _forward(upstream: Upstream, request: Request, path: str) -> Response:
    started = time.monotonic()
    body = await _body(request)
    model = body["model"]
    try:
        served = route(upstream.config, model, await upstream.listed())
    except NoBackend as e:
        _log(request, model, "-", "-", 503, started)
        raise _ApiError(503, str(e), "service_unavailable", "model_not_available") from None
    backend = served.backend
    try:
        dropped = UNSUPPORTED_FIELDS.get(served.upstream, ())
        sent = {k: v for k, v in body.items() if k not in dropped} | {"model": served.upstream}
        response = await upstream.send(backend, path, sent)
    except Unreachable as e:
        status = 504 if e.timeout else 502
        _log(request, model, backend.name, served.upstream, status, started)
        raise _ApiError(status, str(e), "backend_unreachable") from None
    if response.status_code >= 400 or not body.get("stream"):
        try:
            content = await response.aread()
        except httpx.HTTPError as e:
            _log(request, model, backend.name, served.upstream, 502, started)
            raise _ApiError(502, str(Unreachable(backend, e)), "backend_unreachable") from None
        finally:
            await response.aclose()
        _log(request, model, backend.name, served.upstream, response.status_code, started)
        if response.status_code >= 400:
            error = upstream.upstream_error(backend, response.status_code, content)
            return JSONResponse(error, status_code=response.status_code)
        media = response.headers.get("content-type", "application/json")
        return Response(content, status_code=response.status_code, media_type=media)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as e:
            log.warning("stream from backend %s broke off: %s", backend.name, type(e).__name__)
        finally:
            await response.aclose()
            _log(request, model, backend.name, served.upstream, response.status_code, started)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    media = response.headers.get("content-type", "text/event-stream")
    return StreamingResponse(chunks(), status_code=response.status_code, media_type=media, headers=headers)
