"""Autonomy: nodes that host workers and exchange messages with the rest of their zone.

A *worker* is any object with ``async def handle_message(self, context, message)``. A
*node* hosts workers and talks, encrypted and mutually authenticated (CurveZMQ), to the
other nodes of its *zone*::

    from autonomy import Node

    class Greeter:
        async def handle_message(self, context, message):
            await context.reply(f"Hello, {message}!")

    async def main(node):
        await node.start_worker("greeter", Greeter())
        print(await node.send_and_receive("greeter", "Alice", timeout=10))

    Node.start(main)

Messages are ``str``. Each worker handles one message at a time; messages from one
sender to one worker arrive in order. Errors of delivery are ``RuntimeError`` subclasses
(see :mod:`autonomy._errors`), a timeout's text contains "timeout".
"""

from typing import TYPE_CHECKING, Any

from ._errors import (
    AutonomyError,
    ConfigurationError,
    MessageTimeout,
    MessagingError,
    NodeUnreachable,
    WorkerExists,
    WorkerFailed,
    WorkerNotFound,
)
from ._logging import debug, error, info, warning

if TYPE_CHECKING:
    from ._node import Context, Node, RemoteNode, Zone

_LAZY = frozenset({"Context", "Node", "RemoteNode", "Zone"})


def __getattr__(name: str) -> Any:
    # the node machinery (asyncio, zmq sockets, cloudpickle) loads on first use, so that
    # tools needing only the roster or the errors (the CLI) do not pay for it
    if name in _LAZY:
        from . import _node

        value = getattr(_node, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'autonomy' has no attribute {name!r}")


__all__ = [
    "Node",
    "Zone",
    "RemoteNode",
    "Context",
    "info",
    "warning",
    "error",
    "debug",
    "AutonomyError",
    "ConfigurationError",
    "MessagingError",
    "MessageTimeout",
    "WorkerNotFound",
    "WorkerFailed",
    "WorkerExists",
    "NodeUnreachable",
]
