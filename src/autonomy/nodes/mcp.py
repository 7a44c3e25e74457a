"""MCP for a node, as the Autonomy SDK has it: :class:`McpClient` and :class:`McpServer`.

::

    from autonomy import Agent, McpClient, McpServer, McpTool, Node

    async def main(node):
        await Agent.start(node, "You search the web.", name="scout", exposed_as="scout",
                          tools=[McpTool("brave", "brave_web_search")])

    Node.start(main, mcp_clients=[McpClient(name="brave", address="http://localhost:8001/sse")],
               mcp_server=McpServer(listen_address="0.0.0.0:8002"))

A client connects over SSE (the transport of ``mcp-proxy``, which puts a stdio MCP
server of npm or PyPI behind ``--sse-port``) when the node starts, in the background:

* a server that does not answer then is logged, one line naming the client, the
  address and why, and the node starts all the same;
* a server that goes away (its container restarts) is logged, and the client
  reconnects, waiting 0.5 s, then twice as long each time up to 10 s; a tool call
  meanwhile fails at once with :class:`~autonomy.errors.McpError` saying so (and cuts
  the wait short: the next attempt starts now);
* on each connection the client lists the server's tools; :class:`~autonomy.tools.mcp.McpTool`
  reads its description and input schema from that list.

A server (:mod:`._mcp_server`) exposes the node's workers started with ``exposed_as``
(agents, as a rule) as MCP tools over SSE at ``/sse``: each takes a ``message`` (and
optional ``scope`` and ``conversation``) and answers the agent's reply.

The ``mcp`` package (the protocol's reference library) loads only when a node is given
a client or a server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from ..errors import McpError
from ._mcp_server import McpServer

__all__ = ["McpClient", "McpServer", "result_text"]

log = logging.getLogger("autonomy.mcp")

_NAME = re.compile(r"[A-Za-z0-9_-]+")
FIRST_DELAY = 0.5
MAX_DELAY = 10.0


class McpClient:
    """A connection to the MCP server at ``address`` (``http://host:port/sse``), known to
    :class:`~autonomy.tools.mcp.McpTool` as ``name``. Give it to ``Node.start(mcp_clients=[...])``.

    ``connect_timeout``: seconds to connect and list the tools; ``call_timeout``: seconds
    one tool call may take."""

    def __init__(self, name: str, address: str, connect_timeout: float = 10.0, call_timeout: float = 300.0) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(f"McpClient: name {name!r} may only contain letters, digits, '_' and '-'")
        parts = urlsplit(address) if isinstance(address, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"McpClient {name!r}: address must be an SSE URL like http://localhost:8001/sse, not {address!r}"
            )
        self.name = name
        self.address = address
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        #: why the last connection failed or ended (None while connected)
        self.last_error: str | None = None
        self._session: Any = None
        self._tools: dict[str, Any] = {}  # name -> mcp.types.Tool, of the current connection
        self._lost: asyncio.Event | None = None
        self._connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"McpClient({self.name!r}, {self.address!r})"

    @property
    def connected(self) -> bool:
        """True while a session with the server is up."""
        return self._session is not None

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the client is connected (TimeoutError past ``timeout`` seconds)."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    def status(self) -> dict[str, Any]:
        """Name, address, whether connected, the last error, the tools' names."""
        return {
            "name": self.name,
            "address": self.address,
            "connected": self.connected,
            "last_error": self.last_error,
            "tools": list(self._tools),
        }

    def tools(self) -> list[dict[str, Any]]:
        """The server's tools, as listed on connecting: name, description, input schema."""
        return [self._described(t) for t in self._tools.values()]

    def tool(self, name: str) -> dict[str, Any] | None:
        """One listed tool (see :meth:`tools`), None if not connected or not listed."""
        found = self._tools.get(name) if self.connected else None
        return None if found is None else self._described(found)

    @staticmethod
    def _described(tool: Any) -> dict[str, Any]:
        return {"name": tool.name, "description": tool.description or "", "input_schema": tool.inputSchema}

    # ------------------------------------------------------------------ the connection

    def start(self) -> None:
        """Start connecting in the background (the node calls this)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mcp-client-{self.name}")

    async def stop(self) -> None:
        """Close the connection and stop reconnecting."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._session = None

    async def _run(self) -> None:
        delay, ever = FIRST_DELAY, False
        while True:
            try:
                await self._connect()
                delay = FIRST_DELAY  # it was up: the next attempt starts afresh
                ever = True
            except asyncio.CancelledError:
                raise
            except BaseException as e:  # an ExceptionGroup of anyio, httpx's errors, a bad answer
                why = _reason(e)
                if self.last_error is None or not ever:
                    log.warning(
                        "MCP client %r cannot reach %s: %s; the node goes on and retries in the background",
                        self.name,
                        self.address,
                        why,
                    )
                    ever = True  # said once: further failures are logged at debug level
                else:
                    log.debug("MCP client %r: %s still not reachable: %s", self.name, self.address, why)
                self.last_error = why
            self._session = None
            self._connected.clear()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, MAX_DELAY)

    async def _connect(self) -> None:
        """One connection, from connecting to losing it."""
        import anyio
        from mcp import ClientSession
        from mcp.client.sse import sse_client

        lost = asyncio.Event()
        async with sse_client(self.address, timeout=self.connect_timeout) as (read, write):
            mine_send, mine_receive = anyio.create_memory_object_stream[Any](0)

            async def pump() -> None:
                # the server's messages, passed on; their end is the connection's end
                try:
                    async with mine_send:
                        async for item in read:
                            if isinstance(item, Exception):
                                self.last_error = _reason(item)
                                continue
                            await mine_send.send(item)
                finally:
                    lost.set()

            async with anyio.create_task_group() as group:
                group.start_soon(pump)
                async with ClientSession(mine_receive, write) as session:
                    with anyio.fail_after(self.connect_timeout):
                        await session.initialize()
                        tools = await _list_tools(session)
                    self._tools = {t.name: t for t in tools}
                    self._session, self._lost, again = session, lost, self.last_error is not None
                    self.last_error = None
                    self._connected.set()
                    names = ", ".join(self._tools) or "none"
                    word = "reconnected to" if again else "connected to"
                    log.info("MCP client %r %s %s: %d tools (%s)", self.name, word, self.address, len(tools), names)
                    await lost.wait()
                    self._session = None
                    self._connected.clear()
                    self.last_error = self.last_error or "the server closed the connection"
                    log.warning(
                        "MCP client %r lost %s (%s); reconnecting in the background",
                        self.name,
                        self.address,
                        self.last_error,
                    )
                group.cancel_scope.cancel()

    # ------------------------------------------------------------------ tool calls

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> str:
        """Run ``tool`` with ``arguments`` on the server; the result's text.

        McpError when not connected (at once), when the connection goes during the call,
        past ``call_timeout``, on an error result or a result that is not one."""
        session, lost = self._session, self._lost
        if session is None or lost is None:
            self._wake.set()  # try to connect now rather than at the end of the backoff
            why = self.last_error or "still connecting"
            raise McpError(
                self.name,
                f"MCP server {self.name!r} at {self.address} is not connected ({why}); "
                "the node keeps trying to reconnect",
            )
        call = asyncio.ensure_future(session.call_tool(tool, arguments))
        gone = asyncio.ensure_future(lost.wait())
        try:
            done, _ = await asyncio.wait({call, gone}, timeout=self.call_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not call.done():
                call.cancel()
        if call not in done:
            if gone in done:
                raise McpError(
                    self.name, f"the connection to MCP server {self.name!r} was lost during the call of {tool!r}"
                )
            raise McpError(
                self.name, f"MCP server {self.name!r}: {tool!r} did not answer within {self.call_timeout:g} s"
            )
        try:
            result = call.result()
        except asyncio.CancelledError:
            raise McpError(self.name, f"the call of {tool!r} on MCP server {self.name!r} was cancelled") from None
        except Exception as e:
            if lost.is_set():
                raise McpError(
                    self.name, f"the connection to MCP server {self.name!r} was lost during the call of {tool!r}"
                ) from None
            raise McpError(
                self.name, f"MCP server {self.name!r} gave no usable result for {tool!r}: {_reason(e)}"
            ) from None
        return result_text(self.name, tool, result)


def result_text(server: str, tool: str, result: Any) -> str:
    """The text a model reads of an MCP ``CallToolResult``: its text parts, one a line
    (other parts named, not shown), else its structured content as JSON; an error
    result raises McpError with its text."""
    parts: list[str] = []
    for item in getattr(result, "content", None) or []:
        kind = getattr(item, "type", None)
        if kind == "text":
            parts.append(str(item.text))
        elif kind == "resource":
            text = getattr(item.resource, "text", None)
            parts.append(text if isinstance(text, str) else f"[binary resource {item.resource.uri}]")
        elif kind == "resource_link":
            parts.append(f"[resource {item.uri}]")
        else:
            parts.append(f"[{kind} content ({getattr(item, 'mimeType', '?')}), not shown]")
    structured = getattr(result, "structuredContent", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, default=str))
    text = "\n".join(parts)
    if getattr(result, "isError", False):
        raise McpError(server, f"tool {tool!r} of MCP server {server!r} failed: {text or 'no detail given'}")
    return text


async def _list_tools(session: Any) -> list[Any]:
    from mcp import types

    tools: list[Any] = []
    cursor = None
    while True:
        page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)
        tools.extend(page.tools)
        cursor = getattr(page, "nextCursor", None)
        if not cursor:
            return tools


def _reason(e: BaseException) -> str:
    """One line saying why: the innermost error of an exception group."""
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
