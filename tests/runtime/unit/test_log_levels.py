"""Log levels as the SDK sets them: AUTONOMY_LOG_LEVEL, set_log_level(s), get_logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import autonomy
from autonomy.errors import ConfigurationError
from autonomy.logs import parse_log_levels
from autonomy.settings import Settings


@pytest.fixture(autouse=True)
def _restore_levels() -> Iterator[None]:
    names = ("agent", "model", "node", "")
    saved = {n: logging.getLogger(n or None).level for n in names}
    yield
    for n, level in saved.items():
        logging.getLogger(n or None).setLevel(level)


def test_a_spec_is_a_default_then_loggers() -> None:
    assert parse_log_levels("INFO,agent=DEBUG,model=debug") == ("INFO", {"agent": "DEBUG", "model": "DEBUG"})
    assert parse_log_levels("agent=warn") == (None, {"agent": "WARNING"})
    assert parse_log_levels("") == (None, {})


@pytest.mark.parametrize("bad", ["LOUD", "agent=LOUD", "=DEBUG"])
def test_a_bad_spec_names_what_is_wrong(bad: str) -> None:
    with pytest.raises(ValueError, match="log level"):
        parse_log_levels(bad)
    with pytest.raises(ConfigurationError, match="AUTONOMY_LOG_LEVEL"):
        Settings.from_env({"AUTONOMY_LOG_LEVEL": bad})


def test_autonomy_log_level_sets_the_default_and_each_logger() -> None:
    s = Settings.from_env({"AUTONOMY_LOG_LEVEL": "WARNING,agent=DEBUG,model=DEBUG", "LOG_LEVEL": "ERROR"})
    assert s.log_level == "WARNING"
    assert dict(s.log_levels) == {"agent": "DEBUG", "model": "DEBUG"}


def test_log_level_still_sets_the_default_alone() -> None:
    s = Settings.from_env({"LOG_LEVEL": "debug", "AUTONOMY_LOG_LEVEL": "agent=ERROR"})
    assert (s.log_level, s.log_levels) == ("DEBUG", (("agent", "ERROR"),))


def test_set_log_levels_and_set_log_level_at_run_time() -> None:
    autonomy.set_log_levels("ERROR,agent=DEBUG")
    assert logging.getLogger().level == logging.ERROR
    assert logging.getLogger("agent").level == logging.DEBUG
    autonomy.set_log_level("INFO")
    assert logging.getLogger().level == logging.INFO
    autonomy.set_log_level("model", "warning")
    assert logging.getLogger("model").level == logging.WARNING


def test_get_logger_is_exported_and_named() -> None:
    log = autonomy.get_logger("agent")
    assert isinstance(log, logging.Logger) and log.name == "agent"
    assert {"get_logger", "set_log_level", "set_log_levels", "Mailbox"} <= set(autonomy.__all__)
