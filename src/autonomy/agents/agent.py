"""``Agent``: a worker that converses with a model and calls tools.

::

    from autonomy import Agent, Model, Node, Tool

    async def main(node):
        agent = await Agent.start(node=node, name="henry", instructions="You are Henry, an expert.",
                                  model=Model("claude-sonnet-4-v1"), tools=[Tool(lookup)])
        reply = await agent.send("What is a zone?", scope="alice", conversation="c1")
        print(reply[-1].content.text)

    Node.start(main)

An agent is a worker of its node, started under its name (``[A-Za-z0-9_-]+``; a random
one when not given), so it is listed by ``list_workers``, reached by
``send_and_receive`` like any worker, and may run on another node of the zone
(``Agent.start(runner, ...)`` with a node of ``Zone.nodes``; the agent, its model and its
tools are shipped there). ``node.list_agents()`` and ``GET /agents`` list a node's
agents, each with its figures: conversations, model calls, tokens, last error.

Memory is per (scope, conversation): what was said in one is not seen in another.
Conversations run side by side; the messages of one conversation are answered in the
order they came. See :mod:`._turn` for one turn (limits, ask-for-input) and
:mod:`.reference` for what ``Agent.start`` returns.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import asdict
from typing import Any

from ..errors import McpError
from ..models.model import Model
from ..nodes.workers import _check_name
from ..tools.tool import Tool, ToolError
from ._turn import ASK_SPEC, run_turn
from .messages import (
    ConversationMessage,
    ConversationSnippet,
    Error,
    GetConversationsRequest,
    GetConversationsResponse,
    StreamedConversationSnippet,
    TextContent,
    ToolCall,
    ToolCallResponseMessage,
    parse_request,
    to_json,
)
from .reference import AgentReference

__all__ = ["Agent", "AgentWorker", "DEFAULT_MODEL"]

log = logging.getLogger("agent")

#: the model an agent uses when none is given, as in the SDK
DEFAULT_MODEL = "claude-sonnet-4-v1"
DEFAULT_MAX_ITERATIONS = 1000
DEFAULT_MAX_EXECUTION_TIME = 600.0


class AgentWorker:
    """The worker behind an agent: its instructions, model, tools, memory and figures."""

    #: how the node tells its agents from its other workers
    is_agent = True

    def __init__(
        self,
        name: str,
        instructions: str,
        model: Model,
        tools: list[Any],
        max_iterations: int,
        max_execution_time: float,
        enable_ask: bool,
        exposed_as: str | None,
    ) -> None:
        self.name = name
        self.instructions = instructions
        self.model = model
        self.tools = {_tool_name(t): t for t in tools}
        self.max_iterations = max_iterations
        self.max_execution_time = max_execution_time
        self.enable_ask = enable_ask
        self.exposed_as = exposed_as
        #: (scope, conversation) -> its messages, oldest first
        self.memory: dict[tuple[str, str], list[ConversationMessage]] = {}
        #: (scope, conversation) -> the id of the ask_user_for_input call it waits on
        self.waiting: dict[tuple[str, str], str] = {}
        self.figures: dict[str, Any] = {
            "model_calls": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "tool_calls": 0,  # every call the model asked for, MCP tools' included
            "tool_errors": 0,  # of those, the ones whose result was an error
            "last_error": None,
        }
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_locks={}, _tasks=set())  # made again where it runs
        state.pop("node", None)
        return state

    def status(self) -> dict[str, Any]:
        """What ``list_agents`` and ``GET /agents/{name}`` show of this agent."""
        return {
            "name": self.name,
            "model": self.model.name,
            "tools": list(self.tools),
            "exposed_as": self.exposed_as,
            "conversations": len(self.memory),
            "waiting_for_input": len(self.waiting),
            **self.figures,
        }

    def _bound(self, tool: Any) -> Any:
        """``tool``, told which node runs it when it asks (an MCP tool calls its client)."""
        bind = getattr(tool, "bind", None)
        if bind is not None:
            bind(getattr(self, "node", None))
        return tool

    async def tool_specs(self) -> list[dict[str, Any]]:
        """The tools' specs, asked at each turn: an MCP server's list can change."""
        specs = [await self._bound(t).spec() for t in self.tools.values()]
        return specs + ([ASK_SPEC] if self.enable_ask else [])

    async def call_tool(self, call: ToolCall) -> ToolCallResponseMessage:
        """Run one tool call; whatever happens, a result the model can read."""
        name = call.function.name
        tool = self.tools.get(name)
        text, failed = await self._run_tool(name, tool, call)
        self.figures["tool_calls"] = self.figures.get("tool_calls", 0) + 1
        self.figures["tool_errors"] = self.figures.get("tool_errors", 0) + failed
        return ToolCallResponseMessage(call.id, name, TextContent(text))

    async def _run_tool(self, name: str, tool: Any, call: ToolCall) -> tuple[str, bool]:
        """(the result's text for the model, whether it is an error)."""
        if tool is None:
            return f"error: there is no tool named {name!r} (tools: {', '.join(self.tools) or 'none'})", True
        try:
            return str(await self._bound(tool).invoke(call.function.arguments)), False
        except (ToolError, McpError) as e:  # bad arguments; an MCP server that could not run it
            self.figures["last_error"] = f"tool {name}: {e}"
            if isinstance(e, McpError):
                log.warning("agent %s: tool %s: %s", self.name, name, e)
            return f"error: {e}", True
        except Exception as e:
            self.figures["last_error"] = f"tool {name}: {type(e).__name__}: {e}"
            log.warning("agent %s: tool %s raised %s: %s", self.name, name, type(e).__name__, e)
            return f"error: tool {name!r} failed: {type(e).__name__}: {e}", True

    # ------------------------------------------------------------------ the worker

    async def handle_message(self, context: Any, message: str) -> None:
        try:
            request = parse_request(message)
        except ValueError as e:
            await context.reply(to_json(Error(f"agent {self.name!r}: {e}")))
            return
        if isinstance(request, GetConversationsRequest):
            await context.reply(to_json(self._conversations(request)))
            return
        # a conversation's turn runs beside the others' (the worker is free for the next
        # message at once); a lock per conversation keeps each one's turns in order
        task = asyncio.get_running_loop().create_task(self._turn(context, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def on_stop(self) -> None:
        """The node stops this agent: its turns in progress end (their callers are told)."""
        for task in list(self._tasks):
            task.cancel()

    async def _turn(self, context: Any, request: ConversationSnippet | StreamedConversationSnippet) -> None:
        stream = isinstance(request, StreamedConversationSnippet)
        snippet = request.snippet if isinstance(request, StreamedConversationSnippet) else request
        key = (snippet.scope, snippet.conversation)
        collected: list[ConversationMessage] = []
        part = 0

        async def emit(message: ConversationMessage | None, finished: bool) -> None:
            nonlocal part
            if not stream:
                if message is not None:
                    collected.append(message)
                if finished:
                    await context.reply(to_json(ConversationSnippet(key[0], key[1], collected)))
                return
            part += 1
            messages = [message] if message is not None else []
            reply = StreamedConversationSnippet(ConversationSnippet(key[0], key[1], messages), part, finished)
            await context.reply(to_json(reply))

        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                await run_turn(self, key, snippet.messages, stream, emit)
        except asyncio.CancelledError:
            await context.reply(to_json(Error(f"agent {self.name!r} was stopped")))
            raise
        except Exception as e:
            cause = f"{type(e).__name__}: {e}"
            self.figures["last_error"] = cause
            log.error("agent %s: a turn of %s/%s failed: %s", self.name, key[0], key[1], cause)
            await context.reply(to_json(Error(f"agent {self.name!r} failed: {cause}")))

    def _conversations(self, request: GetConversationsRequest) -> GetConversationsResponse:
        found = [
            {"scope": s, "conversation": c, "messages": [asdict(m) for m in messages]}
            for (s, c), messages in self.memory.items()
            if (request.scope is None or request.scope == s)
            and (request.conversation is None or request.conversation == c)
        ]
        return GetConversationsResponse(found)


def _tool_name(tool: Any) -> str:
    name = getattr(tool, "name", None)
    if not isinstance(name, str) or not hasattr(tool, "spec") or not hasattr(tool, "invoke"):
        raise TypeError(f"{tool!r} is not a tool: wrap a function as Tool(func)")
    return name


def _tools(tools: list[Any] | None) -> list[Any]:
    return [t if hasattr(t, "invoke") or not callable(t) else Tool(t) for t in tools or []]


def _model(model: Model | str | None) -> Model:
    if model is None:
        return Model(DEFAULT_MODEL)
    return Model(model) if isinstance(model, str) else model


class Agent:
    """Start and stop agents on a node (this one, or another of the zone)."""

    @staticmethod
    async def start(
        node: Any,
        instructions: str,
        name: str | None = None,
        model: Model | str | None = None,
        tools: list[Any] | None = None,
        max_iterations: int | None = None,
        max_execution_time: float | None = None,
        enable_ask_for_user_input: bool = False,
        exposed_as: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> AgentReference:
        """Start an agent on ``node`` and return its :class:`~.reference.AgentReference`.

        ``model``: a :class:`Model` (or its name), ``claude-sonnet-4-v1`` by default.
        ``tools``: :class:`Tool` objects (plain functions are wrapped). ``max_iterations``
        (1000) model calls and ``max_execution_time`` (600 s) bound one turn.
        ``enable_ask_for_user_input``: the model may pause to ask the user. ``timeout``:
        the default of the reference's calls. Other keywords of the SDK (memory and
        knowledge models, filesystem, subagents) are accepted and logged as unused."""
        if kwargs:
            log.info("Agent.start: %s not supported here, ignored", ", ".join(sorted(kwargs)))
        if not isinstance(instructions, str):
            raise TypeError(f"instructions must be a str, not {type(instructions).__name__}")
        name = _check_name(name) if name is not None else secrets.token_hex(12)
        iterations = DEFAULT_MAX_ITERATIONS if max_iterations is None else int(max_iterations)
        seconds = DEFAULT_MAX_EXECUTION_TIME if max_execution_time is None else float(max_execution_time)
        if iterations < 1 or not seconds > 0:
            raise ValueError("max_iterations must be >= 1 and max_execution_time > 0")
        tool_list = _tools(tools)
        worker = AgentWorker(
            name,
            instructions,
            _model(model),
            tool_list,
            iterations,
            seconds,
            enable_ask_for_user_input,
            exposed_as,
        )
        if exposed_as is None:
            await node.start_worker(name, worker)
        else:
            await node.start_worker(name, worker, exposed_as=exposed_as)
        log.info("started agent %s on %s (model %s)", name, node.name, worker.model.name)
        return AgentReference(name, node, exposed_as=exposed_as, timeout=timeout)

    @staticmethod
    async def stop(node: Any, name: str) -> None:
        """Stop agent ``name`` on ``node``; its turns in progress end with an error."""
        await node.stop_worker(name)

    @staticmethod
    async def start_many(
        node: Any,
        instructions: str,
        number_of_agents: int,
        model: Model | str | None = None,
        tools: list[Any] | None = None,
        max_iterations: int | None = None,
        max_execution_time: float | None = None,
        enable_ask_for_user_input: bool = False,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> list[AgentReference]:
        """Start ``number_of_agents`` agents alike (random names), each with its own memory."""
        return [
            await Agent.start(
                node,
                instructions,
                model=model,
                tools=tools,
                max_iterations=max_iterations,
                max_execution_time=max_execution_time,
                enable_ask_for_user_input=enable_ask_for_user_input,
                timeout=timeout,
                **kwargs,
            )
            for _ in range(number_of_agents)
        ]
