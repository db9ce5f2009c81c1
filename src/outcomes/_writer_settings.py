"""The background writer's settings (:class:`WriterSettings`), read through ``outcomes.config``.

Apart from :mod:`outcomes.config` because a dataclass loads ``dataclasses`` and with it
``inspect``; the read-only commands answered by ``cli._fast`` resolve their store with
``config`` and need none of this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from outcomes.config import (
    DEFAULT_WRITER_BATCH_SIZE,
    DEFAULT_WRITER_BLOCK_TIMEOUT,
    DEFAULT_WRITER_FLUSH_INTERVAL,
    DEFAULT_WRITER_QUEUE_SIZE,
    ENV_WRITER_BATCH_SIZE,
    ENV_WRITER_BLOCK_TIMEOUT,
    ENV_WRITER_DURABLE,
    ENV_WRITER_FLUSH_INTERVAL,
    ENV_WRITER_OVERFLOW,
    ENV_WRITER_QUEUE_SIZE,
    Overflow,
    _env_value,
    _flag,
    _nonnegative_float,
    _overflow,
    _positive_float,
    _positive_int,
    check_bounds,
)
from outcomes.errors import ConfigError


@dataclass(frozen=True, slots=True)
class WriterSettings:
    """Settings of the background writer (see :class:`outcomes.store.BackgroundWriter`)."""

    queue_size: int = DEFAULT_WRITER_QUEUE_SIZE
    batch_size: int = DEFAULT_WRITER_BATCH_SIZE
    flush_interval: float = DEFAULT_WRITER_FLUSH_INTERVAL
    durable: bool = False
    overflow: Overflow = "drop"
    block_timeout: float = DEFAULT_WRITER_BLOCK_TIMEOUT

    def __post_init__(self) -> None:
        check_bounds(ENV_WRITER_QUEUE_SIZE, self.queue_size, what="writer queue_size")
        check_bounds(ENV_WRITER_BATCH_SIZE, self.batch_size, what="writer batch_size")
        check_bounds(ENV_WRITER_FLUSH_INTERVAL, self.flush_interval, what="writer flush_interval")
        check_bounds(ENV_WRITER_BLOCK_TIMEOUT, self.block_timeout, what="writer block_timeout")
        if self.overflow not in ("drop", "block"):
            raise ConfigError(f"writer overflow must be 'drop' or 'block', got {self.overflow!r}")

    @classmethod
    def from_env(
        cls,
        *,
        queue_size: int | None = None,
        batch_size: int | None = None,
        flush_interval: float | None = None,
        durable: bool | None = None,
        overflow: Overflow | None = None,
        block_timeout: float | None = None,
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
            overflow=overflow
            if overflow is not None
            else _env_value(ENV_WRITER_OVERFLOW, _overflow, "drop", env),
            block_timeout=block_timeout
            if block_timeout is not None
            else _env_value(
                ENV_WRITER_BLOCK_TIMEOUT, _nonnegative_float, DEFAULT_WRITER_BLOCK_TIMEOUT, env
            ),
        )
