"""``AgentReference``: how code talks to an agent, on this node or another.

::

    agent = await Agent.start(node, "You are helpful.", name="helper")
    reply = await agent.send("Hi", scope="alice", conversation="c1")
    print(reply[-1].content.text)                      # the answer

    async for part in agent.send_stream("Tell me a story"):
        for m in part.snippet.messages:
            print(m.content.text, end="")               # as the model writes it

    receiver = await agent.send_message("Hi")          # no waiting here...
    messages = await receiver.receive_message(timeout=60)   # ...but here

``send`` answers the turn's new messages (assistant messages, tool calls and their
results; the answer is the last one). ``timeout`` is seconds; None takes the reference's
own (``Agent.start(timeout=...)``), else the node's default (30 s, 600 s on another
node), as ``send_and_receive``. An agent that answers with an error raises
:class:`~autonomy.errors.AgentError`; a timeout's text says "timeout".
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

from ..errors import AgentError
from .messages import (
    ConversationMessage,
    ConversationSnippet,
    Error,
    GetConversationsRequest,
    GetConversationsResponse,
    StreamedConversationSnippet,
    TextContent,
    UserMessage,
    message_from_dict,
    parse_reply,
    to_json,
)

__all__ = ["AgentReference", "ReceiveReference"]


def _snippet(message: Any, scope: str | None, conversation: str | None) -> ConversationSnippet:
    if isinstance(message, list):
        messages = [m if hasattr(m, "role") else message_from_dict(m) for m in message]
    elif isinstance(message, TextContent):
        messages = [UserMessage(message)]
    elif isinstance(message, str):
        messages = [UserMessage(TextContent(message))]
    else:
        raise TypeError(f"a message to an agent is a str or a list of messages, not {type(message).__name__}")
    return ConversationSnippet(scope or "", conversation or "", messages)


def _home(node: Any) -> Any:
    """The node of this process: ``node`` itself, or the one a RemoteNode is seen from."""
    return getattr(node, "_node", node)


class ReceiveReference:
    """The answer to :meth:`AgentReference.send_message`, to be received later."""

    def __init__(self, agent: str, mailbox: Any) -> None:
        self.agent = agent
        self.mailbox = mailbox

    async def receive_message(self, timeout: float | None = None) -> list[ConversationMessage]:
        """The turn's new messages, waiting up to ``timeout`` seconds (None: 30)."""
        return _messages(self.agent, await self.mailbox.receive(timeout=timeout))


def _reply(agent: str, text: str) -> Any:
    try:
        reply = parse_reply(text)
    except (ValueError, TypeError) as e:
        raise AgentError(agent, f"agent {agent!r} answered something that is not an agent's reply: {e}") from None
    if isinstance(reply, Error):
        raise AgentError(agent, reply.message)
    return reply


def _messages(agent: str, text: str) -> list[ConversationMessage]:
    reply = _reply(agent, text)
    if isinstance(reply, StreamedConversationSnippet):
        return reply.snippet.messages
    if isinstance(reply, ConversationSnippet):
        return reply.messages
    raise AgentError(agent, f"agent {agent!r} answered a {reply.type}, not messages")


class AgentReference:
    """An agent by name on a node (a :class:`~autonomy.Node` or a ``RemoteNode``)."""

    def __init__(self, name: str, node: Any, exposed_as: str | None = None, timeout: float | None = None) -> None:
        self.name = name
        self.node = node
        self.exposed_as = exposed_as
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"AgentReference({self.name!r}, node={getattr(self.node, 'name', '?')!r})"

    @property
    def node_name(self) -> str:
        return str(self.node.name)

    def _timeout(self, timeout: float | None) -> float | None:
        return timeout if timeout is not None else self.timeout

    async def _ask(self, request: Any, timeout: float | None) -> Any:
        text = await self.node.send_and_receive(self.name, to_json(request), timeout=self._timeout(timeout))
        return _reply(self.name, text)

    async def send(
        self, message: Any, scope: str = "", conversation: str = "", timeout: float | None = None
    ) -> list[ConversationMessage]:
        """Send a user message (or a list of messages) and wait for the turn's new messages."""
        reply = await self._ask(_snippet(message, scope, conversation), timeout)
        if not isinstance(reply, ConversationSnippet):
            raise AgentError(self.name, f"agent {self.name!r} answered a {reply.type}, not messages")
        return reply.messages

    async def send_stream(
        self, message: Any, scope: str = "", conversation: str = "", timeout: float | None = None
    ) -> AsyncIterator[StreamedConversationSnippet]:
        """The answer in parts, as the model writes it: :class:`StreamedConversationSnippet`\\ s
        (``part.snippet.messages``), the last one ``finished``. ``timeout`` bounds the wait
        for each part."""
        request = StreamedConversationSnippet(_snippet(message, scope, conversation))
        box = await _home(self.node).create_mailbox(f"stream_{secrets.token_hex(12)}")
        try:
            await box.send(self.name, to_json(request), node=self.node)
            seconds = self._timeout(timeout)
            while True:
                reply = _reply(self.name, await box.receive(timeout=seconds))
                if isinstance(reply, ConversationSnippet):  # an agent that does not stream
                    yield StreamedConversationSnippet(reply, 1, True)
                    return
                if not isinstance(reply, StreamedConversationSnippet):
                    raise AgentError(self.name, f"agent {self.name!r} answered a {reply.type} to a stream")
                yield reply  # parts arrive in order: one sender, one mailbox
                if reply.finished:
                    return
        finally:
            box.close()

    async def send_message(self, message: Any, scope: str = "", conversation: str = "") -> ReceiveReference:
        """Send without waiting; the answer is received from what this returns."""
        box = await _home(self.node).create_mailbox(f"reply_{secrets.token_hex(12)}")
        await box.send(self.name, to_json(_snippet(message, scope, conversation)), node=self.node)
        return ReceiveReference(self.name, box)

    async def conversations(
        self, scope: str | None = None, conversation: str | None = None, timeout: float | None = None
    ) -> list[dict[str, Any]]:
        """The agent's conversations (all, a scope's, or one): ``{"scope", "conversation",
        "messages"}`` each."""
        reply = await self._ask(GetConversationsRequest(scope, conversation), timeout)
        if not isinstance(reply, GetConversationsResponse):
            raise AgentError(self.name, f"agent {self.name!r} answered a {reply.type}, not conversations")
        return reply.conversations
