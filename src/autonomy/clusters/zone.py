"""The zone a node belongs to: :class:`Zone` finds its other nodes.

A zone is the set of nodes one roster names (one ``autonomy.yaml`` deployed, or one
:class:`~autonomy.testing.LocalZone`). A node of it is *live* once it answers an
encrypted ping.
"""

from __future__ import annotations

import asyncio

from ..errors import MessagingError, NodeUnreachable
from ..nodes.node import Node
from ..nodes.remote import RemoteNode
from ..transport.roster import NodeEntry

__all__ = ["Zone"]


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
        s = node.settings
        grace_left = s.discovery_grace - node.uptime
        timeout = max(s.ping_timeout, grace_left)

        async def ping(e: NodeEntry) -> Node | RemoteNode | None:
            if e.name == node.name:
                return node
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                try:
                    await node.ping(e.name, max(0.0, deadline - loop.time()))
                    return RemoteNode(node, e)
                except NodeUnreachable:
                    # down for now (not started yet?): ask again until the deadline
                    if loop.time() + 0.1 >= deadline:
                        return None
                    await asyncio.sleep(0.1)
                except MessagingError:
                    return None

        found = await asyncio.gather(*(ping(e) for e in candidates))
        return [n for n in found if n is not None]

    @staticmethod
    async def node(node: Node, name: str) -> Node | RemoteNode | None:
        """The node called ``name``: its full name, ``<instance>-<container>``, or a unique
        instance or container name; None when the zone has no such node (as the SDK)."""
        try:
            return node._handle(name)
        except NodeUnreachable:
            return None
