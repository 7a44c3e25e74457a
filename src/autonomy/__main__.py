"""``python -m autonomy``: run a node with no main; it serves workers until SIGTERM."""

from ._node import Node

Node.start()
