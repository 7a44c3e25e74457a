"""One turn of a conversation: from the user's message to the agent's answer.

The loop, as the SDK's state machine runs it: call the model with the conversation so
far and the tools' specs (*thinking*); if it asks for tool calls, run each and add its
result (*acting*), then call the model again; stop when it answers without tool calls.
Every message is kept in the conversation's memory as it is made, and given to
``emit`` (the caller's reply, or one part of a streamed one).

Limits end a turn with a final assistant message that says why, never silence:
``max_iterations`` model calls in one turn, ``max_execution_time`` seconds for it. A
tool that raises, a tool that does not exist, arguments that are not JSON: each is a
tool result saying so, for the model to read. Tool calls the turn could not run (the
time was up) get a result saying that, so the conversation stays one a model accepts.

``ask_user_for_input`` (``enable_ask_for_user_input=True``) pauses the turn: the
question is the answer's last message, and the user's next message in the same
(scope, conversation) is the tool's result when the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .messages import (
    AssistantMessage,
    ConversationMessage,
    FunctionToolCall,
    SystemMessage,
    TextContent,
    ToolCall,
    ToolCallResponseMessage,
    UserMessage,
)

if TYPE_CHECKING:
    from .agent import AgentWorker

__all__ = ["run_turn", "ASK_TOOL", "ASK_SPEC"]

log = logging.getLogger("agent")

ASK_TOOL = "ask_user_for_input"
ASK_SPEC: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": ASK_TOOL,
        "description": (
            "Ask the user for more information. Use it when you need a clarification or a detail "
            "only the user can give: the conversation pauses until the user answers."
        ),
        "parameters": {
            "type": "object",
            "properties": {"question": {"type": "string", "description": "The question to ask the user"}},
            "required": ["question"],
        },
    },
}

#: ``emit(message, finished)``: hand one new message (None: nothing more) to the caller
Emit = Callable[[ConversationMessage | None, bool], Awaitable[None]]


class _Paused(Exception):
    def __init__(self, call_id: str, question: str) -> None:
        self.call_id = call_id
        self.question = question


async def run_turn(
    agent: AgentWorker, key: tuple[str, str], incoming: list[ConversationMessage], stream: bool, emit: Emit
) -> None:
    """Run one turn of conversation ``key`` (scope, conversation) of ``agent``.

    Raises what the model raised (the caller answers with an error); everything else,
    limits included, ends in an assistant message."""
    history = agent.memory.setdefault(key, [])
    paused = agent.waiting.pop(key, None)
    if paused is not None:
        answer = "\n".join(m.content.text for m in incoming if isinstance(m, UserMessage)) or "(no answer)"
        result = ToolCallResponseMessage(paused, ASK_TOOL, TextContent(answer))
        history.append(result)
        await emit(result, False)
    else:
        history.extend(incoming)
    pending: list[ToolCall] = []
    started = time.monotonic()
    try:
        async with asyncio.timeout(agent.max_execution_time):
            await _loop(agent, key, history, stream, emit, pending)
    except _Paused as pause:
        agent.waiting[key] = pause.call_id
        await emit(AssistantMessage(TextContent(pause.question)), True)
    except TimeoutError:
        seconds = time.monotonic() - started
        _not_run(history, pending, "the agent ran out of time before running it")
        text = f"I stopped: this answer took longer than max_execution_time ({agent.max_execution_time:g} s)."
        agent.figures["last_error"] = f"max_execution_time reached after {seconds:.1f} s"
        final = AssistantMessage(TextContent(text))
        history.append(final)
        await emit(final, True)


async def _loop(
    agent: AgentWorker,
    key: tuple[str, str],
    history: list[ConversationMessage],
    stream: bool,
    emit: Emit,
    pending: list[ToolCall],
) -> None:
    specs = await agent.tool_specs()
    calls = 0
    while True:
        if calls >= agent.max_iterations:
            text = f"I stopped: this answer needed more than max_iterations ({agent.max_iterations}) model calls."
            agent.figures["last_error"] = f"max_iterations ({agent.max_iterations}) reached"
            final = AssistantMessage(TextContent(text))
            history.append(final)
            await emit(final, True)
            return
        calls += 1
        messages: list[ConversationMessage] = [SystemMessage(TextContent(agent.instructions)), *history]
        if stream:
            answer = await _streamed(agent, messages, specs, emit)
        else:
            answer = await _whole(agent, messages, specs)
        history.append(answer)
        if not answer.tool_calls:
            await emit(answer if not stream else None, True)
            return
        await emit(answer if not stream else AssistantMessage(tool_calls=answer.tool_calls), False)
        # every call stays in ``pending`` until it has its result, the question too (the
        # user's answer is its result): when the time runs out, each one left gets a
        # "not run" result, so that the conversation stays one a model accepts
        pending[:] = answer.tool_calls
        question: tuple[str, str] | None = None
        for call in answer.tool_calls:
            if call.function.name == ASK_TOOL and agent.enable_ask:
                if question is None:
                    question = (call.id, _question(call.function.arguments))
                    continue
                result = ToolCallResponseMessage(call.id, ASK_TOOL, TextContent("error: ask one question at a time"))
            else:
                result = await agent.call_tool(call)
            pending.remove(call)
            history.append(result)
            await emit(result, False)
        if question is not None:
            pending.clear()
            raise _Paused(*question)


def _question(arguments: str) -> str:
    import json

    try:
        data = json.loads(arguments or "{}")
    except ValueError:
        return arguments or "Please provide input:"
    if isinstance(data, dict):
        return str(data.get("question") or data.get("prompt") or "Please provide input:")
    return str(data)


def _not_run(history: list[ConversationMessage], pending: list[ToolCall], why: str) -> None:
    for call in pending:
        history.append(ToolCallResponseMessage(call.id, call.function.name, TextContent(f"error: not run: {why}")))
    pending.clear()


def _usage(agent: AgentWorker, usage: Any) -> None:
    if usage is None:
        return
    agent.figures["prompt_tokens"] += int(getattr(usage, "prompt_tokens", 0) or 0)
    agent.figures["completion_tokens"] += int(getattr(usage, "completion_tokens", 0) or 0)


async def _whole(
    agent: AgentWorker, messages: list[ConversationMessage], specs: list[dict[str, Any]]
) -> AssistantMessage:
    agent.figures["model_calls"] += 1
    response = await agent.model.complete_chat(messages, stream=False, tools=specs or None)
    _usage(agent, getattr(response, "usage", None))
    if not response.choices:
        return AssistantMessage(TextContent(""))
    message = response.choices[0].message
    calls = []
    for i, c in enumerate(message.tool_calls or []):
        fn: Any = getattr(c, "function", None)  # a "custom" tool call has none: not ours
        if fn is not None:
            calls.append(ToolCall(c.id or f"call_{i}", FunctionToolCall(fn.name, fn.arguments or "")))
    return AssistantMessage(TextContent(message.content or ""), tool_calls=calls)


async def _streamed(
    agent: AgentWorker, messages: list[ConversationMessage], specs: list[dict[str, Any]], emit: Emit
) -> AssistantMessage:
    """Call the model streaming; each piece of text is emitted as it comes, the tool
    calls' pieces are put together; the whole answer is returned."""
    agent.figures["model_calls"] += 1
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    async for chunk in agent.model.complete_chat(messages, stream=True, tools=specs or None):
        _usage(agent, getattr(chunk, "usage", None))
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        if delta.content:
            text.append(delta.content)
            await emit(AssistantMessage(TextContent(delta.content)), False)
        for tc in delta.tool_calls or []:
            part = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            if tc.id:
                part["id"] = tc.id
            if tc.function is not None:
                part["name"] += tc.function.name or ""
                part["arguments"] += tc.function.arguments or ""
    tool_calls = [
        ToolCall(p["id"] or f"call_{i}", FunctionToolCall(p["name"], p["arguments"])) for i, p in sorted(calls.items())
    ]
    return AssistantMessage(TextContent("".join(text)), tool_calls=tool_calls)
