"""Settings of ``outcomes`` and where they come from.

Precedence is always: explicit argument > ``OUTCOMES_*`` environment variable > the
documented default below. A malformed environment value logs one warning and falls back
to the default; it never raises (a misconfigured variable must not break the host app).
Explicit arguments that are malformed raise :class:`~outcomes.errors.ConfigError`.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from outcomes.errors import ConfigError

logger = logging.getLogger("outcomes.config")

ENV_HOME = "OUTCOMES_HOME"
"""Folder for the embedded database and user files. Default ``~/.outcomes``."""

ENV_DB_URL = "OUTCOMES_DB_URL"
"""Store URL: ``sqlite:///path.db`` (default ``$OUTCOMES_HOME/outcomes.db``),
``postgresql://user@host/db`` (needs the ``postgres`` extra) or ``memory://``."""

ENV_WRITER_QUEUE_SIZE = "OUTCOMES_WRITER_QUEUE_SIZE"
"""Maximum records waiting for the background writer; more are dropped and counted.
Default 100000."""

ENV_WRITER_BATCH_SIZE = "OUTCOMES_WRITER_BATCH_SIZE"
"""Records written per transaction by the background writer. Default 2000."""

ENV_WRITER_FLUSH_INTERVAL = "OUTCOMES_WRITER_FLUSH_INTERVAL"
"""Seconds between background flushes when the batch is not full. Default 0.5."""

ENV_WRITER_DURABLE = "OUTCOMES_WRITER_DURABLE"
"""``1`` makes every commit survive power loss (SQLite ``synchronous=FULL``,
PostgreSQL ``synchronous_commit=on``). Default ``0``: commits survive a crash of the
process but may lose the last moments on power loss."""

ENV_BUSY_TIMEOUT = "OUTCOMES_BUSY_TIMEOUT"
"""Seconds a SQLite connection waits for another process's lock. Default 30."""

ENV_TRAJECTORY_ENDPOINT = "OUTCOMES_TRAJECTORY_ENDPOINT"
"""``http(s)://`` URL that finished trajectories are POSTed to through a local outbox
(retries with backoff, survives restarts). Unset (default): trajectories stay local."""

ENV_QUALITY_HALF_LIFE = "OUTCOMES_QUALITY_HALF_LIFE"
"""Seconds after which a model's old quality verdicts weigh half as much as new ones
(models drift). Default 1209600 (14 days)."""

ENV_LATE_SIGNAL_WINDOW = "OUTCOMES_LATE_SIGNAL_WINDOW"
"""Seconds after a call during which a late signal still supersedes its receipt.
Default 604800 (7 days)."""

ENV_RATE_LIMIT_COOLDOWN = "OUTCOMES_RATE_LIMIT_COOLDOWN"
"""Seconds a rate-limited model cools down when the error carries no Retry-After.
Default 60."""

ENV_CONFIDENCE_SHADOW = "OUTCOMES_CONFIDENCE_SHADOW"
"""``1`` turns on shadow observations of a derived confidence next to the caller's
(:mod:`outcomes.shadow`). Read once per process. Default ``0`` (off)."""

ENV_CONFIDENCE_SHADOW_SAMPLE_RATE = "OUTCOMES_CONFIDENCE_SHADOW_SAMPLE_RATE"
"""Share of shadow-eligible events that are recorded, clamped to [0, 1]. Read once per
process. Default 1.0; a malformed value warns once and gives 1.0."""

ENV_DEBUG = "OUTCOMES_DEBUG"
"""``1`` makes the ``outcomes`` command print the traceback of an internal error (a bug)
after its one-line message. Default off."""

DEFAULT_HOME = "~/.outcomes"
DEFAULT_DB_FILENAME = "outcomes.db"
DEFAULT_WRITER_QUEUE_SIZE = 100_000
DEFAULT_WRITER_BATCH_SIZE = 2_000
DEFAULT_WRITER_FLUSH_INTERVAL = 0.5
DEFAULT_BUSY_TIMEOUT = 30.0

_warned: set[str] = set()
T = TypeVar("T")


def _warn_once(name: str, raw: str, default: object) -> None:
    if name in _warned:
        return
    _warned.add(name)
    logger.warning("ignoring malformed %s=%r; using the default %r", name, raw, default)


def _env_value(
    name: str,
    parse: Callable[[str], T],
    default: T,
    env: Mapping[str, str] | None,
) -> T:
    source = os.environ if env is None else env
    raw = source.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw.strip())
    except (ValueError, TypeError):
        _warn_once(name, raw, default)
        return default


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError(raw)
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(raw)
    return value


def _flag(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(raw)


def home(
    explicit: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> Path:
    """Return the outcomes home folder (not created here)."""
    if explicit is not None:
        return Path(explicit).expanduser()
    raw = (os.environ if env is None else env).get(ENV_HOME)
    return Path(raw or DEFAULT_HOME).expanduser()


def db_url(explicit: str | None = None, *, env: Mapping[str, str] | None = None) -> str:
    """Return the store URL: explicit > ``OUTCOMES_DB_URL`` > SQLite under :func:`home`."""
    if explicit:
        return explicit
    raw = (os.environ if env is None else env).get(ENV_DB_URL)
    if raw and raw.strip():
        return raw.strip()
    return f"sqlite:///{home(env=env) / DEFAULT_DB_FILENAME}"


@dataclass(frozen=True, slots=True)
class WriterSettings:
    """Settings of the background writer (see :class:`outcomes.store.BackgroundWriter`)."""

    queue_size: int = DEFAULT_WRITER_QUEUE_SIZE
    batch_size: int = DEFAULT_WRITER_BATCH_SIZE
    flush_interval: float = DEFAULT_WRITER_FLUSH_INTERVAL
    durable: bool = False

    def __post_init__(self) -> None:
        if self.queue_size <= 0:
            raise ConfigError(f"writer queue_size must be > 0, got {self.queue_size}")
        if self.batch_size <= 0:
            raise ConfigError(f"writer batch_size must be > 0, got {self.batch_size}")
        if not math.isfinite(self.flush_interval) or self.flush_interval <= 0:
            raise ConfigError(f"writer flush_interval must be > 0, got {self.flush_interval}")

    @classmethod
    def from_env(
        cls,
        *,
        queue_size: int | None = None,
        batch_size: int | None = None,
        flush_interval: float | None = None,
        durable: bool | None = None,
        env: Mapping[str, str] | None = None,
    ) -> WriterSettings:
        """Resolve each setting: explicit argument > environment > default."""
        return cls(
            queue_size=queue_size
            if queue_size is not None
            else _env_value(ENV_WRITER_QUEUE_SIZE, _positive_int, DEFAULT_WRITER_QUEUE_SIZE, env),
            batch_size=batch_size
            if batch_size is not None
            else _env_value(ENV_WRITER_BATCH_SIZE, _positive_int, DEFAULT_WRITER_BATCH_SIZE, env),
            flush_interval=flush_interval
            if flush_interval is not None
            else _env_value(
                ENV_WRITER_FLUSH_INTERVAL, _positive_float, DEFAULT_WRITER_FLUSH_INTERVAL, env
            ),
            durable=durable
            if durable is not None
            else _env_value(ENV_WRITER_DURABLE, _flag, False, env),
        )


def busy_timeout(explicit: float | None = None, *, env: Mapping[str, str] | None = None) -> float:
    """Seconds a SQLite connection waits for a lock held by another process."""
    if explicit is not None:
        if not math.isfinite(explicit) or explicit < 0:
            raise ConfigError(f"busy_timeout must be >= 0 seconds, got {explicit}")
        return explicit
    return _env_value(ENV_BUSY_TIMEOUT, _positive_float, DEFAULT_BUSY_TIMEOUT, env)


def env_flag(name: str, default: bool = False, *, env: Mapping[str, str] | None = None) -> bool:
    """Read a boolean ``OUTCOMES_*`` flag; malformed values warn once and give ``default``."""
    return _env_value(name, _flag, default, env)


def env_float(name: str, default: float, *, env: Mapping[str, str] | None = None) -> float:
    """Read a float ``OUTCOMES_*`` variable; malformed or non-finite values give ``default``."""

    def parse(raw: str) -> float:
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(raw)
        return value

    return _env_value(name, parse, default, env)
