"""Nodes, workers and the messages between them.

A :class:`Node` hosts *workers*: objects with ``async def handle_message(self, context,
message)``. Each worker handles one message at a time, in the order they arrived; while
a worker has nothing to do it owns no task and costs no CPU (a worker is a name, an
object and, only while busy, a queue and a task).

Inside one node a message is a Python call away: ``send_and_receive`` puts the message
in the worker's queue and waits on a future that ``context.reply`` resolves. Between
nodes it is a ZeroMQ message (see :mod:`autonomy._wire`): each node binds one ROUTER
(CURVE server) and reaches each peer through one DEALER (CURVE client), opened on first
use and kept open, because a CURVE handshake costs milliseconds.

Timeouts do not cost a timer per call: one *deadline sweeper* keeps a heap of deadlines
and a single ``call_at`` for the earliest one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import signal
import sys
import sysconfig
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import cloudpickle
import zmq

from . import _wire
from ._channel import Channel
from ._errors import (
    ConfigurationError,
    MessageTimeout,
    MessagingError,
    NodeUnreachable,
    WorkerExists,
    WorkerFailed,
    WorkerNotFound,
)
from ._logging import configure as _configure_logging
from ._security import HandshakeMonitor, RosterPolicy, ZapHandler
from ._settings import Settings
from ._wire import Kind
from .roster import NodeEntry, Roster, generate_keypair, load_keypair

__all__ = ["Node", "RemoteNode", "Context", "Zone"]

log = logging.getLogger("autonomy.node")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_CONTROL_TIMEOUT = 30.0
_Future = asyncio.Future
_current: Node | None = None


def _check_message(message: object, what: str = "message") -> str:
    if not isinstance(message, str):
        raise TypeError(f"{what} must be a str, not {type(message).__name__} (use json.dumps for structured data)")
    return message


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"worker name must match [A-Za-z0-9_-]+ (1..255 characters), got {name!r}")
    return name


def _check_worker(obj: object) -> None:
    handler = getattr(obj, "handle_message", None)
    if handler is None or not asyncio.iscoroutinefunction(handler):
        raise TypeError(
            f"{type(obj).__name__} is not a worker: it needs `async def handle_message(self, context, message)`"
        )


# --------------------------------------------------------------------------- workers


class _Worker:
    __slots__ = ("name", "obj", "queue", "task")

    def __init__(self, name: str, obj: Any) -> None:
        self.name = name
        self.obj = obj
        self.queue: deque[tuple[str, Any]] | None = None
        self.task: asyncio.Task[None] | None = None  # set only while busy


class Context:
    """What a handler gets with each message: the way to answer its sender."""

    __slots__ = ("_node", "_worker", "_target")

    def __init__(self, node: Node, worker: str, target: Any) -> None:
        self._node = node
        self._worker = worker
        self._target = target  # a Future (same node), (routing id, corr) (other node), or None

    @property
    def worker_name(self) -> str:
        return self._worker

    async def reply(self, message: str) -> None:
        """Answer the sender; a message sent with ``send_message`` has no one to answer."""
        _check_message(message, "reply")
        target = self._target
        if target is None:
            return
        self._target = None
        if type(target) is tuple:
            self._node._router_reply(target, message.encode())
        elif not target.done():
            target.set_result(message)

    def _fail(self, error: MessagingError) -> None:
        target = self._target
        if target is None:
            return
        self._target = None
        if type(target) is tuple:
            self._node._router_error(target, error)
        elif not target.done():
            target.set_exception(error)


# --------------------------------------------------------------------------- deadlines


class _Deadlines:
    """One timer for every pending timeout.

    Calls made with the same ``timeout`` expire in the order they were made, so each
    distinct timeout value keeps a FIFO queue; finished calls are dropped from its head as
    new ones arrive (a serial caller's queue stays one entry long). A single ``call_at``
    is armed for the earliest head; nothing is armed while no call waits.
    """

    __slots__ = ("_loop", "_queues", "_handle", "_when")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queues: dict[float, deque[tuple[float, _Future[Any], str, str]]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._when = 0.0

    def add(self, timeout: float, fut: _Future[Any], worker: str, node: str) -> None:
        """Fail ``fut`` with MessageTimeout(worker, node) unless done within ``timeout`` s."""
        deadline = self._loop.time() + timeout
        q = self._queues.get(timeout)
        if q is None:
            q = self._queues[timeout] = deque()
        else:
            while q and q[0][1].done():
                q.popleft()
        q.append((deadline, fut, worker, node))
        if self._handle is None or deadline < self._when:
            if self._handle is not None:
                self._handle.cancel()
            self._when = deadline
            self._handle = self._loop.call_at(deadline, self._sweep)

    def _sweep(self) -> None:
        self._handle = None
        now = self._loop.time()
        earliest = None
        overdue: list[tuple[float, float, _Future[Any], str, str]] = []
        for timeout, q in list(self._queues.items()):
            while q and (q[0][0] <= now or q[0][1].done()):
                deadline, fut, worker, node = q.popleft()
                if not fut.done():
                    overdue.append((deadline, timeout, fut, worker, node))
            if not q:
                del self._queues[timeout]
            elif earliest is None or q[0][0] < earliest:
                earliest = q[0][0]
        if len(overdue) > 1:
            # several timeout values may be overdue at once (the loop was busy): their
            # waiters wake in the order their deadlines fell, not by queue
            overdue.sort(key=lambda item: item[0])
        for _, timeout, fut, worker, node in overdue:
            fut.set_exception(MessageTimeout(worker, node, timeout))
        if earliest is not None:
            self._when = earliest
            self._handle = self._loop.call_at(earliest, self._sweep)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._queues.clear()


# --------------------------------------------------------------------------- pickling


def _user_module(module: Any) -> bool:
    """True for a module of the user's project (not stdlib, site-packages or autonomy)."""
    path = getattr(module, "__file__", None)
    if not path or module.__name__.split(".")[0] in ("autonomy", "cloudpickle", "zmq"):
        return False
    path = os.path.realpath(path)
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        root = sysconfig.get_paths().get(key)
        if root and path.startswith(os.path.realpath(root) + os.sep):
            return False
    return not any(p in path for p in ("site-packages", "dist-packages"))


def _dumps_worker(obj: Any) -> bytes:
    """Pickle a worker by value, with its class's module if it is the user's own."""
    module = sys.modules.get(type(obj).__module__)
    if module is not None and module.__name__ != "__main__" and _user_module(module):
        cloudpickle.register_pickle_by_value(module)
    return cloudpickle.dumps(obj)


def _node_ref(name: str) -> Node | RemoteNode:
    """Unpickle a node reference in whatever node process loads it."""
    node = _current
    if node is None:
        raise RuntimeError("a node reference can only be unpickled inside a running node")
    return node._handle(name)


# --------------------------------------------------------------------------- remote nodes


class RemoteNode:
    """A node of the zone as seen from this one (``Zone.nodes`` returns these)."""

    __slots__ = ("_node", "_entry")

    def __init__(self, node: Node, entry: NodeEntry) -> None:
        self._node = node
        self._entry = entry

    @property
    def name(self) -> str:
        """The node's full name, ``<cluster>-<zone>-<pod instance>-<container>``."""
        return self._entry.name

    @property
    def pod(self) -> str:
        return self._entry.pod

    @property
    def instance(self) -> str:
        return self._entry.instance

    def __repr__(self) -> str:
        return f"RemoteNode({self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_node_ref, (self.name,))

    async def start_worker(self, name: str, worker: Any) -> None:
        """Start ``worker`` on that node. The object travels by value (cloudpickle)."""
        _check_name(name)
        _check_worker(worker)
        payload = _dumps_worker(worker)
        await self._node._request(self.name, Kind.START, name, payload, _CONTROL_TIMEOUT)
        self._node._remote_names[name] = self.name

    async def stop_worker(self, name: str) -> None:
        await self._node._request(self.name, Kind.STOP, name, b"", _CONTROL_TIMEOUT)
        if self._node._remote_names.get(name) == self.name:
            del self._node._remote_names[name]

    async def list_workers(self) -> list[dict[str, Any]]:
        payload = await self._node._request(self.name, Kind.LIST, "", b"", _CONTROL_TIMEOUT)
        data = json.loads(payload)
        return [{"name": str(w["name"])} for w in data]

    async def send_and_receive(self, name: str, message: str, timeout: float | None = None) -> str:
        _check_message(message)
        payload = await self._node._request(self.name, Kind.REQUEST, name, message.encode(), timeout)
        return payload.decode()

    async def send_message(self, name: str, message: str) -> None:
        _check_message(message)
        self._node._peer_send(self.name, _wire.encode(Kind.SEND, 0, name.encode(), message.encode()))


class _Peer:
    __slots__ = ("name", "channel", "monitor")

    def __init__(self, name: str, channel: Channel, monitor: HandshakeMonitor) -> None:
        self.name = name
        self.channel = channel
        self.monitor = monitor


# --------------------------------------------------------------------------- the node


class Node:
    """An Autonomy node: hosts workers and talks to the other nodes of its zone.

    Start one with :meth:`Node.start`; user code receives it as the argument of ``main``.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._loop = asyncio.get_running_loop()
        self._workers: dict[str, _Worker] = {}
        self._remote_names: dict[str, str] = {}  # worker started by us elsewhere -> node
        self._pending: dict[int, tuple[_Future[bytes], str, str]] = {}  # corr -> (future, peer, worker)
        self._corr = itertools.count(1)
        self._deadlines = _Deadlines(self._loop)
        self._peers: dict[str, _Peer] = {}
        #: where to reach a peer instead of its roster endpoint (a probe outside the zone's network)
        self._endpoints: dict[str, str] = {}
        self._started_at = self._loop.time()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ctx: zmq.Context | None = None
        self._router: Channel | None = None
        self._router_monitor: HandshakeMonitor | None = None
        self._zap: ZapHandler | None = None
        self._policy: RosterPolicy | None = None
        self._http: Any = None
        self.stats = {"received": 0, "sent": 0, "malformed": 0, "unroutable": 0}
        self.last_message_at: float | None = None
        self.roster: Roster | None = None
        self._self_entry: NodeEntry | None = None
        self._roster_names: frozenset[str] = frozenset()
        self._public = ""
        self._secret = ""
        self.name = settings.node
        self._exit_code = 0

    # ------------------------------------------------------------------ lifecycle

    @staticmethod
    def start(main: Callable[[Node], Awaitable[Any]] | None = None) -> None:
        """Run a node until SIGTERM or SIGINT; ``main(node)`` runs as its first worker.

        Blocks. Exits the process with 0 after a clean stop, 2 on a configuration error.
        """
        signal.signal(signal.SIGTERM, _exit_now)  # until the loop takes over
        try:
            settings = Settings.from_env()
        except ConfigurationError as e:
            print(f"autonomy: {e}", file=sys.stderr)
            raise SystemExit(2) from None
        _configure_logging(settings.log_level)
        try:
            code = asyncio.run(_serve(settings, main))
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM while exiting
        except ConfigurationError as e:
            log.error("%s", e)
            raise SystemExit(2) from None
        except KeyboardInterrupt:
            return
        if code:
            raise SystemExit(code)

    async def _open(self) -> None:
        s = self._settings
        if s.standalone:
            log.info("node %s running standalone (no zone roster)", self.name)
            kp = generate_keypair()
            self._public, self._secret = kp.public_key, kp.secret_key
        else:
            assert s.roster_path and s.key_path
            self.roster = Roster.load(s.roster_path)
            key_name, kp = load_keypair(s.key_path)
            if key_name != self.name:
                raise ConfigurationError(s.key_path, f"key file is for node {key_name!r}, this node is {self.name!r}")
            self._public, self._secret = kp.public_key, kp.secret_key
            entry = self.roster.by_name(self.name)
            if entry is None:
                raise ConfigurationError(s.roster_path, f"node {self.name!r} is not in the roster")
            if entry.public_key != kp.public_key:
                raise ConfigurationError(s.key_path, "public key does not match the roster")
            self._self_entry = entry
            self._roster_names = frozenset(n.name for n in self.roster.nodes)
            self._ctx = zmq.Context()
            if entry.role == "probe":
                log.debug("probe %s: client only", self.name)
                return
            self._policy = RosterPolicy(self.roster, zone=self.roster.zone)
            self._zap = ZapHandler(self._ctx, self._policy, self._loop)  # bound before any CURVE server
            sock = self._ctx.socket(zmq.ROUTER)
            sock.curve_server = True
            sock.curve_publickey = kp.public_key.encode()
            sock.curve_secretkey = kp.secret_key.encode()
            sock.zap_domain = (self.roster.zone or "zone").encode()
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            sock.sndhwm = s.hwm
            sock.rcvhwm = s.hwm
            sock.linger = 500
            endpoint = f"tcp://{s.bind_host}:{entry.port}"
            try:
                sock.bind(endpoint)
            except zmq.ZMQError as e:
                sock.close(0)
                raise ConfigurationError(endpoint, f"cannot listen: {e.strerror}") from None
            self._router_monitor = HandshakeMonitor(sock, self._loop, f"router {endpoint}")
            self._router = Channel(sock, self._loop, self._on_router, router=True, label="router")
            log.info("node %s listening on %s (CURVE, %d nodes in roster)", self.name, endpoint, len(self.roster.nodes))
        if s.http_port:
            from ._http import serve_http

            self._http = await serve_http(self, s.http_host, s.http_port)

    async def _close(self) -> None:
        for w in list(self._workers.values()):
            if w.task is not None:
                w.task.cancel()
        for t in list(self._tasks):
            t.cancel()
        if self._http is not None:
            self._http.close()
        self._deadlines.cancel()
        for fut, _, _ in self._pending.values():
            if not fut.done():
                fut.set_exception(NodeUnreachable(self.name, "node is stopping"))
        self._pending.clear()
        for peer in self._peers.values():
            peer.monitor.close()
            peer.channel.close(200)
        self._peers.clear()
        if self._router_monitor is not None:
            self._router_monitor.close()
        if self._router is not None:
            self._router.close(500)
        if self._zap is not None:
            self._zap.close()
        if self._ctx is not None:
            self._ctx.term()
        await asyncio.sleep(0)

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = self._loop.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __reduce__(self) -> tuple[Any, ...]:
        return (_node_ref, (self.name,))

    def __repr__(self) -> str:
        return f"Node({self.name!r})"

    # ------------------------------------------------------------------ workers

    async def start_worker(self, name: str, worker: Any) -> None:
        """Start ``worker`` under ``name`` on this node. A name can run only once."""
        self._start_local(name, worker)

    def _start_local(self, name: str, worker: Any) -> None:
        _check_name(name)
        _check_worker(worker)
        if name in self._workers:
            raise WorkerExists(name, self.name)
        self._workers[name] = _Worker(name, worker)

    async def stop_worker(self, name: str) -> None:
        """Stop a worker; messages still queued for it get an error."""
        w = self._workers.pop(name, None)
        if w is None:
            peer = self._remote_names.get(name)
            if peer is not None:
                await self._handle(peer).stop_worker(name)
                return
            raise WorkerNotFound(name, self.name)
        self._retire(w)

    def _retire(self, w: _Worker) -> None:
        if w.queue:
            for _, target in w.queue:
                Context(self, w.name, target)._fail(
                    MessagingError(
                        f"worker {w.name!r} on node {self.name!r} was stopped", worker=w.name, node=self.name
                    )
                )
            w.queue = None
        if w.task is not None and w.task is not asyncio.current_task():
            w.task.cancel()

    async def list_workers(self) -> list[dict[str, Any]]:
        """The workers of this node: ``[{"name": ...}, ...]``."""
        return [{"name": n} for n in self._workers]

    def _deliver(self, w: _Worker, message: str, target: Any) -> None:
        if w.task is None:
            w.task = self._loop.create_task(self._run(w, message, target))
        else:
            q = w.queue
            if q is None:
                q = w.queue = deque()
            q.append((message, target))

    async def _run(self, w: _Worker, message: str, target: Any) -> None:
        handle = w.obj.handle_message
        while True:
            ctx = Context(self, w.name, target)
            try:
                await handle(ctx, message)
            except asyncio.CancelledError:
                ctx._fail(
                    MessagingError(
                        f"worker {w.name!r} on node {self.name!r} was stopped", worker=w.name, node=self.name
                    )
                )
                raise
            except Exception as e:
                cause = f"{type(e).__name__}: {e}"
                log.error("worker %r failed on a message: %s\n%s", w.name, cause, traceback.format_exc().rstrip())
                ctx._fail(WorkerFailed(w.name, self.name, cause))
            q = w.queue
            if not q:
                w.queue = None
                w.task = None
                return
            message, target = q.popleft()

    # ------------------------------------------------------------------ messages

    async def send_and_receive(self, name: str, message: str, node: Any = None, timeout: float | None = None) -> str:
        """Send ``message`` to worker ``name`` and wait for its reply.

        ``node`` (a name or a node object) picks the node; by default the worker is looked
        up on this node, then among the workers this node started elsewhere.
        ``timeout`` is in seconds; past it a RuntimeError says "timeout".
        """
        if not isinstance(message, str):
            _check_message(message)
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
            return payload.decode()
        fut: _Future[str] = self._loop.create_future()
        if timeout is not None:
            self._deadlines.add(timeout, fut, name, self.name)
        self.last_message_at = time.time()
        self._deliver(w, message, fut)
        return await fut

    async def send_message(self, name: str, message: str, node: Any = None) -> None:
        """Send ``message`` to worker ``name`` without waiting for anything."""
        _check_message(message)
        if node is not None:
            target = node if isinstance(node, (Node, RemoteNode)) else self._handle(str(node))
            if target is not self:
                await target.send_message(name, message)
                return
        w = self._workers.get(name)
        if w is None:
            peer = self._remote_names.get(name)
            if peer is None:
                raise WorkerNotFound(name, self.name)
            self._peer_send(peer, _wire.encode(Kind.SEND, 0, name.encode(), message.encode()))
            return
        self.last_message_at = time.time()
        self._deliver(w, message, None)

    # ------------------------------------------------------------------ peers

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

    def _peer(self, name: str) -> _Peer:
        peer = self._peers.get(name)
        if peer is not None:
            return peer
        entry = self.roster.by_name(name) if self.roster is not None else None
        if entry is None or self._ctx is None:
            raise NodeUnreachable(name, "not a node of this zone's roster")
        s = self._settings
        sock = self._ctx.socket(zmq.DEALER)
        sock.curve_serverkey = entry.public_key.encode()
        sock.curve_publickey = self._public.encode()
        sock.curve_secretkey = self._secret.encode()
        sock.sndhwm = s.hwm
        sock.rcvhwm = s.hwm
        sock.linger = 200
        if self._self_entry is not None and self._self_entry.role == "probe":
            # the readiness probe waits for nodes that are starting: retry often, no backoff
            sock.setsockopt(zmq.RECONNECT_IVL, 20)
        else:
            sock.setsockopt(zmq.RECONNECT_IVL, 50)  # peers that are still starting are found fast
            sock.setsockopt(zmq.RECONNECT_IVL_MAX, 250)
        sock.setsockopt(zmq.HEARTBEAT_IVL, 5000)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 15000)
        sock.connect(self._endpoints.get(name, entry.endpoint))
        channel = Channel(sock, self._loop, lambda _, frames, n=name: self._on_dealer(n, frames), label=f"peer {name}")
        monitor = HandshakeMonitor(sock, self._loop, f"peer {name}", on_disconnect=lambda n=name: self._peer_lost(n))
        peer = self._peers[name] = _Peer(name, channel, monitor)
        return peer

    def _peer_send(self, name: str, frame: bytes) -> None:
        self._peer(name).channel.post(frame)

    def _peer_lost(self, name: str) -> None:
        lost = [c for c, (_, peer, _) in self._pending.items() if peer == name]
        if lost:
            log.warning("connection to node %s lost; failing %d waiting request(s)", name, len(lost))
        for c in lost:
            fut, _, worker = self._pending.pop(c)
            if not fut.done():
                fut.set_exception(NodeUnreachable(name, "connection lost while waiting for a reply", worker=worker))

    async def _request(self, peer: str, kind: Kind, target: str, payload: bytes, timeout: float | None) -> bytes:
        if peer == self.name:
            return await self._local_control(kind, target, payload, timeout)
        corr = next(self._corr)
        frame = _wire.encode(kind, corr, target.encode(), payload)
        fut: _Future[bytes] = self._loop.create_future()
        self._pending[corr] = (fut, peer, target)
        try:
            self._peer_send(peer, frame)
            if timeout is not None:
                self._deadlines.add(timeout, fut, target or kind.name.lower(), peer)
            return await fut
        finally:
            self._pending.pop(corr, None)

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
            self._start_local(target, cloudpickle.loads(payload))
            return b""
        raise ValueError(kind)

    def _info(self) -> str:
        e = self._self_entry
        return json.dumps({"name": self.name, "pod": e.pod if e else "", "workers": len(self._workers)})

    # ------------------------------------------------------------------ receiving

    def _on_dealer(self, peer: str, frames: list[bytes]) -> None:
        pending = self._pending
        for frame in frames:
            self.stats["received"] += 1
            try:
                env = _wire.decode(frame)
                if env.kind is not Kind.REPLY and env.kind is not Kind.ERROR:
                    raise _wire.Malformed(f"unexpected {env.kind.name} from a server")
                item = pending.pop(env.corr, None)
                if item is None:
                    continue  # the waiter gave up (timeout, cancelled)
                fut, expected_peer, worker = item
                if expected_peer != peer:
                    raise _wire.Malformed("reply from the wrong peer")
                if fut.done():
                    continue
                if env.kind is Kind.REPLY:
                    fut.set_result(env.payload)
                else:
                    fut.set_exception(_remote_error(_wire.parse_error(env.payload), worker, peer))
            except _wire.Malformed as e:
                self._malformed(peer, e)

    def _malformed(self, sender: str, e: Exception) -> None:
        self.stats["malformed"] += 1
        n = self.stats["malformed"]
        if n <= 10 or n % 1000 == 0:
            log.warning("dropped malformed message from %s: %s (%d so far)", sender, e, n)

    def _on_router(self, first: Any, frames: list[bytes]) -> None:
        if not frames:
            self.stats["malformed"] += 1
            return  # a routing id alone: nothing to read, nobody to name
        rid, meta = first
        try:
            sender = meta.get("User-Id")
        except zmq.ZMQError:
            sender = ""
        if not sender or sender not in self._roster_names:
            # ZAP admits only roster keys; this cannot happen unless ZAP is bypassed.
            log.error("refused a message from an unauthenticated connection (user id %r)", sender)
            return
        for frame in frames:
            self._on_envelope(sender, rid, frame)

    def _on_envelope(self, sender: str, rid: bytes, frame: bytes) -> None:
        self.stats["received"] += 1
        try:
            env = _wire.decode(frame)
            kind = env.kind
            if kind is Kind.REQUEST or kind is Kind.SEND:
                message = env.payload.decode()
                self.last_message_at = time.time()  # a worker's message, not a ping
                w = self._workers.get(env.target)
                target = (rid, env.corr) if kind is Kind.REQUEST else None
                if w is None:
                    if target is None:
                        self.stats["unroutable"] += 1
                        log.warning("message from %s for unknown worker %r dropped", sender, env.target)
                    else:
                        self._router_error(target, WorkerNotFound(env.target, self.name))
                    return
                self._deliver(w, message, target)
            elif kind is Kind.START:
                self._remote_start(sender, rid, env)
            elif kind is Kind.STOP:
                w = self._workers.pop(env.target, None)
                if w is None:
                    self._router_error((rid, env.corr), WorkerNotFound(env.target, self.name))
                else:
                    self._retire(w)
                    self._router_reply((rid, env.corr), b"")
            elif kind is Kind.LIST:
                self._router_reply((rid, env.corr), json.dumps([{"name": n} for n in self._workers]).encode())
            elif kind is Kind.PING:
                self._router_reply((rid, env.corr), self._info().encode())
            else:
                raise _wire.Malformed(f"unexpected {kind.name} from a client")
        except (_wire.Malformed, UnicodeDecodeError) as e:
            self._malformed(sender, e)

    def _remote_start(self, sender: str, rid: bytes, env: _wire.Envelope) -> None:
        target = (rid, env.corr)
        # The sender was authenticated by ZAP against the roster (checked in _on_router).
        try:
            _check_name(env.target)
            if env.target in self._workers:
                raise WorkerExists(env.target, self.name)
            obj = cloudpickle.loads(env.payload)
            self._start_local(env.target, obj)
        except MessagingError as e:
            self._router_error(target, e)
            return
        except Exception as e:
            log.error("could not start worker %r sent by %s: %s: %s", env.target, sender, type(e).__name__, e)
            self._router_error(target, WorkerFailed(env.target, self.name, f"cannot start: {type(e).__name__}: {e}"))
            return
        log.info("started worker %r for node %s", env.target, sender)
        self._router_reply(target, b"")

    def _router_reply(self, target: tuple[bytes, int], payload: bytes) -> None:
        rid, corr = target
        router = self._router
        if router is not None:
            router.post(_wire.encode(Kind.REPLY, corr, b"", payload), rid)

    def _router_error(self, target: tuple[bytes, int], error: MessagingError) -> None:
        rid, corr = target
        kind = {
            WorkerNotFound: "not_found",
            WorkerFailed: "failed",
            WorkerExists: "exists",
        }.get(type(error), "error")
        text = getattr(error, "cause", None) or str(error)
        if self._router is not None:
            self._router.post(
                _wire.encode(Kind.ERROR, corr, b"", _wire.error_payload(kind, error.worker, self.name, text)), rid
            )


def _remote_error(data: dict[str, str], worker: str, peer: str) -> MessagingError:
    kind, w, n, text = data["type"], data["worker"] or worker, data["node"] or peer, data["text"]
    if kind == "not_found":
        return WorkerNotFound(w, n)
    if kind == "failed":
        return WorkerFailed(w, n, text)
    if kind == "exists":
        return WorkerExists(w, n)
    return MessagingError(text, worker=w, node=n)


# --------------------------------------------------------------------------- zone


class Zone:
    """The zone a node belongs to: discover its other nodes."""

    @staticmethod
    async def nodes(node: Node, filter: str | None = None) -> list[Node | RemoteNode]:
        """Live nodes of this zone whose pod name contains ``filter`` (all when None).

        A node counts as live once it answers an encrypted ping. In the first seconds of
        a node's life (``AUTONOMY_DISCOVERY_GRACE``) this waits for nodes still starting.
        """
        if node.roster is None:
            return [node] if filter is None or filter in node.name else []
        candidates = [e for e in node.roster.nodes if e.role == "node" and (filter is None or filter in e.pod)]
        s = node._settings
        grace_left = node._started_at + s.discovery_grace - node._loop.time()
        timeout = max(s.ping_timeout, grace_left)

        async def ping(e: NodeEntry) -> Node | RemoteNode | None:
            if e.name == node.name:
                return node
            try:
                await node._request(e.name, Kind.PING, "", b"", timeout)
            except MessagingError:
                return None
            return RemoteNode(node, e)

        found = await asyncio.gather(*(ping(e) for e in candidates))
        return [n for n in found if n is not None]

    @staticmethod
    async def node(node: Node, name: str) -> Node | RemoteNode:
        """The node called ``name``: its full name, ``<instance>-<container>``, or a unique
        instance or container name."""
        return node._handle(name)


# --------------------------------------------------------------------------- serving


def _exit_now(signum: int, frame: object) -> None:
    raise SystemExit(0)


async def _pod_watchdog(node: Node, interval: float = 2.0) -> None:
    """Stop the node (exit code 3) if the pod's network namespace is gone (compose#8918)."""
    net = "/sys/class/net"
    if not os.path.isdir(net) or set(os.listdir(net)) <= {"lo"}:
        return  # nothing to watch: no network to lose
    while True:
        await asyncio.sleep(interval)
        if set(os.listdir(net)) <= {"lo"}:
            log.error(
                "the pod's network is gone (its infra container restarted); exiting so the container restarts into the pod"
            )
            node._exit_code = 3
            node._stopping.set()
            return


async def _serve(settings: Settings, main: Callable[[Node], Awaitable[Any]] | None) -> int:
    global _current
    node = Node(settings)
    _current = node
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, node._stopping.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await node._open()
        if settings.pod_watchdog:
            node._spawn(_pod_watchdog(node))
        if main is not None:
            node._spawn(_run_main(node, main))
        await node._stopping.wait()
        log.info("node %s stopping", node.name)
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, lambda: None)
            except (NotImplementedError, RuntimeError):
                pass
    finally:
        await node._close()
        _current = None
    return node._exit_code


async def _run_main(node: Node, main: Callable[[Node], Awaitable[Any]]) -> None:
    try:
        await main(node)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.error("main failed:\n%s", traceback.format_exc().rstrip())
