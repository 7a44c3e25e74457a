"""Running a node as a process: ``Node.start``, signals, the pod watchdog.

The process reads its settings, opens the node (its web server starts in the
background), runs ``main(node)`` beside it, and serves until SIGTERM or SIGINT; then it
closes the node and exits: 0 after a clean stop, 2 on a configuration error, 3 when the
pod watchdog saw the pod's network go. With ``wait_until_interrupted=False`` (or
``AUTONOMY_WAIT_UNTIL_INTERRUPTED=false``) the node stops as soon as ``main`` returns
and ``Node.start`` returns, or raises what ``main`` raised.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..logs import configure as configure_logging
from ..settings import Settings
from ._shipping import set_resolver

if TYPE_CHECKING:
    from .node import Node

__all__ = ["run", "Options", "standalone_note"]

log = logging.getLogger("autonomy.node")
Main = Callable[["Node"], Awaitable[Any]]


@dataclass(frozen=True)
class Options:
    """What ``Node.start`` was given besides ``main``."""

    name: str | None = None
    http_server: Any = None
    wait_until_interrupted: bool = True
    #: keywords with no meaning here, logged when not None
    extras: Mapping[str, Any] = field(default_factory=dict)
    mcp_clients: Any = None
    mcp_server: Any = None


def _named(settings: Settings, name: str | None) -> Settings:
    """``Node.start(name=...)`` names a standalone node; a zone's node is who its key
    file and the roster say (``NODE``), so there another name is logged and ignored."""
    if not name or name == settings.node:
        return settings
    if settings.standalone:
        return replace(settings, node=name)
    log.warning("Node.start(name=%r) ignored: in a zone this node is %s (its key and the roster)", name, settings.node)
    return settings


def run(make_node: Callable[[Settings], Node], main: Main | None, options: Options | None = None) -> None:
    """Run a node made by ``make_node`` until SIGTERM or SIGINT; exit the process as
    :meth:`Node.start <autonomy.Node.start>` says."""
    options = options or Options()
    signal.signal(signal.SIGTERM, _exit_now)  # until the loop takes over
    try:
        settings = Settings.from_env()
    except ConfigurationError as e:
        print(f"autonomy: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, dict(settings.log_levels))
    settings = _named(settings, options.name)
    for key, value in options.extras.items():
        if value is not None:
            log.warning("Node.start(%s=...) is accepted and not used by this runtime", key)
    wait = options.wait_until_interrupted
    if settings.wait_until_interrupted is not None:
        wait = settings.wait_until_interrupted
    try:
        code = asyncio.run(_serve(make_node, settings, main, options, wait or main is None))
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM while exiting
    except ConfigurationError as e:
        log.error("%s", e)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        return
    if code:
        raise SystemExit(code)


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
                "the pod's network is gone (its infra container restarted); "
                "exiting so the container restarts into the pod"
            )
            node._exit_code = 3
            node._stopping.set()
            return


async def _serve(
    make_node: Callable[[Settings], Node], settings: Settings, main: Main | None, options: Options, wait: bool
) -> int:
    node = make_node(settings)
    node._http_app = options.http_server
    set_resolver(node._handle)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, node._stopping.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await node._open()
        await node._open_mcp(options.mcp_clients, options.mcp_server)
        if settings.pod_watchdog:
            node._spawn(_pod_watchdog(node))
        if main is not None and not wait:
            await _main_then_stop(node, main)
        elif main is not None:
            node._spawn(_run_main(node, main))
        await node._stopping.wait()
        log.info("node %s stopping", node.name)
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, lambda: None)
            except (NotImplementedError, RuntimeError):
                pass
    finally:
        await node.close()
        set_resolver(None)
    return node._exit_code


async def _main_then_stop(node: Node, main: Main) -> None:
    """Run ``main`` until it ends or the node is told to stop; raise what it raised."""

    async def call() -> Any:
        return await main(node)

    task = node._spawn(call())
    stop = asyncio.ensure_future(node._stopping.wait())
    await asyncio.wait((task, stop), return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    node._stopping.set()
    if task.done() and not task.cancelled():
        task.result()  # raises what main raised


async def _run_main(node: Node, main: Main) -> None:
    try:
        await main(node)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.error("main failed:\n%s", traceback.format_exc().rstrip())


def standalone_note(name: str, deployed_as: str) -> tuple[int, str]:
    """The level and line a node without a roster logs at start (a service's says why)."""
    if deployed_as != "service":
        return logging.INFO, f"node {name} running standalone (no zone roster)"
    return logging.WARNING, (
        f"node {name} runs standalone: `autonomy zone deploy` found no Node.start in this container's "
        "image, so it deployed it as a service (no node key, no roster, no peers, not waited for); "
        "to make it a node, call Node.start in a .py file of its images/<name>/ folder and deploy again"
    )
