"""Nodes: the process-level unit of Autonomy, and the workers it hosts.

Public: :mod:`.node` (:class:`~.node.Node`), :mod:`.workers` (the
:class:`~.workers.Context` a handler gets), :mod:`.remote` (:class:`~.remote.RemoteNode`).
The ``_``-prefixed modules are the node's own machinery. Nothing is imported here, so
that loading one of these modules does not load the others.
"""

__all__: list[str] = []
