"""``Repl``: a chat with an agent over TCP, one line a message, as the SDK serves it.

::

    agent = await Agent.start(node, "You are helpful.", name="henry")
    await Repl.start(agent)                       # 127.0.0.1:7000

In a zone, a portal outlet publishes the port (SDK example 001: ``localhost:7000`` ->
``localhost:32102``), and the SDK's ``autonomy agent`` client connects to it.

Each line a client sends is a message to the agent; a line ``\"\"\"`` starts a message of
several lines, ended by another ``\"\"\"``. Lines starting with ``:`` are commands:
``:help`` (``:h``), ``:scope NAME`` (``:s``), ``:conversation NAME`` (``:c``),
``:quit`` (``:q``). Each client has its own scope and conversation (random until set).

What the server writes is framed as the SDK's client reads it: a chunk is its length
in bytes, a newline, then the bytes; ``0\\n`` ends an answer. The welcome text and
command answers are one chunk each; an answer comes in chunks as the model writes it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from .reference import AgentReference

__all__ = ["Repl", "DEFAULT_LISTEN_ADDRESS", "parse_listen_address"]

log = logging.getLogger("repl")

DEFAULT_LISTEN_ADDRESS = "127.0.0.1:7000"
_SEPARATOR = b'"""\n'
_HELP = (
    "Type ':help' or ':h' to see this message again.\n"
    "Type ':scope <name>' or ':s <name>' to set the scope of what follows.\n"
    "Type ':conversation <name>' or ':c <name>' to set the conversation of what follows.\n"
    "Type ':quit' or ':q' to disconnect."
)
_SHORT_HELP = "Type ':help' or ':h' for help.\nType ':quit' or ':q' to disconnect."


def parse_listen_address(text: str) -> tuple[str, int]:
    """``"127.0.0.1:7000"`` -> ``("127.0.0.1", 7000)``; ValueError when it is not HOST:PORT."""
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"listen_address: expected HOST:PORT such as '127.0.0.1:7000', got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


async def _chunk(writer: asyncio.StreamWriter, text: str) -> None:
    data = text.encode()
    if data:
        writer.write(b"%d\n" % len(data) + data)
        await writer.drain()


async def _notice(writer: asyncio.StreamWriter, text: str) -> None:
    await _chunk(writer, text + "\n\n")


class Repl:
    """A TCP chat server in front of one agent; :meth:`start` it, :meth:`stop` it."""

    def __init__(
        self,
        agent: AgentReference,
        listen_address: str = DEFAULT_LISTEN_ADDRESS,
        timeout: float | None = None,
        stream: bool = True,
    ) -> None:
        self.agent = agent
        self.host, self.port = parse_listen_address(listen_address)
        self.timeout = timeout
        self.stream = stream
        self.server: asyncio.Server | None = None

    @staticmethod
    async def start(
        agent: AgentReference,
        listen_address: str = DEFAULT_LISTEN_ADDRESS,
        functions: Any = None,
        timeout: float | None = None,
        stream: bool = True,
    ) -> Repl:
        """Listen on ``listen_address`` (``HOST:PORT``) and serve until the node stops.
        ``timeout``: seconds to wait for each part of an answer (None: 120)."""
        repl = Repl(agent, listen_address, timeout, stream)
        repl.server = await asyncio.start_server(repl._client, repl.host, repl.port)
        log.info("repl for agent %s on %s:%d", agent.name, repl.host, repl.port)
        return repl

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        scope, conversation = secrets.token_hex(16), secrets.token_hex(12)
        node = getattr(self.agent.node, "name", "node")
        welcome = (
            f"\nWelcome to Autonomy\n\nYou are connected to your agent - {node}/{self.agent.name}\n"
            f"Ask it a question or give it a task.\n\n{_SHORT_HELP}"
        )
        try:
            await _notice(writer, welcome)
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line == _SEPARATOR:
                    line = (await reader.readuntil(_SEPARATOR))[: -len(_SEPARATOR)]
                text = line.decode(errors="replace").strip()
                if not text:
                    continue
                if text.lower() in (":quit", ":q"):
                    return
                if text.startswith(":"):
                    word, _, rest = text.partition(" ")
                    word = word.lower()
                    if word in (":help", ":h"):
                        await _notice(writer, _HELP)
                    elif word in (":scope", ":s") and rest.strip():
                        scope = rest.strip()
                        await _notice(writer, f"Scope set to {scope}")
                    elif word in (":conversation", ":c") and rest.strip():
                        conversation = rest.strip()
                        await _notice(writer, f"Conversation set to {conversation}")
                    else:
                        await _notice(writer, f"Unknown command: {text}")
                    continue
                await self._answer(writer, text, scope, conversation)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, text: str, scope: str, conversation: str) -> None:
        timeout = self.timeout if self.timeout is not None else 120.0
        try:
            if self.stream:
                async for part in self.agent.send_stream(text, scope, conversation, timeout=timeout):
                    for message in part.snippet.messages:
                        if message.role == "assistant":
                            await _chunk(writer, message.content.text)
            else:
                reply = await self.agent.send(text, scope, conversation, timeout=timeout)
                await _chunk(writer, reply[-1].content.text if reply else "")
            writer.write(b"0\n")
            await writer.drain()
        except RuntimeError as e:  # the agent's error or a timeout: said to the client, who goes on
            await _notice(writer, f"Agent communication error: {e}")
