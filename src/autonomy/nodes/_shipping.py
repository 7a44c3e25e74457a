"""Objects that travel between nodes by value: workers, and references to nodes.

``RemoteNode.start_worker`` pickles the worker object with cloudpickle. A class defined in
the user's own project is pickled *by value* (its module's code travels with it), because
the receiving container may not have that module; classes of the standard library,
installed packages and the runtime itself travel by reference.

A node (``Node`` or ``RemoteNode``) inside a worker's state travels as its name and
becomes, in the receiving process, that process's handle for the node of that name
(:func:`node_ref`).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Callable
from typing import Any

import cloudpickle

__all__ = ["user_module", "dumps_worker", "loads_worker", "node_ref", "set_resolver"]

_resolve: Callable[[str], object] | None = None


def user_module(module: Any) -> bool:
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


def dumps_worker(obj: Any) -> bytes:
    """Pickle a worker by value, with its class's module if it is the user's own."""
    module = sys.modules.get(type(obj).__module__)
    if module is not None and module.__name__ != "__main__" and user_module(module):
        cloudpickle.register_pickle_by_value(module)
    data: bytes = cloudpickle.dumps(obj)
    return data


def loads_worker(payload: bytes) -> Any:
    """The worker object a START envelope carries."""
    return cloudpickle.loads(payload)


def set_resolver(resolve: Callable[[str], object] | None) -> None:
    """Name the function that turns a node's name into a handle in this process (the
    running node's); None while no node runs."""
    global _resolve
    _resolve = resolve


def node_ref(name: str) -> object:
    """Unpickle a node reference in whatever node process loads it."""
    resolve = _resolve
    if resolve is None:
        raise RuntimeError("a node reference can only be unpickled inside a running node")
    return resolve(name)
