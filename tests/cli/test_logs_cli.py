"""`autonomy zone logs` options and the logs server's JSON API, on a fake log source (no Docker).

The fake (test_logstream.FakeSource) is the zone `z`: pod `alpha` (container `main`, three
lines) and pod `beta` (container `side`, two lines).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request

import pytest
from test_logstream import FakeSource, docker_line, two_pods
from typer.testing import CliRunner

from autonomy_cli import main
from autonomy_cli.commands import shared
from autonomy_cli.logs import follow as follow_mod
from autonomy_cli.logs.api import ApiError, LogApi, parse_query
from autonomy_cli.logs.page import LogPageServer, free_port


@pytest.fixture()
def source(monkeypatch, tmp_path) -> FakeSource:
    src = two_pods()
    monkeypatch.setattr(follow_mod, "_docker_source", lambda: src)
    monkeypatch.setenv("AUTONOMY_HOME", str(tmp_path / "home"))
    shared.settings.cache_clear()
    yield src
    shared.settings.cache_clear()


def logs(*args: str) -> list[str]:
    r = CliRunner().invoke(main.app, ["zone", "logs", "z", *args])
    assert r.exit_code == 0, r.output
    return r.stdout.splitlines()


def test_zone_logs_pod_container_tail_and_timestamps(source) -> None:
    every = logs("--no-follow")
    assert len(every) == 5 and not every[0].startswith("2026-")  # no time without -t
    assert logs("-p", "alpha", "-c", "main", "--tail", "2", "--no-follow") == [
        "alpha/main WARNING node alpha 1",
        "alpha/main alpha 2",
    ]
    assert logs("--pod", "beta", "--container", "side") == ["beta/side beta 0", "beta/side ERROR   node beta 1"]
    stamped = logs("-p", "alpha", "--tail", "1", "-t")
    assert stamped == ["2026-11-21T05:07:06.040Z alpha/main alpha 2"]
    assert logs("-p", "alpha", "--tail", "1", "--timestamps") == stamped
    as_json = [json.loads(x) for x in logs_json("-c", "side")]
    assert [(x["pod"], x["container"], x["text"]) for x in as_json] == [
        ("beta", "side", "beta 0"),
        ("beta", "side", "2026-11-21T05:07:06.030Z ERROR node beta 1"),
    ]
    r = CliRunner().invoke(main.app, ["zone", "logs", "z", "-p", "gamma"])
    assert r.exit_code == 2 and "no pod 'gamma'" in r.output


def logs_json(*args: str) -> list[str]:
    r = CliRunner().invoke(main.app, ["--output", "json", "zone", "logs", "z", *args])
    assert r.exit_code == 0, r.output
    return r.stdout.splitlines()


# --------------------------------------------------------------------------- the JSON API


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("tail=x", "tail='x'"),
        ("tail=-1", "tail='-1'"),
        ("follow=maybe", "follow='maybe'"),
        ("timestamps=2", "timestamps='2'"),
        ("since=yesterday", "since='yesterday'"),
        ("lines=3", "unknown query parameter lines"),
        ("tail=1&tail=2", "tail given 2 times"),
    ],
)
def test_bad_queries_are_400_with_a_message(query: str, message: str) -> None:
    with pytest.raises(ApiError) as e:
        parse_query(query)
    assert e.value.status == 400 and message in e.value.message


def test_good_queries() -> None:
    q = parse_query("follow&timestamps=yes&tail=3&since=10m")
    assert q.follow and q.timestamps and q.tail == 3 and q.since is not None
    q = parse_query("follow=false&tail=all")
    assert not q.follow and not q.timestamps and q.tail is None and q.since is None


@pytest.fixture()
def api_server(source):
    server = LogPageServer("z", lambda stop: iter(()), port=free_port(), api=LogApi("z", source=lambda: source))
    server.start()
    yield server, source
    server.close()


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


def test_api_lists_containers_and_serves_a_containers_lines(api_server) -> None:
    server, _ = api_server
    status, ctype, body = get(server.url + "/containers")
    assert status == 200 and ctype == "application/json"
    assert json.loads(body) == {"alpha": ["main"], "beta": ["side"]}
    status, ctype, body = get(server.url + "/pods/alpha/containers/main?tail=2")
    assert status == 200 and ctype.startswith("text/plain")
    assert body == "2026-11-21T05:07:06.020Z WARNING node alpha 1\nalpha 2\n"
    status, _, body = get(server.url + "/pods/beta/containers/side?timestamps=true&tail=1")
    assert body == "2026-11-21T05:07:06.030000Z 2026-11-21T05:07:06.030Z ERROR node beta 1\n"
    status, _, body = get(server.url + "/pods/alpha/containers/main?since=2026-11-21T05:07:06.030")
    assert status == 200 and body == "alpha 2\n"
    for path, message in (
        ("/pods/gamma/containers/main", "no pod 'gamma'"),
        ("/pods/alpha/containers/side", "pod 'alpha' has no container 'side'"),
    ):
        status, ctype, body = get(server.url + path)
        assert status == 404 and ctype == "application/json" and message in json.loads(body)["error"]
    status, _, body = get(server.url + "/pods/alpha/containers/main?tail=many")
    assert status == 400 and "tail='many'" in json.loads(body)["error"]
    assert get(server.url + "/pods/alpha")[0] == 404  # not an API route, not the page's either


def test_api_follow_streams_new_lines_until_the_client_goes(api_server) -> None:
    server, source = api_server
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/pods/alpha/containers/main?follow=true&tail=1")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.readline() == b"alpha 2\n"
    source.write("a1", docker_line(5000, "alpha 3"))
    assert resp.readline() == b"alpha 3\n"  # a line written after the request, streamed
    conn.close()
    deadline = time.monotonic() + 5
    while source.streams.get("a1") and not all(s.closed for s in source.streams["a1"]):
        assert time.monotonic() < deadline, "the stream was not closed when the client went away"
        time.sleep(0.05)
