"""The JSON API of the logs server (``autonomy zone inlet --to logs``), for scripts and agents.

Served beside the page by :class:`~autonomy_cli.logs.page.LogPageServer`::

    GET /containers
        200 {"<pod>": ["<container>", ...], ...}   the zone's pods (pod instances, like
        runner-pod-3, for cloned pods) and their containers

    GET /agents
        200 {"<pod>": {"<container>": [{"name", "model", "tools", "exposed_as",
             "conversations", "waiting_for_input", "model_calls", "prompt_tokens",
             "completion_tokens", "tool_calls", "tool_errors", "last_error"}, ...]}, ...}
             the agents of each node that said (a node that cannot say is left out),
             asked as ``zone status`` asks, at most once per ``agents_max_age`` seconds
             (every page shares the last answer); the last errors are redacted

    GET /pods/<pod>/containers/<container>?follow=&timestamps=&tail=&since=
        200 text/plain: the container's lines as it wrote them, oldest first
        follow=true      keep the response open and stream new lines (across restarts)
        timestamps=true  each line starts with its time (RFC 3339, UTC)
        tail=N           only the last N lines (tail=all: every line, the default)
        since=10m        only lines since a duration ago or an ISO time (UTC)
        404 for a pod or container the zone does not have

``<pod>`` may also be a pod's name: the lines of all its clones, interleaved by time.
Booleans take true/false, 1/0, yes/no, on/off (``?follow`` alone is true). Anything else
(an unknown parameter, a repeated one, a bad value) is a 400 whose JSON body says what
is wrong: ``{"error": "tail='x': expected a number of lines (0 or more) or all"}``.
Docker out of reach is a 503. A streamed response ends when the client goes away or the
server stops.

Library code: the request handler calls :func:`handle`; nothing here prints.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote

from ..errors import CliError, UsageError, ZoneNotFound
from .follow import follow, snapshot
from .lines import LogLine, parse_since
from .reader import Selection
from .source import ContainerInfo, LogSource

__all__ = ["AgentsByPod", "ApiError", "LineQuery", "LogApi", "format_line", "handle", "parse_query"]

#: what ``GET /agents`` answers: pod instance -> container -> its node's agents
AgentsByPod = dict[str, dict[str, list[dict[str, Any]]]]

_TRUE = ("", "1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_PARAMS = ("follow", "timestamps", "tail", "since")


class ApiError(Exception):
    """A request the API cannot answer: its HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class LineQuery:
    """What ``GET /pods/<pod>/containers/<container>`` was asked."""

    follow: bool = False
    timestamps: bool = False
    tail: int | None = None
    since: datetime | None = None


def _flag(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ApiError(400, f"{name}={value!r}: expected true or false")


def parse_query(query: str) -> LineQuery:
    """The query string of a lines request -> :class:`LineQuery`; ApiError 400 when bad."""
    try:
        raw = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=len(_PARAMS) * 2)
    except ValueError:
        raise ApiError(400, f"too many query parameters (known: {', '.join(_PARAMS)})") from None
    unknown = sorted(set(raw) - set(_PARAMS))
    if unknown:
        raise ApiError(400, f"unknown query parameter {', '.join(unknown)} (known: {', '.join(_PARAMS)})")
    for name, values in raw.items():
        if len(values) > 1:
            raise ApiError(400, f"{name} given {len(values)} times; give it once")
    one = {name: values[0] for name, values in raw.items()}
    tail: int | None = None
    t = one.get("tail", "all").strip().lower()
    if t not in ("", "all"):
        if not t.isdigit() or len(t) > 9:
            raise ApiError(400, f"tail={one['tail']!r}: expected a number of lines (0 or more) or all")
        tail = int(t)
    since: datetime | None = None
    if one.get("since", "").strip():
        try:
            since = parse_since(one["since"])
        except (UsageError, ValueError, OverflowError):
            raise ApiError(
                400, f"since={one['since']!r}: expected a duration like 30s, 10m, 2h, 1h30m, 2d, or an ISO time"
            ) from None
    return LineQuery(
        follow=_flag("follow", one.get("follow", "false")),
        timestamps=_flag("timestamps", one.get("timestamps", "false")),
        tail=tail,
        since=since,
    )


def _docker_source() -> LogSource:
    from ..docker.client import connect
    from ..docker.logsource import DockerSource

    return DockerSource(connect())


class LogApi:
    """Answers the API's requests about ``zone``'s containers (Docker through ``source``).

    ``agents`` asks the zone's nodes for their agents (``GET /agents``: 404 without it);
    it may take seconds (it starts a container), so its answer is kept ``agents_max_age``
    seconds of ``clock``, and pages asking meanwhile share it.
    """

    def __init__(
        self,
        zone: str,
        source: Callable[[], LogSource] = _docker_source,
        agents: Callable[[], AgentsByPod] | None = None,
        *,
        agents_max_age: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.zone = zone
        self._source = source
        self._ask_agents = agents
        self._agents_max_age = agents_max_age
        self._clock = clock
        self._agents_lock = threading.Lock()
        self._agents_kept: tuple[float, AgentsByPod] | None = None

    def agents(self) -> AgentsByPod:
        """The agents of the zone's nodes, by pod instance and container (ApiError 404
        when this API was given no way to ask, 503 when the nodes cannot be asked)."""
        if self._ask_agents is None:
            raise ApiError(404, "this logs server does not ask the nodes for their agents")
        with self._agents_lock:  # one ask at a time; the others wait and share its answer
            kept = self._agents_kept
            if kept is not None and self._clock() - kept[0] < self._agents_max_age:
                return kept[1]
            try:
                found = self._ask_agents()
            except CliError as e:
                raise ApiError(503, str(e)) from None
            self._agents_kept = (self._clock(), found)
            return found

    def _infos(self) -> tuple[LogSource, list[ContainerInfo]]:
        try:
            source = self._source()
            infos = source.list(self.zone)
        except CliError as e:
            raise ApiError(503, str(e)) from None
        if not infos:
            raise ApiError(404, str(ZoneNotFound(self.zone)))
        return source, infos

    def containers(self) -> dict[str, list[str]]:
        """``{pod instance: [container, ...]}``, sorted."""
        found: dict[str, set[str]] = {}
        for info in self._infos()[1]:
            found.setdefault(info.instance, set()).add(info.container)
        return {pod: sorted(cs) for pod, cs in sorted(found.items())}

    def lines(self, pod: str, container: str, q: LineQuery, stop: threading.Event) -> Iterator[LogLine]:
        """The lines of ``pod``/``container`` (ApiError 404 when the zone has no such
        container): what is there now, or with ``q.follow`` an endless iterator that ends
        when ``stop`` is set."""
        source, infos = self._infos()
        select = Selection([pod], [container])
        if not any(select(i) for i in infos):
            pods = sorted({i.instance for i in infos} | {i.pod for i in infos})
            have = sorted({i.container for i in infos if pod in (i.pod, i.instance)})
            if not have:
                raise ApiError(404, f"zone {self.zone!r} has no pod {pod!r} (pods: {', '.join(pods)})")
            raise ApiError(404, f"pod {pod!r} has no container {container!r} (containers: {', '.join(have)})")
        pods, containers = [pod], [container]
        try:
            if not q.follow:
                found = snapshot(self.zone, pods=pods, containers=containers, since=q.since, tail=q.tail, source=source)
                return iter(found)
            return follow(
                self.zone, pods=pods, containers=containers, since=q.since, tail=q.tail, source=source, stop=stop
            ).start()
        except UsageError as e:
            raise ApiError(404, str(e)) from None
        except CliError as e:
            raise ApiError(503, str(e)) from None


def format_line(line: LogLine, timestamps: bool) -> str:
    """A line as the container wrote it, after its time (RFC 3339, UTC) with ``timestamps``."""
    return f"{line.time.strftime('%Y-%m-%dT%H:%M:%S.%fZ')} {line.text}" if timestamps else line.text


def _send_json(h: BaseHTTPRequestHandler, status: int, value: object) -> None:
    body = (json.dumps(value, indent=2) + "\n").encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.send_header("Cache-Control", "no-store")
    h.end_headers()
    h.wfile.write(body)


def _gone(sock: socket.socket) -> bool:
    """The client closed its end (readable, and nothing to read)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _watch(sock: socket.socket, done: threading.Event, server_stopping: threading.Event) -> None:
    """Set ``done`` when the client goes away or the server stops (checked twice a second)."""
    while not done.wait(0.5):
        if server_stopping.is_set() or _gone(sock):
            done.set()


def handle(h: BaseHTTPRequestHandler, api: LogApi, path: str, query: str, stopping: threading.Event) -> bool:
    """Answer ``GET path?query`` when it is an API route (True), else leave it (False)."""
    parts = [unquote(p) for p in path.strip("/").split("/")]
    try:
        if parts == ["containers"]:
            _send_json(h, 200, api.containers())
            return True
        if parts == ["agents"]:
            _send_json(h, 200, api.agents())
            return True
        if len(parts) != 4 or parts[0] != "pods" or parts[2] != "containers":
            return False
        q = parse_query(query)
        done = threading.Event()
        lines = api.lines(parts[1], parts[3], q, done)
    except ApiError as e:
        _send_json(h, e.status, {"error": e.message})
        return True
    try:
        if not q.follow:
            body = "".join(format_line(line, q.timestamps) + "\n" for line in lines).encode()
            h.send_response(200)
            h.send_header("Content-Type", "text/plain; charset=utf-8")
            h.send_header("Content-Length", str(len(body)))
            h.send_header("Cache-Control", "no-store")
            h.end_headers()
            h.wfile.write(body)
            return True
        h.send_response(200)
        h.send_header("Content-Type", "text/plain; charset=utf-8")
        h.send_header("Cache-Control", "no-store")
        h.send_header("Connection", "close")  # no length: the stream ends with the connection
        h.end_headers()
        h.close_connection = True
        h.wfile.flush()
        threading.Thread(target=_watch, args=(h.connection, done, stopping), daemon=True).start()
        for line in lines:
            h.wfile.write((format_line(line, q.timestamps) + "\n").encode())
            h.wfile.flush()
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, OSError):
        pass
    finally:
        done.set()
        close = getattr(lines, "close", None)
        if callable(close):
            close()
    return True
