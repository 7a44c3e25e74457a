"""The gateway's side towards the backends: one httpx client, the local server's model
list, sending a request with the backend's key, and errors in OpenAI's shape.

Nothing here logs a key: keys go into request headers only, and any text from a backend
that is shown to a client has every configured key replaced by ``***``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from .config import ssl_verify
from .routing import Backend, GatewayConfig, backends, safe_url

#: seconds a backend has to accept a connection / to send each part of its answer
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 300.0
#: seconds the local server's model list is kept (after a failure: a shorter while)
LIST_TTL = 60.0
LIST_RETRY = 5.0


def error_body(message: str, kind: str, code: str | int | None = None) -> dict[str, Any]:
    """An error as OpenAI's API (and so the openai library) shapes it."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class Unreachable(Exception):
    """The backend did not answer: connection refused, DNS, TLS, or timeout."""

    def __init__(self, backend: Backend, cause: httpx.HTTPError) -> None:
        self.backend = backend
        self.timeout = isinstance(cause, httpx.TimeoutException)
        what = "did not answer in time" if self.timeout else "is unreachable"
        reason = type(cause).__name__ + (f": {cause}" if str(cause) else "")
        super().__init__(f"backend {backend.name} ({safe_url(backend.base_url)}) {what}: {reason}")


class Upstream:
    """Sends requests to the configured backends with their keys, and knows which models
    the local (compatible or offline) server lists."""

    def __init__(self, config: GatewayConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._owned = client is None
        self.client = client or httpx.AsyncClient(
            verify=ssl_verify(config), timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
        )
        have = backends(config)
        self.local = have.get("compatible") or have.get("offline")
        self._listed: tuple[str, ...] | None = None
        self._listed_until = 0.0
        self._secrets = tuple(s for s in (config.openai_api_key, config.anthropic_api_key, config.token) if s)

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()

    def headers(self, backend: Backend) -> dict[str, str]:
        """The headers a request to ``backend`` carries: its key as bearer (Anthropic's
        OpenAI-compatible endpoint takes it so, as the openai library sends it), and
        nothing of the client's request."""
        out = {"Content-Type": "application/json"}
        key = {"OPENAI_API_KEY": self.config.openai_api_key, "ANTHROPIC_API_KEY": self.config.anthropic_api_key}.get(
            backend.key_var or ""
        )
        if key:
            out["Authorization"] = f"Bearer {key}"
        return out

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def listed(self) -> tuple[str, ...] | None:
        """The ids the local server lists in its ``/v1/models`` (cached), None when there is
        no local server or it did not answer."""
        if self.local is None:
            return None
        now = time.monotonic()
        if now < self._listed_until:
            return self._listed
        try:
            response = await self.client.get(f"{self.local.base_url}/models", headers=self.headers(self.local))
            data = response.json().get("data", []) if response.status_code == 200 else []
            ids = tuple(str(m["id"]) for m in data if isinstance(m, dict) and "id" in m)
            self._listed, self._listed_until = (ids or None), now + LIST_TTL
        except (httpx.HTTPError, ValueError, AttributeError):
            self._listed, self._listed_until = None, now + LIST_RETRY
        return self._listed

    async def send(self, backend: Backend, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST ``body`` to ``backend``'s ``path``; the response is open for streaming (the
        caller closes it). Raises :class:`Unreachable`."""
        request = self.client.build_request("POST", backend.base_url + path, json=body, headers=self.headers(backend))
        try:
            return await self.client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise Unreachable(backend, e) from None

    def upstream_error(self, backend: Backend, status: int, content: bytes) -> dict[str, Any]:
        """A backend's error answer for the client: its own JSON when it has an ``error``
        object (OpenAI's and Anthropic's both do), else wrapped; keys scrubbed."""
        text = self.scrub(content.decode("utf-8", errors="replace"))
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            return data
        return error_body(f"backend {backend.name} answered {status}: {text[:500]}", "upstream_error", status)
