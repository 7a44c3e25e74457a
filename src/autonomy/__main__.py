"""``python -m autonomy``: run a node with no main; it serves workers until SIGTERM."""

from .nodes.node import Node

Node.start()
