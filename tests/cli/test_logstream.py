"""autonomy_cli.logs (lines, merge, follow, and the logs page's hub and server), without Docker.

The follower reads containers through a LogSource; here a fake one hands out lines with
Docker's timestamps, keeps "running" streams open, ends them on a "restart", and replaces
containers on a "redeploy".
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from autonomy_cli.commands.logs import INLETS, format_plain, format_rich, parse_to, register
from autonomy_cli.errors import CliError, UsageError
from autonomy_cli.logs.follow import Follower, snapshot
from autonomy_cli.logs.lines import LogLine, parse_docker_line, parse_level, parse_since
from autonomy_cli.logs.merge import Merger
from autonomy_cli.logs.page import Hub, LogPageServer, free_port
from autonomy_cli.logs.reader import split_lines as _split_lines
from autonomy_cli.logs.source import ContainerInfo
from clirun import LABEL

T0 = datetime(2026, 11, 21, 5, 7, 6, tzinfo=UTC)
T0_NS = int(T0.timestamp()) * 1_000_000_000


def ts(ms: float, extra_ns: int = 0) -> str:
    """Docker's timestamp of T0 + ms milliseconds."""
    ns = T0_NS + int(ms * 1_000_000) + extra_ns
    sec, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(sec, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def docker_line(ms: float, text: str, extra_ns: int = 0) -> bytes:
    return f"{ts(ms, extra_ns)} {text}\n".encode()


def line(ms: float, text: str = "x", pod: str = "p", level: str = "") -> LogLine:
    return LogLine(T0 + timedelta(milliseconds=ms), "z", pod, pod, 0, "main", f"n-{pod}", level, text)


# --------------------------------------------------------------------------- parsing


def test_docker_timestamps_are_parsed_to_the_nanosecond_and_stripped():
    ns, text = parse_docker_line(b"2026-11-21T05:07:06.400123456Z hello world\n")
    assert ns == T0_NS + 400_123_456
    assert text == "hello world"
    assert parse_docker_line("2026-11-21T05:07:06.4Z short fraction\r\n") == (T0_NS + 400_000_000, "short fraction")
    assert parse_docker_line(b"2026-11-21T05:07:06Z no fraction") == (T0_NS, "no fraction")
    assert parse_docker_line(b"2026-11-21T07:07:06.5+02:00 offset")[0] == T0_NS + 500_000_000
    assert parse_docker_line(b"2026-11-21T05:07:06.000000001Z \xff bad utf-8")[1] == "\ufffd bad utf-8"
    assert parse_docker_line(b"2026-11-21T05:07:06.000000001Z ")[1] == ""
    before = time.time_ns()
    ns, text = parse_docker_line(b"no timestamp at all")
    assert text == "no timestamp at all" and ns >= before


@pytest.mark.parametrize(
    "text, level",
    [
        ("2026-11-21T05:07:06.400Z INFO autonomy.node message", "INFO"),
        ("2026-11-21T05:07:06.400Z DEBUG node x", "DEBUG"),
        ("2026-11-21T05:07:06.400Z WARNING node careful", "WARNING"),
        ("2026-11-21T05:07:06.400Z ERROR node broken", "ERROR"),
        ("2026-11-21T05:07:06.400Z CRITICAL node very broken", "ERROR"),
        ("INFO looks like a level but has no time", ""),
        ("Count: 2", ""),
        ("2026-11-21T05:07:06.400Z INFORMATION not a level", ""),
        ("", ""),
    ],
)
def test_levels_come_from_the_runtime_line_format(text, level):
    assert parse_level(text) == level


def test_body_and_message_drop_the_runtime_timestamp():
    ln = LogLine(T0, "z", "p", "p", 0, "c", "n", "INFO", "2026-11-21T05:07:06.400Z INFO autonomy.node started")
    assert ln.body == "INFO autonomy.node started"
    assert ln.message == "autonomy.node started"
    plain = LogLine(T0, "z", "p", "p", 0, "c", "n", "", "Count: 2")
    assert plain.body == plain.message == "Count: 2"
    assert ln.to_dict()["time"] == "2026-11-21T05:07:06.000000Z"


def test_since_takes_durations_and_iso_times():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_since("10m", now) == now - timedelta(minutes=10)
    assert parse_since("2h", now) == now - timedelta(hours=2)
    assert parse_since("30s", now) == now - timedelta(seconds=30)
    assert parse_since("1h30m", now) == now - timedelta(minutes=90)
    assert parse_since("2d", now) == now - timedelta(days=2)
    assert parse_since("2026-11-21T05:07:06Z") == T0
    assert parse_since("2026-11-21T05:07:06") == T0  # naive: UTC, as the lines show
    assert parse_since("2026-11-21T07:07:06+02:00") == T0
    for bad in ("", "ten minutes", "10x", "m"):
        with pytest.raises(UsageError, match="--since"):
            parse_since(bad, now)


def test_chunks_are_split_into_whole_lines():
    chunks = [b"a\nb", b"c\n", b"", b"d", b"e\nf\n", b"tail"]
    assert list(_split_lines(chunks)) == [b"a", b"bc", b"de", b"f", b"tail"]


# --------------------------------------------------------------------------- merger


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_merger_interleaves_by_timestamp_within_its_window():
    clock = Clock()
    m = Merger(window=0.2, clock=clock)
    m.put(line(30, "b1", "b"))
    m.put(line(10, "a1", "a"))
    clock.now += 0.05
    m.put(line(20, "a2", "a"))  # read later, but earlier in time than b1
    assert m.take() == []  # nothing has waited its window yet
    clock.now += 0.16  # a1 and b1 have waited 0.21 s, a2 0.16 s
    assert [x.text for x in m.take()] == ["a1"]  # b1 stays behind the earlier a2
    clock.now += 0.1
    assert [x.text for x in m.take()] == ["a2", "b1"]


def test_merger_releases_in_time_order():
    clock = Clock()
    m = Merger(window=0.2, clock=clock)
    for ms, text in [(50, "e"), (10, "a"), (40, "d"), (20, "b"), (30, "c")]:
        m.put(line(ms, text))
    clock.now += 0.3
    assert [x.text for x in m.take()] == ["a", "b", "c", "d", "e"]
    assert len(m) == 0


def test_merger_holds_a_line_until_its_window_passed():
    clock = Clock()
    m = Merger(window=0.2, clock=clock)
    m.put(line(10, "old"))
    clock.now += 0.15
    m.put(line(5, "earlier but late"))
    clock.now += 0.1  # "old" waited 0.25 s, the late one 0.1 s: the earlier one is held...
    assert m.take() == []  # ...and keeps "old" behind it, so the order stays right
    clock.now += 0.15
    assert [x.text for x in m.take()] == ["earlier but late", "old"]


def test_merger_take_waits_for_lines_from_another_thread():
    m = Merger(window=0.01)
    threading.Timer(0.05, lambda: m.put(line(1, "late"))).start()
    t = time.monotonic()
    out = m.take(timeout=2)
    assert [x.text for x in out] == ["late"]
    assert time.monotonic() - t < 1.5
    assert m.take(timeout=0.05) == []


def test_merger_is_bounded_and_drops_the_oldest():
    clock = Clock()
    m = Merger(window=0.0, capacity=5, clock=clock)
    for i in range(12):
        m.put(line(i, f"l{i}"))
    assert len(m) == 5
    assert m.dropped == 7
    assert [x.text for x in m.take()] == ["l7", "l8", "l9", "l10", "l11"]
    assert m.drain() == []


# --------------------------------------------------------------------------- follower


class FakeStream:
    END = object()

    def __init__(self, lines: list[bytes], follow: bool) -> None:
        self.q: queue.Queue = queue.Queue()
        for ln in lines:
            self.q.put(ln)
        if not follow:
            self.q.put(self.END)
        self.closed = False

    def push(self, data: bytes) -> None:
        self.q.put(data)

    def end(self) -> None:
        self.q.put(self.END)

    def __iter__(self):
        while True:
            item = self.q.get()
            if item is self.END:
                return
            yield item

    def close(self) -> None:
        self.closed = True
        self.q.put(self.END)


class FakeSource:
    """Containers of one zone with docker-like logs: `since` in whole seconds, `tail`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.infos: dict[str, ContainerInfo] = {}
        self.logs: dict[str, list[bytes]] = {}
        self.streams: dict[str, list[FakeStream]] = {}
        self.opened: list[tuple[str, int | None, int | None]] = []

    def add(self, cid: str, name: str, pod: str, container: str = "main", clone: int = 0, running: bool = True) -> None:
        labels = {
            LABEL + "zone": "z",
            LABEL + "pod": pod,
            LABEL + "instance": pod if clone == 0 else f"{pod}-{clone}",
            LABEL + "clone": str(clone),
            LABEL + "container": container,
            LABEL + "node": f"node-{name}",
            LABEL + "role": "app",
        }
        with self.lock:
            self.infos[cid] = ContainerInfo(cid, name, running, labels)
            self.logs.setdefault(cid, [])

    def remove(self, cid: str) -> None:
        with self.lock:
            self.infos.pop(cid)
            for s in self.streams.pop(cid, []):
                s.end()

    def write(self, cid: str, *lines: bytes) -> None:
        with self.lock:
            self.logs[cid].extend(lines)
            for s in self.streams.get(cid, []):
                for ln in lines:
                    s.push(ln)

    def restart(self, cid: str) -> None:
        """The container stops (its follow streams end) and runs again."""
        with self.lock:
            for s in self.streams.pop(cid, []):
                s.end()

    def list(self, zone: str) -> list[ContainerInfo]:
        assert zone == "z"
        with self.lock:
            return list(self.infos.values())

    def open(self, info, *, since, tail, follow):
        with self.lock:
            self.opened.append((info.id, since, tail))
            lines = [
                ln for ln in self.logs[info.id] if since is None or parse_docker_line(ln)[0] >= since * 1_000_000_000
            ]
            if tail is not None:
                lines = lines[-tail:] if tail else []
            s = FakeStream(lines, follow=follow and info.running)
            if follow and info.running:
                self.streams.setdefault(info.id, []).append(s)
            return s


def collect(f: Follower, n: int, timeout: float = 5.0) -> list[LogLine]:
    """The next n lines of a follower (fails after timeout)."""
    out: list[LogLine] = []
    result: queue.Queue = queue.Queue()

    def run():
        try:
            for ln in f:
                result.put(ln)
        except BaseException as e:  # noqa: BLE001
            result.put(e)

    if not getattr(f, "_collector", None):
        f._collector = threading.Thread(target=run, daemon=True)  # type: ignore[attr-defined]
        f._q = result  # type: ignore[attr-defined]
        f._collector.start()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while len(out) < n:
        try:
            item = f._q.get(timeout=max(0.01, deadline - time.monotonic()))  # type: ignore[attr-defined]
        except queue.Empty:
            raise AssertionError(f"got {len(out)} of {n} lines: {[x.text for x in out]}") from None
        if isinstance(item, BaseException):
            raise item
        out.append(item)
    return out


def quiet(f: Follower, seconds: float = 0.3) -> list[LogLine]:
    """Whatever else the follower yields within `seconds` (expected: nothing)."""
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            out.append(f._q.get(timeout=0.02))  # type: ignore[attr-defined]
        except queue.Empty:
            pass
    return out


def follower(source: FakeSource, **kw) -> Follower:
    kw.setdefault("window", 0.05)
    kw.setdefault("poll_interval", 0.05)
    return Follower(source, "z", **kw)


def two_pods() -> FakeSource:
    s = FakeSource()
    s.add("a1", "z_alpha--main_1", "alpha")
    s.add("b1", "z_beta--main_1", "beta", container="side")
    s.write(
        "a1",
        docker_line(0, "alpha 0"),
        docker_line(20, "2026-11-21T05:07:06.020Z WARNING node alpha 1"),
        docker_line(40, "alpha 2"),
    )
    s.write("b1", docker_line(10, "beta 0"), docker_line(30, "2026-11-21T05:07:06.030Z ERROR node beta 1"))
    return s


def test_follower_tags_and_interleaves_the_lines_of_every_container():
    f = follower(two_pods())
    try:
        got = collect(f, 5)
        assert [x.text.split()[-2:] for x in got] == [
            ["alpha", "0"],
            ["beta", "0"],
            ["alpha", "1"],
            ["beta", "1"],
            ["alpha", "2"],
        ]
        b = got[1]
        assert (b.zone, b.pod, b.instance, b.clone, b.container, b.node) == (
            "z",
            "beta",
            "beta",
            0,
            "side",
            "node-z_beta--main_1",
        )
        assert [x.level for x in got] == ["", "", "WARNING", "ERROR", ""]
        assert got[0].time == T0 and got[4].time == T0 + timedelta(milliseconds=40)
    finally:
        f.close()


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({"pods": ["alpha"]}, ["alpha 0", "alpha 1", "alpha 2"]),
        ({"containers": ["side"]}, ["beta 0", "beta 1"]),
        ({"levels": ["warning", "ERROR"]}, ["alpha 1", "beta 1"]),
        ({"levels": [""]}, ["alpha 0", "beta 0", "alpha 2"]),
        ({"since": T0 + timedelta(milliseconds=25)}, ["beta 1", "alpha 2"]),
        ({"pods": ["alpha"], "tail": 1}, ["alpha 2"]),
    ],
)
def test_follower_filters(kw, expected):
    f = follower(two_pods(), **kw)
    try:
        got = collect(f, len(expected))
        assert [" ".join(x.text.split()[-2:]) for x in got] == expected
        assert quiet(f, 0.2) == []
    finally:
        f.close()


def test_snapshot_filters_and_interleaves_without_following():
    s = two_pods()
    got = snapshot("z", source=s)
    assert [" ".join(x.text.split()[-2:]) for x in got] == ["alpha 0", "beta 0", "alpha 1", "beta 1", "alpha 2"]
    assert [x.pod for x in snapshot("z", source=s, pods=["beta"])] == ["beta", "beta"]
    assert len(snapshot("z", source=s, tail=1)) == 2
    with pytest.raises(UsageError, match="no pod 'gamma'"):
        snapshot("z", source=s, pods=["gamma"])
    with pytest.raises(CliError, match="no containers"):
        snapshot("z", source=FakeSource())


def test_follower_reports_a_missing_zone_or_an_unknown_pod_or_level_at_once():
    with pytest.raises(CliError, match="zone 'z' has no containers here"):
        next(follower(FakeSource()))
    with pytest.raises(UsageError, match=r"no pod 'gamma' \(pods: alpha, beta\)"):
        next(follower(two_pods(), pods=["gamma"]))
    with pytest.raises(UsageError, match="no container 'nope'"):
        follower(two_pods(), containers=["nope"]).start()
    with pytest.raises(UsageError, match="level 'LOUD'"):
        follower(two_pods(), levels=["LOUD"])
    # a follower that may wait for its zone (the dev loop) does not complain
    f = follower(FakeSource(), must_exist=False)
    f.start()
    f.close()


def test_follower_keeps_following_across_restarts_without_repeating_lines():
    s = FakeSource()
    s.add("a1", "z_alpha--main_1", "alpha")
    # two lines with the very same timestamp: both must come, once each
    s.write("a1", docker_line(0, "one"), docker_line(100, "two"), docker_line(100, "two again"))
    f = follower(s)
    try:
        assert [x.text for x in collect(f, 3)] == ["one", "two", "two again"]
        s.restart("a1")  # the stream ends; the container runs again and writes more
        time.sleep(0.15)
        s.write("a1", docker_line(200, "three"), docker_line(300, "four"))
        assert [x.text for x in collect(f, 2)] == ["three", "four"]
        assert quiet(f) == []
        # the reader was reopened from the second of the last line seen, not from the start
        assert len([o for o in s.opened if o[0] == "a1"]) >= 2
        assert all(o[1] == T0_NS // 1_000_000_000 for o in s.opened[1:])
    finally:
        f.close()


def test_follower_picks_up_recreated_and_new_containers():
    s = FakeSource()
    s.add("a1", "z_alpha--main_1", "alpha")
    s.write("a1", docker_line(0, "old container"))
    f = follower(s)
    try:
        assert [x.text for x in collect(f, 1)] == ["old container"]
        # a redeploy: the container is replaced by a new one of the same name
        s.remove("a1")
        s.add("a2", "z_alpha--main_1", "alpha")
        s.write("a2", docker_line(1000, "new container"))
        # and a pod that was not there before
        s.add("g1", "z_gamma--main_1", "gamma")
        s.write("g1", docker_line(1100, "gamma is new"))
        assert [x.text for x in collect(f, 2)] == ["new container", "gamma is new"]
        s.write("a2", docker_line(1200, "still followed"))
        assert [x.text for x in collect(f, 1)] == ["still followed"]
        assert quiet(f) == []
    finally:
        f.close()


def test_a_stopped_container_is_read_once():
    s = FakeSource()
    s.add("a1", "z_alpha--main_1", "alpha", running=False)
    s.write("a1", docker_line(0, "last words"))
    f = follower(s)
    try:
        assert [x.text for x in collect(f, 1)] == ["last words"]
        assert quiet(f, 0.3) == []
        assert len(s.opened) == 1
    finally:
        f.close()


def test_stop_event_ends_the_iteration_and_closes_the_streams():
    s = two_pods()
    stop = threading.Event()
    f = follower(s, stop=stop)
    collect(f, 5)
    stop.set()
    f._collector.join(2)  # type: ignore[attr-defined]
    assert not f._collector.is_alive()  # type: ignore[attr-defined]
    assert all(st.closed for streams in s.streams.values() for st in streams)


def test_a_slow_consumer_loses_the_oldest_lines_and_memory_stays_bounded():
    s = FakeSource()
    s.add("a1", "z_alpha--main_1", "alpha")
    f = follower(s, capacity=100)
    it = iter(f)
    f.start()  # readers run; nobody consumes
    s.write("a1", *[docker_line(i, f"line {i}") for i in range(1000)])
    deadline = time.monotonic() + 5
    while f.dropped < 900 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert f.dropped == 900
    assert len(f.merger) == 100
    assert next(it).text == "line 900"  # the newest lines are what is left
    f.close()


# --------------------------------------------------------------------------- the logs page


def test_hub_queues_are_bounded_and_reconnects_resume():
    hub = Hub(backlog=5, client_queue=3)
    early = hub.subscribe()
    for i in range(8):
        hub.publish(line(i, f"l{i}"))
    got = hub.wait(early, timeout=0)
    assert [json.loads(d)["x"] for _, d in got] == ["l5", "l6", "l7"]
    assert early.dropped == 5
    hub.unsubscribe(early)
    assert early not in hub.clients
    assert len(hub.backlog) == 5
    hub = Hub(backlog=5, client_queue=10)
    for i in range(8):
        hub.publish(line(i, f"l{i}"))
    late = hub.subscribe()  # a new page starts with the backlog
    assert [i for i, _ in hub.wait(late, timeout=0)] == [4, 5, 6, 7, 8]
    again = hub.subscribe(last_id=6)  # an EventSource reconnecting with Last-Event-ID
    assert [i for i, _ in hub.wait(again, timeout=0)] == [7, 8]


def _fake_lines(stop: threading.Event):
    i = 0
    while not stop.is_set():
        yield line(i, f"line {i}", pod="alpha" if i % 2 else "beta", level="INFO")
        i += 1
        time.sleep(0.01)


def test_log_page_server_serves_the_page_and_streams_lines_on_127_0_0_1():
    server = LogPageServer("z", _fake_lines, port=free_port())
    server.start()
    try:
        assert server._httpd.server_address[0] == "127.0.0.1"
        page = urllib.request.urlopen(server.url + "/", timeout=5).read().decode()
        assert 'EventSource("/events")' in page and "requestAnimationFrame" in page
        # everything is inline: no script, style or font fetched from anywhere
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
        assert "@import" not in page and "url(" not in page
        resp = urllib.request.urlopen(server.url + "/events", timeout=5)
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        lines = []
        deadline = time.monotonic() + 5
        while len(lines) < 5 and time.monotonic() < deadline:
            raw = resp.readline().decode()
            if raw.startswith("data: ["):
                lines += json.loads(raw[6:])
        resp.close()
        assert len(lines) >= 5
        assert {"t", "p", "i", "k", "c", "n", "l", "x"} <= set(lines[0])
        health = json.load(urllib.request.urlopen(server.url + "/health", timeout=5))
        assert health["zone"] == "z" and health["lines"] >= 5
        assert urllib.request.urlopen(server.url + "/favicon.ico", timeout=5).status == 204
    finally:
        server.close()


def test_log_page_server_says_who_holds_its_port():
    port = free_port()
    first = LogPageServer("z", _fake_lines, port=port)
    first.start()
    try:
        with pytest.raises(CliError, match=f"127.0.0.1:{port}.*--port"):
            LogPageServer("z", _fake_lines, port=port).start()
    finally:
        first.close()


def test_log_page_server_fails_at_once_when_the_zone_is_missing():
    port = free_port()
    server = LogPageServer("z", lambda stop: follower(FakeSource(), stop=stop), port=port)
    with pytest.raises(CliError, match="no containers"):
        server.start()
    again = LogPageServer("z", _fake_lines, port=port)  # the port was released
    again.start()
    again.close()


# --------------------------------------------------------------------------- commands


def test_terminal_lines_are_plain_without_a_tty_and_coloured_with_one():
    ln = LogLine(
        T0, "z", "runner-pod", "runner-pod-3", 3, "runner", "n1", "ERROR", "2026-11-21T05:07:06.000Z ERROR node boom"
    )
    plain = format_plain(ln, 20)
    assert plain == "2026-11-21T05:07:06.000Z runner-pod-3/runner  ERROR   node boom"
    assert "\x1b" not in plain
    console = Console(force_terminal=True, color_system="truecolor", width=200)
    with console.capture() as cap:
        console.print(format_rich(ln), soft_wrap=True)
    coloured = cap.get()
    assert "\x1b[" in coloured and "runner-pod-3/runner" in coloured and "node boom" in coloured


def test_inlet_to_values_and_their_handlers():
    assert parse_to("logs") == ("logs", None, None)
    assert parse_to("http") == ("http", None, None)
    assert parse_to("runner-pod-3:8000") == ("pod", "runner-pod-3", 8000)
    for bad in ("ftp", "pod:", ":80", "pod:99999", "Pod:80"):
        with pytest.raises(UsageError):
            parse_to(bad)
    assert set(INLETS) == {"logs", "http", "pod"}


def _app() -> typer.Typer:
    app = typer.Typer()
    zone = typer.Typer()
    app.add_typer(zone, name="zone")
    register(zone)
    return app


def test_zone_inlet_bad_values_are_usage_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # no engine here
    runner = CliRunner()
    for to in ("http", "runner-pod:8000"):
        r = runner.invoke(_app(), ["zone", "inlet", "--to", to, "hello"])
        assert r.exit_code == 1 and "Docker is not reachable" in r.output, r.output
    r = runner.invoke(_app(), ["zone", "inlet", "--to", "gopher", "hello"])
    assert r.exit_code == 2 and "--to 'gopher'" in r.output
    r = runner.invoke(_app(), ["zone", "logs", "Not_A_Zone"])
    assert r.exit_code == 2 and "is not a zone name" in r.output
    r = runner.invoke(_app(), ["zone", "logs", "--dir", str(tmp_path)])
    assert r.exit_code == 2 and "autonomy.yaml: not found" in r.output
    r = runner.invoke(_app(), ["zone", "logs", "hello", "--since", "yesterday"])
    assert r.exit_code == 2 and "--since 'yesterday'" in r.output
