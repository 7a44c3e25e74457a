"""Log lines of user code and of the runtime: ``time LEVEL logger message``.

``info``, ``warning``, ``error`` and ``debug`` write through the ``node`` logger, the
runtime itself through ``autonomy.*`` loggers. Lines go to standard output, one per
call, flushed at once so ``docker logs`` sees them as they happen.
"""

from __future__ import annotations

import logging
import sys
import time

__all__ = ["info", "warning", "error", "debug", "configure", "log"]

log = logging.getLogger("node")
_configured = False


class _Formatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        t = time.gmtime(record.created)
        return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(record.msecs):03d}Z"


def configure(level: str = "INFO") -> None:
    """Send log records to stdout in the zone's format (idempotent)."""
    global _configured
    root = logging.getLogger()
    if not _configured:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        _configured = True
    root.setLevel(level)
    try:
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    except (AttributeError, ValueError):
        pass


def _text(args: tuple[object, ...]) -> str:
    return " ".join(str(a) for a in args)


def info(*args: object) -> None:
    """Log an INFO line from user code."""
    if not _configured:
        configure()
    log.info(_text(args))


def warning(*args: object) -> None:
    """Log a WARNING line from user code."""
    if not _configured:
        configure()
    log.warning(_text(args))


def error(*args: object) -> None:
    """Log an ERROR line from user code."""
    if not _configured:
        configure()
    log.error(_text(args))


def debug(*args: object) -> None:
    """Log a DEBUG line from user code (shown when LOG_LEVEL=DEBUG)."""
    if not _configured:
        configure()
    log.debug(_text(args))
