"""The node's ``/agents`` routes, in the SDK's shapes (added by :mod:`autonomy.nodes.http`).

=================================================================  ==========================================
``GET /agents``                                                    ``{"agents": [{"name", "model", ...}]}``
``GET /agents/{name}``                                             that agent's entry (404: no such agent)
``GET /agents/{name}/conversations``                               ``{"conversations": [{"scope",
                                                                   "conversation", "messages"}], "type"}``
``GET /agents/{name}/scopes/{scope}/conversations[/{conv}]``       the same, for one scope (or conversation)
``POST /agents/{name}?stream=false&timeout=180``                   body ``{"message", "scope"?,
                                                                   "conversation"?}`` or a bare JSON message:
                                                                   the turn's new messages, a JSON list
``POST /agents/{name}?stream=true``                                newline-delimited JSON, one conversation
                                                                   snippet a line, as the model writes
=================================================================  ==========================================

An agent that fails answers 500 with its error as ``detail`` (a streamed answer ends with
a ``{"type": "error", "message"}`` line), a turn that outlasts ``timeout`` 504.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from ..errors import AgentError, MessageTimeout, MessagingError
from .reference import AgentReference

__all__ = ["add_agent_routes"]


async def _find(node: Any, name: str) -> dict[str, Any]:
    for agent in await node.list_agents():
        if agent.get("name") == name:
            return dict(agent)
    raise HTTPException(404, f"Agent '{name}' not found")


async def _conversations(node: Any, name: str, scope: str | None, conversation: str | None) -> dict[str, Any]:
    await _find(node, name)
    try:
        found = await AgentReference(name, node).conversations(scope, conversation)
    except MessagingError as e:
        raise HTTPException(500, f"Failed to get the conversations of agent '{name}': {e}") from None
    return {"conversations": found, "type": "get_conversations_response"}


async def _body(request: Request) -> tuple[Any, str, str]:
    try:
        data = await request.json()
    except ValueError:
        raise HTTPException(
            400, 'expected a JSON body: {"message": "...", "scope": "...", "conversation": "..."}'
        ) from None
    scope = conversation = ""
    if isinstance(data, dict) and "message" in data:
        scope, conversation = str(data.get("scope") or ""), str(data.get("conversation") or "")
        data = data["message"]
    if not isinstance(data, (str, list)):
        raise HTTPException(400, "the message must be a string (or a list of messages)")
    return data, scope, conversation


def add_agent_routes(app: FastAPI, node: Any) -> None:
    """Add the ``/agents`` routes for ``node`` to ``app``."""

    @app.get("/agents", tags=["agents"])
    async def agents() -> dict[str, Any]:
        """The agents this node hosts, with their figures."""
        return {"agents": await node.list_agents()}

    @app.get("/agents/{name}", tags=["agents"])
    async def agent(name: str) -> dict[str, Any]:
        """One agent: model, tools, conversations, model calls, tokens, last error."""
        return await _find(node, name)

    @app.get("/agents/{name}/conversations", tags=["agents"])
    async def conversations(name: str) -> dict[str, Any]:
        """Every conversation of an agent, with its messages."""
        return await _conversations(node, name, None, None)

    @app.get("/agents/{name}/scopes/{scope}/conversations", tags=["agents"])
    async def scope_conversations(name: str, scope: str) -> dict[str, Any]:
        """The conversations of one scope."""
        return await _conversations(node, name, scope, None)

    @app.get("/agents/{name}/scopes/{scope}/conversations/{conversation}", tags=["agents"])
    async def one_conversation(name: str, scope: str, conversation: str) -> dict[str, Any]:
        """One conversation."""
        return await _conversations(node, name, scope, conversation)

    @app.post("/agents/{name}", tags=["agents"], response_model=None)
    async def send(
        name: str,
        request: Request,
        stream: bool = False,
        timeout: float = Query(180.0, ge=0, le=86400),
        content_size: int = 50,
    ) -> list[dict[str, Any]] | StreamingResponse:
        """Send a message; the turn's new messages (``stream=true``: as they are written)."""
        await _find(node, name)
        message, scope, conversation = await _body(request)
        agent = AgentReference(name, node)
        if stream:
            return StreamingResponse(
                _lines(agent, message, scope, conversation, timeout), media_type="application/json"
            )
        try:
            return [asdict(m) for m in await agent.send(message, scope, conversation, timeout=timeout)]
        except MessageTimeout as e:
            raise HTTPException(504, str(e)) from None
        except (AgentError, MessagingError) as e:
            raise HTTPException(500, str(e)) from None


async def _lines(
    agent: AgentReference, message: Any, scope: str, conversation: str, timeout: float
) -> AsyncIterator[str]:
    try:
        async for part in agent.send_stream(message, scope, conversation, timeout=timeout):
            yield json.dumps(asdict(part.snippet)) + "\n"
    except (AgentError, MessagingError) as e:
        yield json.dumps({"type": "error", "message": str(e)}) + "\n"
