"""autonomy.settings.Settings.from_env with explicit environment mappings."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from autonomy import settings as _settings
from autonomy.errors import ConfigurationError
from autonomy.settings import DEFAULT_KEY, DEFAULT_ROSTER, Settings


def test_defaults_standalone_without_roster() -> None:
    if os.path.exists(DEFAULT_ROSTER):  # pragma: no cover - not on a dev machine / CI
        pytest.skip(f"{DEFAULT_ROSTER} exists on this machine")
    s = Settings.from_env({})
    assert s.standalone is True
    assert s.roster_path is None
    assert s.key_path is None
    assert s.node == socket.gethostname()
    assert s.cluster == "" and s.zone == ""
    assert s.bind_host == "0.0.0.0"
    assert s.http_host == "127.0.0.1"  # standalone: this machine only
    assert s.http_port == 8000
    assert s.log_level == "INFO"
    assert s.discovery_grace == 20.0
    assert s.ping_timeout == 1.0
    assert s.hwm == 100_000


def test_empty_strings_mean_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_settings, "DEFAULT_ROSTER", str(tmp_path / "absent.json"))
    env = {
        k: ""
        for k in (
            "NODE",
            "AUTONOMY_ROSTER",
            "AUTONOMY_KEY",
            "AUTONOMY_BIND_HOST",
            "AUTONOMY_HTTP_HOST",
            "AUTONOMY_HTTP_PORT",
            "LOG_LEVEL",
            "AUTONOMY_DISCOVERY_GRACE",
            "AUTONOMY_PING_TIMEOUT",
            "AUTONOMY_HWM",
        )
    }
    s = Settings.from_env(env)
    assert s.standalone and s.key_path is None
    assert s.node == socket.gethostname()
    assert (s.http_port, s.log_level, s.discovery_grace, s.ping_timeout, s.hwm) == (8000, "INFO", 20.0, 1.0, 100_000)


def test_default_roster_file_is_used_when_present(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    roster = tmp_path / "roster.json"
    roster.write_text("{}")
    monkeypatch.setattr(_settings, "DEFAULT_ROSTER", str(roster))
    s = Settings.from_env({})
    assert s.standalone is False
    assert s.roster_path == str(roster)
    assert s.key_path == DEFAULT_KEY


def test_roster_set_gives_default_key() -> None:
    s = Settings.from_env({"AUTONOMY_ROSTER": "/somewhere/roster.json"})
    assert s.standalone is False
    assert s.roster_path == "/somewhere/roster.json"
    assert s.key_path == DEFAULT_KEY == "/run/autonomy/node.key"


def test_roster_and_key_set() -> None:
    s = Settings.from_env({"AUTONOMY_ROSTER": "/r.json", "AUTONOMY_KEY": "/k.key"})
    assert (s.roster_path, s.key_path) == ("/r.json", "/k.key")


def test_key_without_roster_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_settings, "DEFAULT_ROSTER", str(tmp_path / "absent.json"))
    s = Settings.from_env({"AUTONOMY_KEY": "/k.key"})
    assert s.standalone and s.key_path is None


def test_explicit_values() -> None:
    s = Settings.from_env(
        {
            "NODE": "c-z-pod-main",
            "CLUSTER": "c",
            "ZONE": "z",
            "AUTONOMY_ROSTER": "/r.json",
            "AUTONOMY_BIND_HOST": "127.0.0.1",
            "AUTONOMY_HTTP_HOST": "::1",
            "AUTONOMY_HTTP_PORT": "0",
            "AUTONOMY_DISCOVERY_GRACE": "0",
            "AUTONOMY_PING_TIMEOUT": "2.5",
            "AUTONOMY_HWM": "1",
        }
    )
    assert (s.node, s.cluster, s.zone) == ("c-z-pod-main", "c", "z")
    assert (s.bind_host, s.http_host) == ("127.0.0.1", "::1")
    assert s.http_port == 0
    assert s.discovery_grace == 0.0
    assert s.ping_timeout == 2.5
    assert s.hwm == 1


@pytest.mark.parametrize(
    "name,value,expected",
    [
        ("AUTONOMY_HTTP_PORT", "65535", 65535),
        ("AUTONOMY_HWM", "10000000", 10_000_000),
        ("AUTONOMY_DISCOVERY_GRACE", "1e1", 10.0),
    ],
)
def test_numeric_upper_bounds_accepted(name: str, value: str, expected: float) -> None:
    s = Settings.from_env({name: value, "AUTONOMY_ROSTER": "/r.json"})
    field = {
        "AUTONOMY_HTTP_PORT": "http_port",
        "AUTONOMY_HWM": "hwm",
        "AUTONOMY_DISCOVERY_GRACE": "discovery_grace",
    }[name]
    assert getattr(s, field) == expected


@pytest.mark.parametrize(
    "name,value",
    [
        ("AUTONOMY_HTTP_PORT", "http"),
        ("AUTONOMY_HTTP_PORT", "80.5"),
        ("AUTONOMY_HTTP_PORT", "-1"),
        ("AUTONOMY_HTTP_PORT", "65536"),
        ("AUTONOMY_HWM", "0"),
        ("AUTONOMY_HWM", "-5"),
        ("AUTONOMY_HWM", "10000001"),
        ("AUTONOMY_HWM", "lots"),
        ("AUTONOMY_DISCOVERY_GRACE", "-1"),
        ("AUTONOMY_DISCOVERY_GRACE", "twenty"),
        ("AUTONOMY_PING_TIMEOUT", "-0.5"),
        ("AUTONOMY_PING_TIMEOUT", "1s"),
    ],
)
def test_bad_numeric_values(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({name: value, "AUTONOMY_ROSTER": "/r.json"})
    assert str(info.value).startswith(name + ":")
    assert info.value.where == name


@pytest.mark.parametrize("name", ["AUTONOMY_PING_TIMEOUT", "AUTONOMY_DISCOVERY_GRACE"])
def test_nan_seconds_rejected(name: str) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env({name: "nan", "AUTONOMY_ROSTER": "/r.json"})


@pytest.mark.parametrize(
    "raw,level",
    [("debug", "DEBUG"), ("Info", "INFO"), ("wArNiNg", "WARNING"), ("ERROR", "ERROR"), ("critical", "CRITICAL")],
)
def test_log_level_case_insensitive(raw: str, level: str) -> None:
    assert Settings.from_env({"LOG_LEVEL": raw, "AUTONOMY_ROSTER": "/r.json"}).log_level == level


@pytest.mark.parametrize("raw", ["verbose", "TRACE", "warn", "10", " INFO"])
def test_log_level_invalid(raw: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({"LOG_LEVEL": raw, "AUTONOMY_ROSTER": "/r.json"})
    assert str(info.value).startswith("LOG_LEVEL:")


def test_settings_are_frozen() -> None:
    s = Settings.from_env({"AUTONOMY_ROSTER": "/r.json"})
    with pytest.raises(AttributeError):
        s.hwm = 5  # type: ignore[misc]
