"""``Model``: a chat model (and embeddings) behind an OpenAI-compatible API.

::

    from autonomy import Model

    model = Model("claude-sonnet-4-v1", temperature=0.2)
    reply = await model.complete_chat([{"role": "user", "content": "Hi"}])
    print(reply.choices[0].message.content)

    async for chunk in model.complete_chat(messages, stream=True):
        print(chunk.choices[0].delta.content or "", end="")

As in the SDK, the model is reached through the zone's gateway when
``AUTONOMY_USE_EXTERNAL_APIS_GATEWAY=1`` (see :mod:`._client`), with the model's name
passed as written; the gateway maps names like ``claude-sonnet-4-v1`` to a provider.
Keywords the constructor does not know (``temperature``, ``max_tokens``, ``top_p``, ...)
go with every request. ``complete_chat`` answers OpenAI's objects (``ChatCompletion``,
or ``ChatCompletionChunk``s when streaming), as the SDK's gateway client does.

Timeouts are seconds: ``request_timeout`` for a whole answer, ``stream_timeout`` for a
streamed one, ``connect_timeout`` to connect. ``max_input_tokens`` drops the oldest
messages (never the system ones) until the rest fits, by an estimate of 4 characters a
token. ``throttle=True`` caps requests in flight (``throttle_max_requests_in_progress``,
10) and retries rate-limited or failed requests (``throttle_max_retry_attempts``, 3)
with the client's backoff. A Model can be shipped to another node with the agent that
uses it: its connection is made again where it runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from ..clusters.gateway.routing import SDK_MODELS
from . import _client

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

__all__ = ["Model", "KNOWN_MODELS"]

log = logging.getLogger("model")

#: names the SDK's docs and examples use; ``Model.list()`` answers these when it cannot
#: ask the gateway (the gateway's own list: one list, so the two never drift apart)
KNOWN_MODELS = SDK_MODELS
_THROTTLE_KEYS = (
    "throttle_requests_per_minute",
    "throttle_max_requests_in_progress",
    "throttle_max_requests_waiting_in_queue",
    "throttle_max_seconds_to_wait_in_queue",
    "throttle_max_retry_attempts",
    "throttle_initial_seconds_between_retry_attempts",
    "throttle_max_seconds_between_retry_attempts",
)


class Model:
    """A model by name; see the module's text for what each argument does."""

    def __init__(
        self,
        name: str,
        max_input_tokens: int | None = None,
        request_timeout: float = 120.0,
        connect_timeout: float = 10.0,
        stream_timeout: float = 300.0,
        throttle: bool = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a model needs a name, got {name!r}")
        self.name = name
        self.max_input_tokens = max_input_tokens
        self.request_timeout = float(request_timeout)
        self.connect_timeout = float(connect_timeout)
        self.stream_timeout = float(stream_timeout)
        self.throttle = throttle
        self.throttle_options = {k: kwargs.pop(k) for k in _THROTTLE_KEYS if k in kwargs}
        #: what goes with every request (temperature=..., max_tokens=...)
        self.options = kwargs
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, AsyncOpenAI, asyncio.Semaphore | None]] = {}

    def __repr__(self) -> str:
        return f"Model({self.name!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_clients"] = {}  # connections stay where they were made
        return state

    # ------------------------------------------------------------------ the connection

    def _client(self) -> tuple[AsyncOpenAI, asyncio.Semaphore | None]:
        loop = asyncio.get_running_loop()
        held = self._clients.get(id(loop))
        if held is not None and held[0] is loop:
            return held[1], held[2]
        from openai import AsyncOpenAI, Timeout

        where = _client.endpoint()
        retries = int(self.throttle_options.get("throttle_max_retry_attempts", 3)) if self.throttle else 2
        client = AsyncOpenAI(
            api_key=where.api_key,
            base_url=where.base_url,
            default_headers=where.headers or None,
            timeout=Timeout(self.request_timeout, connect=self.connect_timeout),
            max_retries=retries,
        )
        limit = int(self.throttle_options.get("throttle_max_requests_in_progress", 10)) if self.throttle else 0
        gate = asyncio.Semaphore(limit) if limit > 0 else None
        self._clients = {i: c for i, c in self._clients.items() if not c[0].is_closed()}
        self._clients[id(loop)] = (loop, client, gate)
        log.debug("model %s via %s", self.name, "the gateway" if where.via_gateway else where.base_url or "OpenAI")
        return client, gate

    # ------------------------------------------------------------------ chat

    @overload
    def complete_chat(
        self, messages: Sequence[Any], stream: Literal[False] = False, tools: list[Any] | None = None, **kwargs: Any
    ) -> Awaitable[ChatCompletion]: ...

    @overload
    def complete_chat(
        self, messages: Sequence[Any], stream: Literal[True], tools: list[Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[ChatCompletionChunk]: ...

    def complete_chat(
        self, messages: Sequence[Any], stream: bool = False, tools: list[Any] | None = None, **kwargs: Any
    ) -> Awaitable[ChatCompletion] | AsyncIterator[ChatCompletionChunk]:
        """Ask the model to answer ``messages`` (dicts in OpenAI's or the SDK's shape, or
        the message objects of :mod:`autonomy.agents.messages`).

        ``stream=False``: await the ``ChatCompletion``. ``stream=True``: iterate over the
        ``ChatCompletionChunk``s as they come (the last one carries the usage when the API
        gives it). ``tools``: OpenAI function specs the model may call."""
        for key in ("is_thinking", "agent_name", "scope", "conversation"):
            kwargs.pop(key, None)  # the SDK's bookkeeping keywords: nothing to send
        request: dict[str, Any] = {**self.options, **kwargs, "model": self.name, "messages": self._prepare(messages)}
        if tools:
            request["tools"] = tools
        if stream:
            return self._stream(request)
        return self._complete(request)

    async def _complete(self, request: dict[str, Any]) -> ChatCompletion:
        client, gate = self._client()
        if gate is None:
            response = await client.chat.completions.create(**request)
        else:
            async with gate:
                response = await client.chat.completions.create(**request)
        return cast("ChatCompletion", response)

    async def _stream(self, request: dict[str, Any]) -> AsyncIterator[ChatCompletionChunk]:
        from openai import Timeout

        client, gate = self._client()
        request.setdefault("stream_options", {"include_usage": True})
        request.update(stream=True, timeout=Timeout(self.stream_timeout, connect=self.connect_timeout))
        if gate is not None:
            await gate.acquire()
        try:
            chunks = await client.chat.completions.create(**request)
            async for chunk in chunks:
                yield cast("ChatCompletionChunk", chunk)
        finally:
            if gate is not None:
                gate.release()

    def _prepare(self, messages: Sequence[Any]) -> list[dict[str, Any]]:
        out = [_openai_message(m) for m in messages]
        if self.max_input_tokens is None:
            return out
        return _fit(out, self.max_input_tokens)

    # ------------------------------------------------------------------ embeddings, names

    async def embeddings(self, text: list[str] | str, **kwargs: Any) -> list[list[float]]:
        """One vector per text, from this (embeddings) model."""
        client, gate = self._client()
        texts = [text] if isinstance(text, str) else list(text)
        if gate is None:
            response = await client.embeddings.create(model=self.name, input=texts, **kwargs)
        else:
            async with gate:
                response = await client.embeddings.create(model=self.name, input=texts, **kwargs)
        return [list(d.embedding) for d in response.data]

    @staticmethod
    def list() -> list[str]:
        """The model names there are: the gateway's (``/v1/models``) in a zone, else the
        names the SDK's documentation uses."""
        s = _client.settings()
        if not s.use_gateway:
            return list(KNOWN_MODELS)
        from openai import OpenAI

        try:
            where = _client.endpoint(s)
            client = OpenAI(api_key=where.api_key, base_url=where.base_url, default_headers=where.headers, timeout=10.0)
            names = sorted({m.id for m in client.models.list()})
            client.close()
        except Exception as e:  # the list is a convenience: a failure falls back, said once
            log.warning("could not list the gateway's models (%s): the known names instead", type(e).__name__)
            return list(KNOWN_MODELS)
        return names or list(KNOWN_MODELS)


def _openai_message(message: Any) -> dict[str, Any]:
    from ..agents.messages import message_from_dict, to_openai

    if isinstance(message, dict):
        content = message.get("content")
        if isinstance(content, dict) or "phase" in message:
            return to_openai(message_from_dict(message))  # the SDK's shape
        return dict(message)
    if isinstance(message, str):
        return {"role": "user", "content": message}
    return to_openai(message)


def _size(message: dict[str, Any]) -> int:
    return len(str(message.get("content") or "")) + len(str(message.get("tool_calls") or ""))


def _fit(messages: list[dict[str, Any]], max_tokens: int) -> list[dict[str, Any]]:
    """The system messages and the newest others that fit ``max_tokens`` (4 characters a
    token); a conversation never starts with a tool result whose call was dropped."""
    system = [m for m in messages if m.get("role") == "system"]
    rest = [m for m in messages if m.get("role") != "system"]
    budget = max_tokens * 4 - sum(_size(m) for m in system)
    kept: list[dict[str, Any]] = []
    for m in reversed(rest):
        budget -= _size(m)
        if budget < 0 and kept:
            break
        kept.append(m)
    kept.reverse()
    while len(kept) > 1 and kept[0].get("role") == "tool":
        kept.pop(0)
    return system + kept
