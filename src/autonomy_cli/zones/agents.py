"""The agents a node reports (``GET /agents``), as ``zone status`` and the logs page show them.

A node answers ``{"agents": [{"name", "model", "tools", "exposed_as", "conversations",
"waiting_for_input", "model_calls", "prompt_tokens", "completion_tokens", "tool_calls", "tool_errors", "last_error"},
...]}`` (see ``autonomy.agents``). :func:`parse_agents` reads that answer defensively (a
node of another version may leave a field out or add one): every figure becomes an
``int``, a field that is missing takes its zero, and an entry that is not an object is
skipped. An agent's last error is the text of an exception, which may quote a request:
:func:`redact` hides what looks like a key or a token in it and cuts it short, so what
is shown never carries a secret.

Pure: no I/O, nothing printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ERROR_LIMIT", "AgentStatus", "describe", "parse_agents", "redact"]

#: the longest last error shown (characters); longer ones end with "..."
ERROR_LIMIT = 300

_SECRETS = [
    # key=value, key: value, "key": "value" for names that say secret
    (
        re.compile(
            r"""(?i)\b((?:api[_-]?key|access[_-]?key|secret|token|password|passwd|authorization|x-api-key)"""
            r"""["']?\s*[:=]\s*["']?)(?:Bearer\s+)?[^\s"',;&}]+"""
        ),
        r"\1***",
    ),
    (re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer ***"),
    (re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}"), r"\1-***"),  # OpenAI/Anthropic-style keys
]


def redact(text: str, limit: int = ERROR_LIMIT) -> str:
    """``text`` with key-like values replaced by ``***``, on one line, at most ``limit``
    characters."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class AgentStatus:
    """One agent of a node, with its figures since the node started it."""

    name: str
    model: str = ""
    tools: list[str] = field(default_factory=list)
    exposed_as: str | None = None
    conversations: int = 0
    waiting_for_input: int = 0
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    last_error: str | None = None


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def parse_agents(body: Any) -> list[AgentStatus]:
    """A node's ``GET /agents`` answer -> its agents, by name (nothing usable: empty)."""
    entries = body.get("agents") if isinstance(body, dict) else None
    found: list[AgentStatus] = []
    for e in entries if isinstance(entries, list) else []:
        if not isinstance(e, dict) or not e.get("name"):
            continue
        error = _text(e.get("last_error"))
        tools = e.get("tools")
        found.append(
            AgentStatus(
                name=str(e["name"]),
                model=str(e.get("model") or ""),
                tools=[str(t) for t in tools] if isinstance(tools, list) else [],
                exposed_as=_text(e.get("exposed_as")),
                conversations=_count(e.get("conversations")),
                waiting_for_input=_count(e.get("waiting_for_input")),
                model_calls=_count(e.get("model_calls")),
                prompt_tokens=_count(e.get("prompt_tokens")),
                completion_tokens=_count(e.get("completion_tokens")),
                tool_calls=_count(e.get("tool_calls")),
                tool_errors=_count(e.get("tool_errors")),
                last_error=redact(error) if error else None,
            )
        )
    return sorted(found, key=lambda a: a.name)


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def describe(agent: AgentStatus) -> str:
    """One line: ``agent henry: 3 conversations, 5 model calls, 812+95 tokens, 2 tool calls
    (1 failed), last error: ...`` (tokens are prompt+completion; tool calls, waiting for
    input and the model when there are)."""
    parts = [
        _n(agent.conversations, "conversation", "conversations"),
        _n(agent.model_calls, "model call", "model calls"),
        f"{agent.prompt_tokens}+{agent.completion_tokens} tokens",
    ]
    if agent.tool_calls:
        failed = f" ({agent.tool_errors} failed)" if agent.tool_errors else ""
        parts.append(_n(agent.tool_calls, "tool call", "tool calls") + failed)
    if agent.waiting_for_input:
        parts.append(f"{agent.waiting_for_input} waiting for input")
    if agent.model:
        parts.append(f"model {agent.model}")
    if agent.last_error:
        parts.append(f"last error: {agent.last_error}")
    return f"agent {agent.name}: " + ", ".join(parts)
