"""One log line of a zone's container (:class:`LogLine`), and parsing Docker's and the
runtime's line formats and the ``--since`` times users write."""

from __future__ import annotations

import calendar
import functools
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import UsageError

__all__ = [
    "LEVELS",
    "LEVEL_ALIASES",
    "LogLine",
    "datetime_to_ns",
    "ns_to_datetime",
    "parse_docker_line",
    "parse_level",
    "parse_since",
]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LEVEL_ALIASES = {"CRITICAL": "ERROR", "FATAL": "ERROR", "WARN": "WARNING"}

# the runtime's line format: "2026-11-21T05:07:06.400Z INFO autonomy.node message"
_RUNTIME_LINE = re.compile(
    r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?Z?) (DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b ?"
)
# Docker's --timestamps prefix: RFC 3339 with up to 9 fractional digits, UTC ("Z")
_DOCKER_TS = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ?")


@dataclass(frozen=True)
class LogLine:
    """One line a container wrote, with where it came from."""

    time: datetime  # when Docker received it (UTC, microseconds)
    zone: str
    pod: str
    instance: str  # pod instance: the pod's name, or <pod>-<clone> for clones
    clone: int
    container: str
    node: str
    level: str  # DEBUG, INFO, WARNING, ERROR, or "" when the line is not in the runtime's format
    text: str  # the line as the container wrote it (no newline)

    @property
    def body(self) -> str:
        """The text without the runtime's own timestamp (``INFO autonomy.node message``)."""
        if self.level:
            m = _RUNTIME_LINE.match(self.text)
            if m:
                return self.text[len(m.group(1)) + 1 :]
        return self.text

    @property
    def message(self) -> str:
        """The text without the runtime's timestamp and level (``autonomy.node message``):
        what to show beside a level column."""
        if self.level:
            m = _RUNTIME_LINE.match(self.text)
            if m:
                return self.text[m.end() :]
        return self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "zone": self.zone,
            "pod": self.pod,
            "instance": self.instance,
            "clone": self.clone,
            "container": self.container,
            "node": self.node,
            "level": self.level,
            "text": self.text,
        }


def parse_level(text: str) -> str:
    """The level of a line in the runtime's format, else ""."""
    m = _RUNTIME_LINE.match(text)
    if not m:
        return ""
    level = m.group(2)
    return LEVEL_ALIASES.get(level, level)


@functools.lru_cache(maxsize=256)
def _epoch_seconds(prefix: bytes) -> int:
    return calendar.timegm(time.strptime(prefix.decode("ascii"), "%Y-%m-%dT%H:%M:%S"))


def parse_docker_line(raw: bytes | str) -> tuple[int, str]:
    """One line of ``docker logs --timestamps`` -> (nanoseconds since the epoch, text).

    A line without Docker's timestamp (it should not happen) gets the time it is read.
    """
    data = raw.encode() if isinstance(raw, str) else raw
    if data.endswith(b"\n"):
        data = data[:-1]
    if data.endswith(b"\r"):
        data = data[:-1]
    m = _DOCKER_TS.match(data)
    if not m:
        return time.time_ns(), data.decode("utf-8", errors="replace")
    try:
        seconds = _epoch_seconds(m.group(1))
    except ValueError:
        return time.time_ns(), data.decode("utf-8", errors="replace")
    frac = m.group(2) or b""
    ns = seconds * 1_000_000_000 + (int(frac.ljust(9, b"0")) if frac else 0)
    tz = m.group(3)
    if tz != b"Z":
        sign = 1 if tz[:1] == b"+" else -1
        ns -= sign * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60) * 1_000_000_000
    return ns, data[m.end() :].decode("utf-8", errors="replace")


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(microsecond=(ns % 1_000_000_000) // 1000)


def datetime_to_ns(t: datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return calendar.timegm(t.utctimetuple()) * 1_000_000_000 + t.microsecond * 1000


_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """``10m``, ``2h``, ``30s``, ``1h30m``, ``2d`` ago, or an ISO time (UTC unless it says)."""
    text = value.strip()
    now = now or datetime.now(UTC)
    if text and _DURATION.sub("", text) == "":
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(text))
        return now - timedelta(seconds=seconds)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--since {value!r}: expected a duration like 30s, 10m, 2h, 1h30m, 2d, "
            "or an ISO time like 2026-11-21T05:07:06"
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)
