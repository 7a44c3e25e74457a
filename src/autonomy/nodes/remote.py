"""Another node of the zone, as seen from this one: :class:`RemoteNode`.

``Zone.nodes`` and ``Zone.node`` return these. Every method is a call through this
node's DEALER to the other node's ROUTER (see docs/architecture.md, the wire).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import MalformedReply
from ..transport import envelope
from ..transport.envelope import Kind
from ..transport.roster import NodeEntry
from ._client import text_of
from ._shipping import dumps_worker, node_ref
from .workers import _check_message, _check_name, _check_timeout, _check_worker

if TYPE_CHECKING:
    from .node import Node

__all__ = ["RemoteNode", "CONTROL_TIMEOUT", "REMOTE_TIMEOUT"]

#: seconds a control call (start, stop, list workers) may take
CONTROL_TIMEOUT = 30.0
#: seconds ``RemoteNode.send_and_receive`` waits when its ``timeout`` is None (the SDK's default)
REMOTE_TIMEOUT = 600.0


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
        return (node_ref, (self.name,))

    async def start_worker(
        self, name: str, worker: Any, policy: str | None = None, exposed_as: str | None = None
    ) -> None:
        """Start ``worker`` on that node, where it finds that node as ``self.node``. The
        object travels by value (cloudpickle). ``policy`` and ``exposed_as``: as
        :meth:`Node.start_worker <autonomy.Node.start_worker>` (``exposed_as`` is not
        carried to the other node)."""
        _check_name(name)
        _check_worker(worker)
        payload = dumps_worker(worker)
        await self._node._request(self.name, Kind.START, name, payload, CONTROL_TIMEOUT)
        self._node._remote_names[name] = self.name

    async def stop_worker(self, name: str) -> None:
        await self._node._request(self.name, Kind.STOP, name, b"", CONTROL_TIMEOUT)
        if self._node._remote_names.get(name) == self.name:
            del self._node._remote_names[name]

    async def list_workers(self) -> list[dict[str, Any]]:
        payload = await self._node._request(self.name, Kind.LIST, "", b"", CONTROL_TIMEOUT)
        try:
            data = json.loads(payload)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise MalformedReply(self.name, "the list of workers is not JSON") from None
        if not isinstance(data, list) or not all(isinstance(w, dict) and isinstance(w.get("name"), str) for w in data):
            raise MalformedReply(self.name, 'the list of workers is not a JSON list of {"name": ...} objects')
        return [{"name": w["name"]} for w in data]

    async def send_and_receive(
        self,
        address: str,
        message: str,
        node: Any = None,
        policy: str | None = None,
        timeout: float | None = None,
    ) -> str:
        """Send ``message`` to worker ``address`` on that node and wait for its reply, up
        to ``timeout`` seconds (None: 600, the SDK's default for a remote node). ``node``
        is ignored (this object is the node), ``policy`` means nothing here."""
        _check_message(message)
        timeout = REMOTE_TIMEOUT if timeout is None else _check_timeout(timeout)
        payload = await self._node._request(self.name, Kind.REQUEST, address, message.encode(), timeout)
        return text_of(payload, self.name, address)

    async def send_message(self, name: str, message: str, timeout: float | None = None) -> None:
        """Send without waiting for an answer. It waits (up to ``timeout``) only while
        this peer's outbox is full: while the peer is slower than its senders."""
        _check_message(message)
        timeout = _check_timeout(timeout)
        await self._node._send(self.name, envelope.encode(Kind.SEND, 0, name.encode(), message.encode()), timeout, name)
