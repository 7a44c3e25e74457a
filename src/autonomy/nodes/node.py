"""The node: hosts workers and talks to the other nodes of its zone.

A :class:`Node` is what ``main(node)`` receives. Its parts live beside it:

* :mod:`.workers`: the workers it hosts and the :class:`~.workers.Context` of a message;
* :mod:`._client`: its calls to other nodes (one DEALER per peer, waiting calls);
* :mod:`._router`: its ROUTER, where other nodes' calls arrive and are answered;
* :mod:`._deadlines`: one timer for every timeout;
* :mod:`._serve`: running it as a process (``Node.start``); :mod:`._http`: starting its
  web server (:mod:`.http`) without waiting for it; :mod:`._mcp_node`: its MCP clients
  and server (:mod:`.mcp`).

Inside one node a message is a Python call away: ``send_and_receive`` puts the message
in the worker's queue and waits on a future that ``context.reply`` resolves. Between
nodes it is an envelope (:mod:`autonomy.transport.envelope`) carried by ZeroMQ over
CurveZMQ (see docs/architecture.md, the wire).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import zmq

from ..errors import MessageTimeout, NodeUnreachable, WorkerNotFound
from ..settings import Settings
from ..transport import envelope
from ..transport.channel import Traffic
from ..transport.envelope import Kind
from ..transport.roster import NodeEntry, Roster
from . import _serve
from ._client import Client, text_of
from ._deadlines import Deadlines
from ._http import App, WebServer
from ._mcp_node import McpNode
from ._router import Router
from ._shipping import loads_worker, node_ref
from .mailbox import Mailbox
from .remote import RemoteNode
from .workers import DEFAULT_TIMEOUT, Workers, _check_message, _check_timeout

__all__ = ["Node"]

log = logging.getLogger("autonomy.node")


class Node(McpNode):
    """An Autonomy node: hosts workers and talks to the other nodes of its zone.

    Start one with :meth:`Node.start`; user code receives it as the argument of ``main``.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        self.name = settings.node
        #: envelopes received, sent, malformed and unroutable (shown by ``/health``)
        self.stats = Traffic()
        self._workers = Workers(self._loop, self.name, settings.mailbox)
        self._workers.owner = self
        self._remote_names: dict[str, str] = {}  # worker started by us elsewhere -> node
        #: worker name -> the name ``start_worker(exposed_as=...)`` exposes it under
        self.exposed: dict[str, str] = {}
        self._deadlines = Deadlines(self._loop)
        self._client = Client(self._loop, settings, self.stats, self._deadlines)
        self._router: Router | None = None
        self._started_at = self._loop.time()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ctx: zmq.Context[Any] | None = None
        self._http: WebServer | None = None
        self._http_app: App | None = None  # Node.start(http_server=...)
        self.roster: Roster | None = None
        self._self_entry: NodeEntry | None = None
        self._exit_code = 0
        self._init_mcp()

    # ------------------------------------------------------------------ lifecycle

    @staticmethod
    def start(
        main: Callable[[Node], Awaitable[Any]] | None = None,
        name: str | None = None,
        ticket: str | None = None,
        allow: str | None = None,
        http_server: Any = None,
        wait_until_interrupted: bool = True,
        cache_secure_channels: bool = False,
        use_local_db: bool = False,
        *,
        mcp_clients: Any = None,
        mcp_server: Any = None,
        **kwargs: Any,
    ) -> None:
        """Run a node until SIGTERM or SIGINT; ``main(node)`` runs as its first task.

        Blocks. Exits the process with 0 after a clean stop, 2 on a configuration error.
        ``http_server``: an :class:`~.http.HttpServer` (your FastAPI app, another port);
        by default the node serves the built-in routes on ``AUTONOMY_HTTP_PORT``.
        ``wait_until_interrupted=False``: return once ``main`` has ended (its error is
        raised here). ``name`` names a node outside a zone; in a zone the key and the
        roster name it (``NODE``), and another ``name`` is logged and ignored.
        ``mcp_clients``, ``mcp_server``: see :mod:`.mcp`. ``ticket``, ``allow``,
        ``cache_secure_channels``, ``use_local_db`` and other keywords mean nothing here.
        """
        options = _serve.Options(name, http_server, wait_until_interrupted, kwargs, mcp_clients, mcp_server)
        _serve.run(Node, main, options)

    @classmethod
    async def open(cls, settings: Settings, http_server: Any = None, **mcp: Any) -> Node:
        """A node that runs inside the caller's event loop instead of its own process
        (the readiness probe is one); :meth:`close` it when done. ``mcp``: ``mcp_clients``,
        ``mcp_server`` as :meth:`start` takes them."""
        node = cls(settings)
        node._http_app = http_server
        try:
            await node._open()
            await node._open_mcp(**mcp)
        except BaseException:
            await node.close()
            raise
        return node

    async def _open(self) -> None:
        s = self._settings
        if s.standalone:
            log.log(*_serve.standalone_note(self.name, s.deployed_as))
        else:
            assert s.roster_path and s.key_path
            roster = self.roster = Roster.load(s.roster_path)
            entry, kp = roster.identity(self.name, s.key_path, s.roster_path)
            self._self_entry = entry
            self._ctx = zmq.Context()
            probe = entry.role == "probe"
            self._client.open(self._ctx, roster, kp.public_key, kp.secret_key, probe=probe)
            if probe:
                log.debug("probe %s: client only", self.name)
                return
            self._router = Router(
                self._ctx,
                self._loop,
                s,
                roster,
                entry,
                (kp.public_key, kp.secret_key),
                workers=self._workers,
                traffic=self.stats,
                info=self._info,
            )
            self._workers.replier = self._router
            where, n = self._router.endpoint, len(roster.nodes)
            log.info("node %s listening on %s (CURVE, %d nodes in roster)", self.name, where, n)
        self._http = WebServer(self, self._http_app, s)
        self._http.open()  # binds at once, serves once FastAPI is loaded: never waits for it

    async def close(self) -> None:
        """Stop: the MCP server and clients, then the workers (their callers are told, what
        was queued is dropped, counted, logged) while the sockets are open; then fail the
        calls still waiting and close every socket."""
        await self._close_mcp()
        dropped = self._workers.stop_all()
        if dropped:
            self.stats.dropped_at_stop += dropped
            log.warning("dropped %d queued message(s) at stop (callers waiting on them were told)", dropped)
        for t in list(self._tasks):
            t.cancel()
        await asyncio.sleep(0)  # the cancelled handlers fail their callers through the open ROUTER
        if self._http is not None:
            await self._http.close()
        self._deadlines.cancel()
        self._client.fail_pending(self.name)
        self._client.close()
        if self._router is not None:
            self._router.close()
        if self._ctx is not None:
            self._ctx.term()
        await asyncio.sleep(0)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __reduce__(self) -> tuple[Any, ...]:
        return (node_ref, (self.name,))

    def __repr__(self) -> str:
        return f"Node({self.name!r})"

    @property  # ------------------------------------------------- what it says of itself
    def last_message_at(self) -> float | None:
        """When a worker's message last arrived (``time.time()``), None if none has."""
        return self._workers.last_message_at

    @property
    def settings(self) -> Settings:
        """The settings this node was made with."""
        return self._settings

    @property
    def uptime(self) -> float:
        """Seconds since this node was made."""
        return self._loop.time() - self._started_at

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` answers: name, workers, uptime, traffic counters."""
        return {
            "status": "ok",
            "node": self.name,
            "workers": len(self._workers),
            "uptime": round(self.uptime, 3),
            "last_message_at": self.last_message_at,
            "tasks": len(asyncio.all_tasks()),
            "stats": self.stats.as_dict(),
            "queues": {
                "mailboxes": self._workers.depths(),
                "outboxes": self._client.depths(),
                "replies": self._router.depths() if self._router is not None else {},
            },
        }

    def _info(self) -> str:
        e = self._self_entry
        return json.dumps({"name": self.name, "pod": e.pod if e else "", "workers": len(self._workers)})

    # ------------------------------------------------------------------ workers

    async def start_worker(
        self, name: str, worker: Any, policy: str | None = None, exposed_as: str | None = None
    ) -> None:
        """Start ``worker`` under ``name`` (``[A-Za-z0-9_-]+``, else ValueError) on this
        node; the worker finds the node as ``worker.node``. A name can run only once.
        ``policy`` means nothing here (the roster admits); ``exposed_as``: the name of
        the tool an :class:`~.mcp.McpServer` makes of it."""
        self._workers.start(name, worker)
        if exposed_as is not None:
            self.exposed[name] = exposed_as

    async def stop_worker(self, name: str) -> None:
        """Stop a worker; messages still queued for it get an error."""
        if self._workers.stop(name):
            return
        peer = self._remote_names.get(name)
        if peer is not None:
            await self._handle(peer).stop_worker(name)
            return
        raise WorkerNotFound(name, self.name)

    async def list_workers(self) -> list[dict[str, Any]]:
        """The workers of this node: ``[{"name": ...}, ...]``."""
        return [{"name": n} for n in self._workers.names()]

    async def list_agents(self) -> list[dict[str, Any]]:
        """The agents this node hosts, each with its figures (see :mod:`autonomy.agents`)."""
        return [w.status() for w in self._workers.objects() if getattr(w, "is_agent", False) is True]

    # ------------------------------------------------------------------ messages

    async def send_and_receive(
        self, address: str, message: str, node: Any = None, policy: str | None = None, timeout: float | None = None
    ) -> str:
        """Send ``message`` to worker ``address`` and wait for its (first) reply.

        ``node`` (a name or a node object) picks the node; by default the worker is looked
        up on this node, then among the workers this node started elsewhere.
        ``timeout`` is in seconds, None meaning 30 (the SDK's default); past it a
        RuntimeError says "timeout". ``policy`` means nothing here (see start_worker).
        """
        name = address
        if not isinstance(message, str):  # the caller's code is not type-checked
            _check_message(message)  # type: ignore[unreachable]
        timeout = _check_timeout(timeout)
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        if node is not None:
            target = node if isinstance(node, (Node, RemoteNode)) else self._handle(str(node))
            if target is not self:
                return await target.send_and_receive(name, message, timeout=timeout)
        w = self._workers.get(name)
        if w is None:
            peer = self._remote_names.get(name)
            if peer is None:
                raise WorkerNotFound(name, self.name)
            payload = await self._request(peer, Kind.REQUEST, name, message.encode(), timeout)
            return text_of(payload, peer, name)
        if self._workers.full(w):
            await self._room(w, name, timeout)
        fut: asyncio.Future[str] = self._loop.create_future()
        self._deadlines.add(timeout, fut, name, self.name)
        self._workers.deliver(w, message, fut)
        return await fut

    async def send_message(self, name: str, message: str, node: Any = None, timeout: float | None = None) -> None:
        """Send ``message`` to worker ``name`` without waiting for an answer.

        It waits only while the worker's mailbox (on this node) or the peer's outbox
        (another node) is full, up to ``timeout`` seconds (None: as long as that takes).
        A node known to be down fails at once."""
        _check_message(message)
        timeout = _check_timeout(timeout)
        if node is not None:
            target = node if isinstance(node, (Node, RemoteNode)) else self._handle(str(node))
            if target is not self:
                await target.send_message(name, message, timeout=timeout)
                return
        w = self._workers.get(name)
        if w is None:
            peer = self._remote_names.get(name)
            if peer is None:
                raise WorkerNotFound(name, self.name)
            await self._send(peer, envelope.encode(Kind.SEND, 0, name.encode(), message.encode()), timeout, name)
            return
        if self._workers.full(w):
            await self._room(w, name, timeout)
        self._workers.deliver(w, message, None)

    async def create_mailbox(self, address: str, policy: str | None = None) -> Mailbox:
        """A :class:`~.mailbox.Mailbox` at ``address`` on this node: what is sent to that
        address, and every reply to what it sends, waits there for ``receive``."""
        return Mailbox(self, address)

    async def send(self, address: str, message: str, node: Any = None, policy: str | None = None) -> Mailbox:
        """Send ``message`` to worker ``address`` from a new mailbox and return it: the
        worker's replies, however many, are received from it."""
        box = Mailbox(self, secrets.token_hex(12))
        await box.send(address, message, node)
        return box

    async def _room(self, w: Any, name: str, timeout: float | None) -> None:
        """Wait while worker ``name``'s mailbox is full, up to ``timeout``."""
        try:
            await asyncio.wait_for(self._workers.room(w), timeout)
        except TimeoutError:
            raise MessageTimeout(name, self.name, timeout or 0.0) from None

    # ------------------------------------------------------------------ other nodes

    async def ping(self, name: str, timeout: float) -> dict[str, Any]:
        """Ping node ``name`` (encrypted, through its ROUTER); its answer:
        ``{"name", "pod", "workers"}``. Raises a MessagingError if none comes in time."""
        payload = await self._request(name, Kind.PING, "", b"", timeout)
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def reach(self, name: str, endpoint: str) -> None:
        """Reach node ``name`` at ``endpoint`` instead of its roster endpoint (a probe
        outside the zone's network). Takes effect before the first call to that node."""
        self._client.endpoints[name] = endpoint

    def _handle(self, name: str) -> Node | RemoteNode:
        if name == self.name:
            return self
        entry = self._lookup(name)
        if entry is None:
            raise NodeUnreachable(name, "not a node of this zone's roster")
        if entry.name == self.name:
            return self
        return RemoteNode(self, entry)

    def _lookup(self, name: str) -> NodeEntry | None:
        if self.roster is None:
            return None
        nodes = [e for e in self.roster.nodes if e.role == "node"]
        for e in nodes:
            if name == e.name or name == f"{e.instance}-{e.container}":
                return e
        matches = [e for e in nodes if e.instance == name or e.container == name]
        return matches[0] if len(matches) == 1 else None

    async def _send(self, peer: str, frame: bytes, timeout: float | None, worker: str) -> None:
        await self._client.send(peer, frame, 0, timeout, worker)

    async def _request(self, peer: str, kind: Kind, target: str, payload: bytes, timeout: float | None) -> bytes:
        if peer == self.name:
            return await self._local_control(kind, target, payload, timeout)
        return await self._client.request(peer, kind, target, payload, _check_timeout(timeout))

    async def _local_control(self, kind: Kind, target: str, payload: bytes, timeout: float | None) -> bytes:
        if kind is Kind.REQUEST:
            return (await self.send_and_receive(target, payload.decode(), timeout=timeout)).encode()
        if kind is Kind.PING:
            return self._info().encode()
        if kind is Kind.LIST:
            return json.dumps(await self.list_workers()).encode()
        if kind is Kind.STOP:
            await self.stop_worker(target)
            return b""
        if kind is Kind.START:
            self._workers.start(target, loads_worker(payload))
            return b""
        raise ValueError(kind)
