"""Running a node as a process: ``Node.start``, signals, the pod watchdog.

The process reads its settings, opens the node, runs ``main(node)`` beside it, and
serves until SIGTERM or SIGINT; then it closes the node and exits: 0 after a clean
stop, 2 on a configuration error, 3 when the pod watchdog saw the pod's network go.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ..logs import configure as configure_logging
from ..settings import Settings
from ._shipping import set_resolver

if TYPE_CHECKING:
    from .node import Node

__all__ = ["run"]

log = logging.getLogger("autonomy.node")
Main = Callable[["Node"], Awaitable[Any]]


def run(make_node: Callable[[Settings], Node], main: Main | None) -> None:
    """Run a node made by ``make_node`` until SIGTERM or SIGINT; exit the process as
    :meth:`Node.start <autonomy.Node.start>` says."""
    signal.signal(signal.SIGTERM, _exit_now)  # until the loop takes over
    try:
        settings = Settings.from_env()
    except ConfigurationError as e:
        print(f"autonomy: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, dict(settings.log_levels))
    try:
        code = asyncio.run(_serve(make_node, settings, main))
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


async def _serve(make_node: Callable[[Settings], Node], settings: Settings, main: Main | None) -> int:
    node = make_node(settings)
    set_resolver(node._handle)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, node._stopping.set)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        await node._open()
        if settings.pod_watchdog:
            node._spawn(_pod_watchdog(node))
        if main is not None:
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


async def _run_main(node: Node, main: Main) -> None:
    try:
        await main(node)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.error("main failed:\n%s", traceback.format_exc().rstrip())
