"""The messages of a conversation with an agent, and the requests that carry them.

These are the SDK's shapes, as JSON and as objects. A message has a ``role`` (``user``,
``system``, ``assistant``, ``tool``), a ``content`` (``{"text": ..., "type": "text"}``)
and a ``phase``; an assistant message may carry ``tool_calls`` (OpenAI's format), a tool
message answers one of them by ``tool_call_id``::

    {"content": {"text": "Hi!", "type": "text"}, "phase": "executing", "thinking": false,
     "tool_calls": [], "role": "assistant"}

What travels between a caller and an agent (a worker; messages are ``str``) is one of:

* ``{"type": "conversation_snippet", "scope", "conversation", "messages": [...]}``: a
  turn of the conversation, and the agent's one answer (the turn's new messages);
* ``{"type": "streamed_conversation_snippet", "snippet": {...}, "part_nb", "finished"}``:
  the same, asked for in parts; the agent replies several times, ``part_nb`` 1, 2, ...,
  the last one ``finished``;
* ``{"type": "get_conversations_request", "scope", "conversation"}`` (either may be
  null: every one) and its ``get_conversations_response`` ``{"conversations": [...]}``;
* ``{"type": "error", "message": ...}``: what went wrong instead of an answer.

:func:`to_json` / :func:`parse_request` convert; :func:`to_openai` gives the
``messages`` a chat completion API takes.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "TextContent",
    "FunctionToolCall",
    "ToolCall",
    "UserMessage",
    "SystemMessage",
    "AssistantMessage",
    "ToolCallResponseMessage",
    "ConversationMessage",
    "ConversationSnippet",
    "StreamedConversationSnippet",
    "GetConversationsRequest",
    "GetConversationsResponse",
    "Error",
    "message_from_dict",
    "to_openai",
    "to_json",
    "parse_request",
    "parse_reply",
]


@dataclass
class TextContent:
    """The text of a message (``content.text``)."""

    text: str = ""
    type: str = "text"


@dataclass
class FunctionToolCall:
    """Which function the model calls, and its arguments as a JSON text."""

    name: str
    arguments: str = ""


@dataclass
class ToolCall:
    """One call of a tool the model asked for."""

    id: str
    function: FunctionToolCall
    type: str = "function"


@dataclass
class UserMessage:
    content: TextContent = field(default_factory=TextContent)
    phase: str = "executing"
    thinking: bool = False
    role: str = "user"


@dataclass
class SystemMessage:
    content: TextContent = field(default_factory=TextContent)
    phase: str = "system"
    role: str = "system"


@dataclass
class AssistantMessage:
    content: TextContent = field(default_factory=TextContent)
    phase: str = "executing"
    thinking: bool = False
    tool_calls: list[ToolCall] = field(default_factory=list)
    role: str = "assistant"


@dataclass
class ToolCallResponseMessage:
    tool_call_id: str
    name: str
    content: TextContent = field(default_factory=TextContent)
    phase: str = "executing"
    role: str = "tool"


ConversationMessage = UserMessage | SystemMessage | AssistantMessage | ToolCallResponseMessage


@dataclass
class ConversationSnippet:
    """A turn: the messages sent to an agent, or the new messages of its answer."""

    scope: str = ""
    conversation: str = ""
    messages: list[ConversationMessage] = field(default_factory=list)
    type: str = "conversation_snippet"


@dataclass
class StreamedConversationSnippet:
    """One part of a streamed answer; the last one is ``finished``."""

    snippet: ConversationSnippet
    part_nb: int = 0
    finished: bool = False
    type: str = "streamed_conversation_snippet"


@dataclass
class GetConversationsRequest:
    scope: str | None = None
    conversation: str | None = None
    type: str = "get_conversations_request"


@dataclass
class GetConversationsResponse:
    conversations: list[dict[str, Any]] = field(default_factory=list)
    type: str = "get_conversations_response"


@dataclass
class Error:
    message: str
    type: str = "error"


Request = ConversationSnippet | StreamedConversationSnippet | GetConversationsRequest
Reply = ConversationSnippet | StreamedConversationSnippet | GetConversationsResponse | Error


def _text(value: Any) -> TextContent:
    if isinstance(value, TextContent):
        return value
    if isinstance(value, dict):
        return TextContent(str(value.get("text", "")), str(value.get("type", "text")))
    return TextContent("" if value is None else str(value))


def _tool_call(data: Any) -> ToolCall:
    if not isinstance(data, dict) or not isinstance(data.get("function"), dict):
        raise ValueError(f"a tool call must be an object with a 'function', got {data!r:.80}")
    fn = data["function"]
    return ToolCall(str(data.get("id", "")), FunctionToolCall(str(fn.get("name", "")), str(fn.get("arguments") or "")))


def message_from_dict(data: Any) -> ConversationMessage:
    """A message object from its JSON shape (``content`` may also be a plain string)."""
    if isinstance(data, str):
        return UserMessage(TextContent(data))
    if not isinstance(data, dict):
        raise ValueError(f"a message must be an object with a 'role', got {type(data).__name__}")
    role = data.get("role", "user")
    content = _text(data.get("content"))
    phase = data.get("phase")
    if role == "user":
        return UserMessage(content, phase or "executing", bool(data.get("thinking", False)))
    if role == "system":
        return SystemMessage(content, phase or "system")
    if role == "assistant":
        calls = [_tool_call(c) for c in data.get("tool_calls") or []]
        return AssistantMessage(content, phase or "executing", bool(data.get("thinking", False)), calls)
    if role == "tool":
        return ToolCallResponseMessage(str(data.get("tool_call_id", "")), str(data.get("name", "")), content)
    raise ValueError(f"unknown message role {role!r} (expected user, system, assistant or tool)")


def to_openai(message: ConversationMessage) -> dict[str, Any]:
    """The message as a chat completion API takes it."""
    text = message.content.text
    if isinstance(message, AssistantMessage):
        out: dict[str, Any] = {"role": "assistant", "content": text or None}
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.function.name, "arguments": c.function.arguments},
                }
                for c in message.tool_calls
            ]
        elif not text:
            out["content"] = ""
        return out
    if isinstance(message, ToolCallResponseMessage):
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": text}
    return {"role": message.role, "content": text}


def to_json(reply: Reply | Request) -> str:
    """A request or reply as the JSON text that travels between workers."""
    return json.dumps(asdict(reply))


def _snippet(data: dict[str, Any]) -> ConversationSnippet:
    messages = data.get("messages") or []
    if not isinstance(messages, list):
        raise ValueError("'messages' must be a list")
    return ConversationSnippet(
        str(data.get("scope") or ""),
        str(data.get("conversation") or ""),
        [message_from_dict(m) for m in messages],
    )


def parse_request(text: str) -> Request:
    """What a caller sent an agent; ValueError says what is wrong with it."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # a plain text (``node.send_and_receive(agent, "hi")``) is a user message
        return ConversationSnippet(messages=[UserMessage(TextContent(text))])
    kind = data.get("type", "conversation_snippet")
    if kind == "conversation_snippet":
        return _snippet(data)
    if kind == "streamed_conversation_snippet":
        snippet = data.get("snippet")
        if not isinstance(snippet, dict):
            raise ValueError("a streamed_conversation_snippet needs a 'snippet' object")
        return StreamedConversationSnippet(_snippet(snippet))
    if kind == "get_conversations_request":
        scope, conversation = data.get("scope"), data.get("conversation")
        return GetConversationsRequest(
            None if scope is None else str(scope), None if conversation is None else str(conversation)
        )
    raise ValueError(f"unknown request type {kind!r}")


def parse_reply(text: str) -> Reply:
    """What an agent answered; ValueError when it is not one of the replies above."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("an agent's reply must be a JSON object")
    kind = data.get("type")
    if kind == "conversation_snippet":
        return _snippet(data)
    if kind == "streamed_conversation_snippet":
        part = data.get("part_nb", 0)
        return StreamedConversationSnippet(
            _snippet(data.get("snippet") or {}), int(part) if isinstance(part, int) else 0, bool(data.get("finished"))
        )
    if kind == "get_conversations_response":
        conversations = data.get("conversations")
        return GetConversationsResponse(conversations if isinstance(conversations, list) else [])
    if kind == "error":
        return Error(str(data.get("message", "")))
    raise ValueError(f"unknown reply type {kind!r}")
