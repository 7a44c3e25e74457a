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
(see :mod:`autonomy.errors`), a timeout's text contains "timeout".

The package, room by room::

    autonomy/
    ├── nodes/       node.py (Node), workers.py (Context), remote.py (RemoteNode),
    │                mailbox.py (Mailbox),
    │                and the node's machinery: _client, _router, _deadlines,
    │                _shipping (objects by value), _http (/health), _serve (the process)
    ├── transport/   envelope.py (the wire), channel.py, security.py (CURVE, ZAP),
    │                roster.py (roster and key files)
    ├── clusters/    zone.py (Zone), and programs the CLI runs in a zone's containers
    │                (``python -m autonomy.clusters.<name>``)
    ├── logs/        the log format; info, warning, error, debug
    ├── errors.py    AutonomyError and its tree
    ├── settings.py  the typed settings a node reads once
    ├── probe.py     ``python -m autonomy.probe``: does every node answer?
    └── testing.py   LocalZone: a zone of node processes on 127.0.0.1

A module or name that starts with ``_`` is the runtime's own; every other module lists
what it offers in ``__all__``. ``import autonomy`` loads no asyncio and no ZeroMQ: the
node machinery loads when ``Node``, ``Zone``, ``RemoteNode``, ``Context`` or ``Mailbox`` is first used.
"""

from typing import TYPE_CHECKING, Any

from .errors import (
    AutonomyError,
    ConfigurationError,
    MalformedReply,
    MessageTimeout,
    MessagingError,
    NodeUnreachable,
    NotAllowed,
    WorkerExists,
    WorkerFailed,
    WorkerNotFound,
)
from .logs import debug, error, get_logger, info, set_log_level, set_log_levels, warning

if TYPE_CHECKING:
    from .clusters.zone import Zone
    from .nodes.mailbox import Mailbox
    from .nodes.node import Node
    from .nodes.remote import RemoteNode
    from .nodes.workers import Context

# name -> the module that defines it
_LAZY = {
    "Context": "autonomy.nodes.workers",
    "Mailbox": "autonomy.nodes.mailbox",
    "Node": "autonomy.nodes.node",
    "RemoteNode": "autonomy.nodes.remote",
    "Zone": "autonomy.clusters.zone",
}


def __getattr__(name: str) -> Any:
    # the node machinery (asyncio, zmq sockets, cloudpickle) loads on first use, so that
    # tools needing only the roster or the errors (the CLI) do not pay for it
    module = _LAZY.get(name)
    if module is not None:
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'autonomy' has no attribute {name!r}")


__all__ = [
    "Node",
    "Zone",
    "RemoteNode",
    "Context",
    "Mailbox",
    "info",
    "warning",
    "error",
    "debug",
    "get_logger",
    "set_log_level",
    "set_log_levels",
    "AutonomyError",
    "ConfigurationError",
    "MessagingError",
    "MessageTimeout",
    "WorkerNotFound",
    "WorkerFailed",
    "WorkerExists",
    "NodeUnreachable",
    "MalformedReply",
    "NotAllowed",
]
