"""Exceptions of the ``autonomy`` runtime.

One root, :class:`AutonomyError`. Errors a message can meet are also ``RuntimeError``,
because that is what user code catches (``except RuntimeError as e: if "timeout" in
str(e)``)::

    AutonomyError
    ├── ConfigurationError            settings, roster or key file is wrong (where, what)
    ├── AgentError (+RuntimeError)     an agent answered with an error (its model failed)
    ├── McpError (+RuntimeError)       an MCP server did not run a tool call (not connected,
    │                                  connection lost, an error or malformed result)
    └── MessagingError (+RuntimeError)  a message could not be answered
        ├── MessageTimeout              no reply before the deadline ("timeout" in the text)
        ├── WorkerNotFound              no worker of that name on that node
        ├── WorkerFailed                the worker's handler raised
        ├── WorkerExists                start_worker with a name already taken
        ├── NodeUnreachable             the peer is unknown, down, or its outbox stays full
        ├── MalformedReply              the peer answered with something that is not a reply
        └── NotAllowed                  the peer refused: the sender's role may not do that

Each exception keeps its fields and builds its own message.
"""

from __future__ import annotations

__all__ = [
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
    "AgentError",
    "McpError",
]


class AutonomyError(Exception):
    """Root of every exception the runtime raises on purpose."""


class ConfigurationError(AutonomyError):
    """A setting, the roster or a key file is missing or wrong."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class AgentError(AutonomyError, RuntimeError):
    """An agent answered with an error instead of messages (its model failed, it was
    stopped, the request was not one it reads)."""

    def __init__(self, agent: str, message: str) -> None:
        self.agent = agent
        super().__init__(message)


class McpError(AutonomyError, RuntimeError):
    """An MCP server did not run a tool call: this node has no client of that name, the
    server is not connected or went away during the call, or it answered with an error
    or with a result that is not one. An agent gives the text to its model."""

    def __init__(self, server: str, message: str) -> None:
        self.server = server
        super().__init__(message)


class MessagingError(AutonomyError, RuntimeError):
    """A message could not be delivered or answered."""

    def __init__(self, text: str, *, worker: str = "", node: str = "") -> None:
        self.worker = worker
        self.node = node
        super().__init__(text)


class MessageTimeout(MessagingError):
    def __init__(self, worker: str, node: str, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"timeout: no reply from worker {worker!r} on node {node!r} within {seconds:g} s",
            worker=worker,
            node=node,
        )


class WorkerNotFound(MessagingError):
    def __init__(self, worker: str, node: str) -> None:
        super().__init__(f"no worker named {worker!r} on node {node!r}", worker=worker, node=node)


class WorkerFailed(MessagingError):
    def __init__(self, worker: str, node: str, cause: str) -> None:
        self.cause = cause
        super().__init__(f"worker {worker!r} on node {node!r} failed: {cause}", worker=worker, node=node)


class WorkerExists(MessagingError):
    def __init__(self, worker: str, node: str) -> None:
        super().__init__(f"a worker named {worker!r} already runs on node {node!r}", worker=worker, node=node)


class NodeUnreachable(MessagingError):
    def __init__(self, node: str, why: str, worker: str = "") -> None:
        self.why = why
        super().__init__(f"cannot reach node {node!r}: {why}", worker=worker, node=node)


class MalformedReply(MessagingError):
    """A peer answered with something that does not fit the protocol (a rogue or broken node)."""

    def __init__(self, node: str, cause: str, worker: str = "") -> None:
        self.cause = cause
        super().__init__(f"malformed reply from node {node!r}: {cause}", worker=worker, node=node)


class NotAllowed(MessagingError):
    """The peer refused a message because of the sender's role in the roster."""

    def __init__(self, node: str, why: str, worker: str = "") -> None:
        self.why = why
        super().__init__(f"node {node!r} refused: {why}", worker=worker, node=node)
