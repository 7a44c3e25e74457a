"""The logs page of ``autonomy zone inlet --to logs``: one HTML page and a stream of lines.

Library code (no printing). A :class:`LogPageServer` listens on 127.0.0.1 only (standard
library ``ThreadingHTTPServer``, no dependency) and serves::

    GET /          the page (page.html): inline CSS and JS, no external resource
    GET /events    Server-Sent Events: batches of lines as JSON arrays, with ids, so a
                   browser that reconnects (Last-Event-ID) gets what it missed, if kept
    GET /health    {"zone": ..., "lines": n, "clients": n, "dropped": n}
    GET /containers, GET /pods/<pod>/containers/<container>?follow=&timestamps=&tail=&since=
                   the JSON API for scripts and agents (:mod:`.api`), when given one

One thread follows the zone (an iterator of :class:`~autonomy_cli.logs.lines.LogLine`, e.g.
:func:`~autonomy_cli.logs.follow.follow`) and publishes each line to a :class:`Hub`. The hub
keeps the last ``backlog`` lines for pages that open later, and one bounded queue per
connected page; a page that reads too slowly loses its oldest lines (counted, and told).
Nothing in the server grows without bound.

The page keeps the last 5,000 lines, adds new ones once per animation frame (so a worker
logging 1,000 lines a second does not freeze it), and filters by pod, container, level
and text on the client side.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import CliError
from .api import LogApi
from .api import handle as handle_api
from .lines import LogLine

__all__ = ["Hub", "LogPageServer", "encode_line", "free_port", "page"]


@functools.cache
def page() -> str:
    """The page (``page.html``: inline CSS and JS), package data read once."""
    return (importlib.resources.files("autonomy_cli.logs") / "page.html").read_text(encoding="utf-8")


PAGE_LINES = 5000


def encode_line(line: LogLine) -> dict[str, Any]:
    """What the page gets of a line (short keys: a busy zone sends many)."""
    return {
        "t": line.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "p": line.pod,
        "i": line.instance,
        "k": line.clone,
        "c": line.container,
        "n": line.node,
        "l": line.level,
        "x": line.message,
    }


class _Client:
    def __init__(self, size: int) -> None:
        self.queue: deque[tuple[int, str]] = deque(maxlen=size)
        self.dropped = 0
        self.reported = 0


class Hub:
    """Fans lines out to connected pages; bounded everywhere.

    ``publish`` encodes a line once; every client gets ``(id, json)``. A client's queue
    holds at most ``client_queue`` lines (oldest dropped first, counted in its
    ``dropped``); the backlog holds the last ``backlog`` lines for pages that connect later.
    """

    def __init__(self, backlog: int = PAGE_LINES, client_queue: int = PAGE_LINES) -> None:
        self.backlog: deque[tuple[int, str]] = deque(maxlen=backlog)
        self.client_queue = client_queue
        self.clients: set[_Client] = set()
        self.cond = threading.Condition()
        self.seq = 0
        self.published = 0
        self.closed = False

    def publish(self, line: LogLine) -> None:
        data = json.dumps(encode_line(line), separators=(",", ":"), ensure_ascii=False)
        with self.cond:
            self.seq += 1
            item = (self.seq, data)
            self.backlog.append(item)
            self.published += 1
            for c in self.clients:
                if len(c.queue) == c.queue.maxlen:
                    c.dropped += 1
                c.queue.append(item)
            self.cond.notify_all()

    def subscribe(self, last_id: int | None = None) -> _Client:
        """A new client; its queue starts with the backlog (after ``last_id`` if given)."""
        c = _Client(self.client_queue)
        with self.cond:
            for item in self.backlog:
                if last_id is None or item[0] > last_id:
                    c.queue.append(item)
            self.clients.add(c)
        return c

    def unsubscribe(self, c: _Client) -> None:
        with self.cond:
            self.clients.discard(c)

    def wait(self, c: _Client, timeout: float) -> list[tuple[int, str]]:
        """Everything queued for ``c`` (waits up to ``timeout`` s for something)."""
        with self.cond:
            if not c.queue and not self.closed:
                self.cond.wait(timeout)
            items = list(c.queue)
            c.queue.clear()
            return items

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # no access log on stderr
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path, _, query = self.path.partition("?")
        owner = self.server.owner
        if owner.api is not None and handle_api(self, owner.api, path, query, owner.stopping):
            return
        if path == "/":
            page_text = (
                page().replace("__ZONE__", json.dumps(owner.zone)).replace("__MAXLINES__", str(owner.page_lines))
            )
            self._send(200, page_text.encode(), "text/html; charset=utf-8")
        elif path == "/events":
            self._events()
        elif path == "/health":
            body = json.dumps(owner.health()).encode()
            self._send(200, body, "application/json")
        elif path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")
        else:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    def _events(self) -> None:
        owner = self.server.owner
        hub = owner.hub
        last: int | None = None
        header = self.headers.get("Last-Event-ID")
        if header and header.strip().isdigit():
            last = int(header.strip())
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        self.close_connection = True  # no Content-Length: the stream ends the connection
        client = hub.subscribe(last)
        try:
            self._write(f"retry: 1000\nevent: hello\ndata: {json.dumps(owner.health())}\n\n")
            last_beat = time.monotonic()
            while not hub.closed and not owner.stopping.is_set():
                items = hub.wait(client, timeout=owner.heartbeat)
                if items:
                    data = ",".join(d for _, d in items)
                    parts = [f"event: lines\nid: {items[-1][0]:d}\ndata: [{data}]\n\n"]
                    if client.dropped != client.reported:
                        parts.append(f"event: dropped\ndata: {client.dropped}\n\n")
                        client.reported = client.dropped
                    self._write("".join(parts))
                    time.sleep(owner.batch_interval)  # let a batch gather: fewer, larger events
                elif time.monotonic() - last_beat >= owner.heartbeat:
                    self._write(f"event: status\ndata: {json.dumps(owner.health())}\n\n")
                    last_beat = time.monotonic()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, OSError):
            pass
        finally:
            hub.unsubscribe(client)

    def _write(self, text: str) -> None:
        self.wfile.write(text.encode("utf-8"))
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LogPageServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # a page closed mid-write
        pass


class LogPageServer:
    """Serves the logs page of a zone on ``http://127.0.0.1:<port>`` (127.0.0.1 only).

    ``lines`` is called once, with a stop event, and must return an iterator of
    :class:`LogLine` that ends soon after the event is set (e.g. ``autonomy_cli.logs.follow.follow``).
    """

    def __init__(
        self,
        zone: str,
        lines: Callable[[threading.Event], Iterator[LogLine]],
        port: int = 32101,
        *,
        backlog: int = PAGE_LINES,
        client_queue: int = PAGE_LINES,
        page_lines: int = PAGE_LINES,
        heartbeat: float = 5.0,
        batch_interval: float = 0.05,
        api: LogApi | None = None,
    ) -> None:
        self.zone = zone
        self.api = api
        self.port = port
        self.hub = Hub(backlog=backlog, client_queue=client_queue)
        self.page_lines = page_lines
        self.heartbeat = heartbeat
        self.batch_interval = batch_interval
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self._lines = lines
        self._iterator: Iterator[LogLine] | None = None
        self._httpd: _Server | None = None
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> dict[str, Any]:
        it = self._iterator
        return {
            "zone": self.zone,
            "lines": self.hub.published,
            "clients": len(self.hub.clients),
            "dropped": int(getattr(it, "dropped", 0) or 0),
            "error": str(self.error) if self.error else None,
        }

    def start(self) -> None:
        """Bind the port and start serving and following (in threads)."""
        try:
            httpd = _Server(("127.0.0.1", self.port), _Handler)
        except OSError as e:
            from ..docker.ports import port_holder

            holder = port_holder(self.port) if e.errno in (98, 48) else str(e.strerror or e)
            raise CliError(
                f"cannot serve on 127.0.0.1:{self.port}: held by {holder}; choose another with --port"
            ) from None
        httpd.owner = self
        self.port = httpd.server_address[1]
        self._httpd = httpd
        try:
            self._iterator = self._lines(self.stopping)
            start = getattr(self._iterator, "start", None)
            if callable(start):
                start()  # a follower that can fail early (no such zone) fails here
        except BaseException:
            self._close_httpd()
            raise
        t = threading.Thread(target=self._follow, name="logpage-follow", daemon=True)
        t.start()
        self._threads.append(t)
        s = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.25}, name="logpage-http", daemon=True
        )
        s.start()
        self._threads.append(s)

    def _follow(self) -> None:
        try:
            assert self._iterator is not None
            for line in self._iterator:
                self.hub.publish(line)
                if self.stopping.is_set():
                    break
        except BaseException as e:  # noqa: BLE001 - reported by wait() / health
            self.error = e
        finally:
            self.stopping.set()

    def wait(self, timeout: float | None = None) -> None:
        """Block until :meth:`close` or until the follower fails (its error is raised)."""
        self.stopping.wait(timeout)
        if self.error is not None and not isinstance(self.error, (KeyboardInterrupt, GeneratorExit)):
            err = self.error
            if isinstance(err, CliError):
                raise err
            raise CliError(f"following the logs failed: {type(err).__name__}: {err}")

    def _close_httpd(self) -> None:
        if self._httpd is not None:
            try:
                self._httpd.server_close()
            except OSError:
                pass

    def close(self) -> None:
        self.stopping.set()
        self.hub.close()
        it = self._iterator
        close = getattr(it, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                pass
        if self._httpd is not None:
            self._httpd.shutdown()
            self._close_httpd()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
