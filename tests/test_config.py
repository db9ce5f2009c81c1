"""Settings: explicit argument > environment > default; malformed values warn once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from outcomes import config
from outcomes.config import WriterSettings
from outcomes.errors import ConfigError


def test_defaults_without_environment() -> None:
    s = WriterSettings.from_env(env={})
    assert (s.queue_size, s.batch_size, s.flush_interval, s.durable) == (
        config.DEFAULT_WRITER_QUEUE_SIZE,
        config.DEFAULT_WRITER_BATCH_SIZE,
        config.DEFAULT_WRITER_FLUSH_INTERVAL,
        False,
    )
    assert config.db_url(env={}).startswith("sqlite:///")
    assert config.db_url(env={}).endswith("/.outcomes/outcomes.db")


def test_environment_overrides_default_and_argument_overrides_environment() -> None:
    env = {"OUTCOMES_WRITER_BATCH_SIZE": "77", "OUTCOMES_WRITER_DURABLE": "yes"}
    assert WriterSettings.from_env(env=env).batch_size == 77
    assert WriterSettings.from_env(env=env).durable is True
    assert WriterSettings.from_env(batch_size=5, env=env).batch_size == 5
    env = {"OUTCOMES_HOME": "/srv/o", "OUTCOMES_DB_URL": "memory://"}
    assert config.home(env=env) == Path("/srv/o")
    assert config.db_url(env=env) == "memory://"
    assert config.db_url("sqlite:///x.db", env=env) == "sqlite:///x.db"
    assert config.db_url(env={"OUTCOMES_HOME": "/srv/o"}) == "sqlite:////srv/o/outcomes.db"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("OUTCOMES_WRITER_BATCH_SIZE", "lots"),
        ("OUTCOMES_WRITER_QUEUE_SIZE", "-4"),
        ("OUTCOMES_WRITER_FLUSH_INTERVAL", "nan"),
        ("OUTCOMES_WRITER_DURABLE", "maybe"),
    ],
)
def test_malformed_environment_warns_once_and_falls_back(
    name: str, raw: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "_warned", set())
    caplog.set_level(logging.WARNING, logger="outcomes.config")
    default = WriterSettings.from_env(env={})
    for _ in range(3):
        assert WriterSettings.from_env(env={name: raw}) == default
    warnings = [r for r in caplog.records if name in r.getMessage()]
    assert len(warnings) == 1


def test_malformed_explicit_arguments_raise() -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        WriterSettings(batch_size=0)
    with pytest.raises(ConfigError, match="flush_interval"):
        WriterSettings(flush_interval=float("inf"))
    with pytest.raises(ConfigError):
        config.busy_timeout(-1)
