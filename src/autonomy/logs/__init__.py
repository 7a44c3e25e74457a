"""Log lines of user code and of the runtime: ``time LEVEL logger message``.

``info``, ``warning``, ``error`` and ``debug`` write through the ``node`` logger, the
runtime itself through ``autonomy.*`` loggers. Lines go to standard output, one per
call, flushed at once so ``docker logs`` sees them as they happen.

Levels, as the SDK sets them: ``AUTONOMY_LOG_LEVEL="INFO,agent=DEBUG,model=DEBUG"`` is a
default level then ``logger=LEVEL`` pairs (``LOG_LEVEL`` still sets the default when
``AUTONOMY_LOG_LEVEL`` does not); :func:`set_log_levels` takes the same text at run
time, :func:`set_log_level` one level (the default, or one logger's),
:func:`get_log_levels` the levels in force, and :func:`get_logger` a named logger that
writes in this format.
"""

from __future__ import annotations

import logging
import sys
import time

__all__ = [
    "info",
    "warning",
    "error",
    "debug",
    "configure",
    "log",
    "get_logger",
    "set_log_level",
    "set_log_levels",
    "get_log_levels",
    "parse_log_levels",
    "LEVELS",
]

#: the level names a spec may use (``WARN`` is read as ``WARNING``)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

log = logging.getLogger("node")
_configured = False


class _Formatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        t = time.gmtime(record.created)
        return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(record.msecs):03d}Z"


def _level(text: str, where: str) -> str:
    level = text.strip().upper()
    level = "WARNING" if level == "WARN" else level
    if level not in LEVELS:
        raise ValueError(f"{where}: expected one of {', '.join(LEVELS)}, got {text.strip()!r}")
    return level


def parse_log_levels(spec: str) -> tuple[str | None, dict[str, str]]:
    """``"INFO,agent=DEBUG"`` -> ``("INFO", {"agent": "DEBUG"})``: the default level (None
    when the spec names none) and each logger's. ValueError names what is wrong."""
    default: str | None = None
    loggers: dict[str, str] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        if not eq:
            default = _level(name, "log level")
        elif not name.strip():
            raise ValueError(f"log level {part.strip()!r}: the logger's name is missing")
        else:
            loggers[name.strip()] = _level(value, f"log level of {name.strip()!r}")
    return default, loggers


def set_log_levels(spec: str) -> None:
    """Apply a spec like ``AUTONOMY_LOG_LEVEL``'s: ``"INFO,agent=DEBUG,model=DEBUG"``."""
    default, loggers = parse_log_levels(spec)
    if not _configured:
        configure(default or "INFO")
    elif default is not None:
        logging.getLogger().setLevel(default)
    for name, level in loggers.items():
        logging.getLogger(name).setLevel(level)


def set_log_level(level: str, logger_level: str | None = None) -> None:
    """``set_log_level("DEBUG")`` sets the default level; ``set_log_level("agent",
    "DEBUG")`` (the SDK's form) one logger's."""
    if logger_level is None:
        set_log_levels(_level(level, "log level"))
    else:
        set_log_levels(f"{level}={logger_level}")


def get_log_levels() -> dict[str, str]:
    """The levels in force: ``{"default": "INFO", "agent": "DEBUG", ...}``: the default
    level, then every logger that has a level of its own (what ``GET /logs/levels``
    shows)."""
    levels = {"default": logging.getLevelName(logging.getLogger().level)}
    for name, logger in sorted(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logging.getLevelName(logger.level)
    return levels


def get_logger(name: str) -> logging.Logger:
    """The logger ``name``, writing lines in this format (set up on first use)."""
    if not _configured:
        configure()
    return logging.getLogger(name)


def configure(level: str = "INFO", loggers: dict[str, str] | None = None) -> None:
    """Send log records to stdout in the zone's format (idempotent); ``loggers`` sets
    named loggers' own levels."""
    global _configured
    root = logging.getLogger()
    if not _configured:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
        _configured = True
    root.setLevel(level)
    for name, value in (loggers or {}).items():
        logging.getLogger(name).setLevel(value)
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
    """Log a DEBUG line from user code (shown when the ``node`` logger's level is DEBUG)."""
    if not _configured:
        configure()
    log.debug(_text(args))
