"""Settings of ``outcomes`` and where they come from.

Precedence is always: explicit argument > ``OUTCOMES_*`` environment variable > the
documented default below. Every numeric setting has bounds (:data:`BOUNDS`). A malformed
or out-of-bounds environment value logs one warning and falls back to the default; it
never raises (a misconfigured variable must not break the host app). Explicit arguments
that are malformed or out of bounds raise :class:`~outcomes.errors.ConfigError`.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from outcomes._lazy import attach as _attach
from outcomes.errors import ConfigError

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

ENV_WRITER_OVERFLOW = "OUTCOMES_WRITER_OVERFLOW"
"""What ``submit`` does when the writer's queue is full: ``drop`` (default: the record is
dropped and counted, the caller never waits) or ``block`` (the caller waits for room up
to ``OUTCOMES_WRITER_BLOCK_TIMEOUT`` seconds, then drops and counts). Bulk paths of the
CLI always block."""

ENV_WRITER_BLOCK_TIMEOUT = "OUTCOMES_WRITER_BLOCK_TIMEOUT"
"""Seconds a blocking ``submit`` waits for room in the queue. Default 30."""

ENV_WRITER_DURABLE = "OUTCOMES_WRITER_DURABLE"
"""``1`` makes every commit survive power loss (SQLite ``synchronous=FULL``,
PostgreSQL ``synchronous_commit=on``). Default ``0``: commits survive a crash of the
process but may lose the last moments on power loss."""

ENV_BUSY_TIMEOUT = "OUTCOMES_BUSY_TIMEOUT"
"""Seconds a SQLite connection waits for another process's lock. Default 30."""

ENV_TRAJECTORY_ENDPOINT = "OUTCOMES_TRAJECTORY_ENDPOINT"
"""``http(s)://`` URL that finished trajectories are POSTed to through a local outbox
(retries with backoff, survives restarts). Unset (default): trajectories stay local."""

ENV_TRAJECTORY_TOKEN_FILE = "OUTCOMES_TRAJECTORY_TOKEN_FILE"
"""File holding the bearer token the trajectory outbox sends (``Authorization: Bearer``)
to its endpoint, e.g. the token of an ``outcomes serve`` it delivers to. Unset: no token."""

ENV_SERVER_TOKEN_FILE = "OUTCOMES_SERVER_TOKEN_FILE"
"""File holding the bearer token ``outcomes serve`` requires (``--token-file`` wins).
Unset: no token, and the server binds only to a loopback address."""

ENV_SERVER_REQUEST_TIMEOUT = "OUTCOMES_SERVER_REQUEST_TIMEOUT"
"""Seconds one request to ``outcomes serve`` may take, body upload and commit included
(default 30); past it a slow client gets 408 and a slow commit 504."""

ENV_SERVER_MAX_BODY_BYTES = "OUTCOMES_SERVER_MAX_BODY_BYTES"
"""Largest request body ``outcomes serve`` reads (default 8 MiB); larger ones get 413."""

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
DEFAULT_WRITER_BLOCK_TIMEOUT = 30.0

_DAY = 86_400.0
BOUNDS: dict[str, tuple[float, float]] = {
    ENV_WRITER_QUEUE_SIZE: (1, 10_000_000),
    ENV_WRITER_BATCH_SIZE: (1, 1_000_000),
    ENV_WRITER_FLUSH_INTERVAL: (0.001, 3_600.0),
    ENV_WRITER_BLOCK_TIMEOUT: (0.0, _DAY),
    ENV_BUSY_TIMEOUT: (0.0, 3_600.0),
    ENV_QUALITY_HALF_LIFE: (60.0, 3_650 * _DAY),
    ENV_LATE_SIGNAL_WINDOW: (0.0, 365 * _DAY),
    ENV_RATE_LIMIT_COOLDOWN: (0.0, 7 * _DAY),
    ENV_CONFIDENCE_SHADOW_SAMPLE_RATE: (0.0, 1.0),
    ENV_SERVER_REQUEST_TIMEOUT: (0.01, 3_600.0),
    ENV_SERVER_MAX_BODY_BYTES: (1, 1 << 30),
}
_CLAMPED = frozenset({ENV_CONFIDENCE_SHADOW_SAMPLE_RATE})
"""Settings clamped into their bounds (with a warning) instead of falling back: the
sample rate is clamped as in the shadow telemetry ``outcomes`` replaces."""

DEPRECATED: dict[str, str] = {
    ENV_CONFIDENCE_SHADOW: "AI_MEMORY_CONFIDENCE_SHADOW",
    ENV_CONFIDENCE_SHADOW_SAMPLE_RATE: "AI_MEMORY_CONFIDENCE_SHADOW_SAMPLE_RATE",
}
"""Variables of the tools ``outcomes`` replaces, by the variable that replaces them. An
old variable is still honoured when the new one is unset, with a ``FutureWarning`` that
names the new one."""
"""Inclusive bounds of every numeric setting, by variable. The writer's interval is what a
thread can wait on (a larger timeout overflows); the others are generous limits of what
makes sense (a half-life of ten years, a cooldown of a week)."""

Overflow = Literal["drop", "block"]
_warned: set[str] = set()
T = TypeVar("T")


def _warn_once(name: str, raw: str, default: object, why: str = "malformed") -> None:
    if name in _warned:
        return
    _warned.add(name)
    # Imported here: ``logging`` costs a read-only command a tenth of its start-up, and
    # only a malformed setting needs it.
    import logging

    logging.getLogger("outcomes.config").warning(
        "ignoring %s %s=%r; using the default %r", why, name, raw, default
    )


def check_bounds(name: str, value: float, *, what: str | None = None) -> float:
    """Return ``value`` if it is within :data:`BOUNDS` of ``name``, else raise ConfigError."""
    low, high = BOUNDS[name]
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(f"{what or name} must be in [{low:g}, {high:g}], got {value!r}")
    return value


def _env_value(
    name: str,
    parse: Callable[[str], T],
    default: T,
    env: Mapping[str, str] | None,
) -> T:
    source = os.environ if env is None else env
    raw = source.get(name)
    old = DEPRECATED.get(name)
    if (raw is None or raw.strip() == "") and old is not None and source.get(old) is not None:
        raw = source.get(old)
        warnings.warn(
            f"{old} is deprecated and will be ignored in a future release; set {name} instead",
            FutureWarning,
            stacklevel=3,
        )
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw.strip())
    except (ValueError, TypeError, OverflowError):
        _warn_once(name, raw, default)
        return default
    bounds = BOUNDS.get(name)
    if bounds is not None and isinstance(value, int | float) and not isinstance(value, bool):
        low, high = bounds
        if not math.isfinite(value):
            _warn_once(name, raw, default)
            return default
        if not low <= value <= high:
            if name in _CLAMPED:
                _warn_once(name, raw, default, f"clamping out-of-bounds [{low:g}, {high:g}]")
                clamped: Any = low if value < low else high
                return clamped  # type: ignore[no-any-return]
            _warn_once(name, raw, default, f"out-of-bounds [{low:g}, {high:g}]")
            return default
    return value


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


def _nonnegative_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value < 0:
        raise ValueError(raw)
    return value


def _overflow(raw: str) -> Overflow:
    lowered = raw.lower()
    if lowered == "drop":
        return "drop"
    if lowered == "block":
        return "block"
    raise ValueError(raw)


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
    # Imported here: ``pathlib`` loads ``urllib.parse`` and ``ipaddress`` (3 ms), which a
    # command naming its store by URL (``cli._fast`` on PostgreSQL) never needs.
    from pathlib import Path

    if explicit is not None:
        return Path(explicit).expanduser()
    return Path(_home_raw(env)).expanduser()


def _home_raw(env: Mapping[str, str] | None) -> str:
    return (os.environ if env is None else env).get(ENV_HOME) or DEFAULT_HOME


def db_url(explicit: str | None = None, *, env: Mapping[str, str] | None = None) -> str:
    """Return the store URL: explicit > ``OUTCOMES_DB_URL`` > SQLite under :func:`home`."""
    return db_target(explicit, env=env)[0]


def _named_url(explicit: str | None, env: Mapping[str, str] | None) -> str | None:
    """The store URL the user named (argument, else variable); ``None`` for the default."""
    if explicit:
        return explicit
    raw = (os.environ if env is None else env).get(ENV_DB_URL)
    return raw.strip() if raw and raw.strip() else None


def db_target(
    explicit: str | None = None, *, env: Mapping[str, str] | None = None
) -> tuple[str, Path | None]:
    """Return the store URL and, when ``outcomes`` chose it (the default SQLite file), the
    folder it manages; ``None`` when the user named the store (argument or variable).

    A path ``outcomes`` chose is held to the link policy of ``docs/security.md``: it must
    not be a symlink nor resolve outside that folder. A path the user named is trusted.
    """
    named = _named_url(explicit, env)
    if named is not None:
        return named, None
    folder = home(env=env)
    return f"sqlite:///{folder / DEFAULT_DB_FILENAME}", folder


def db_target_str(
    explicit: str | None = None, *, env: Mapping[str, str] | None = None
) -> tuple[str, str | None] | None:
    """:func:`db_target` without loading ``pathlib`` (its folder as ``str(folder)``);
    ``None`` when the home folder is not spelled as ``Path`` prints it
    (:func:`outcomes._paths.plain_path`): ask :func:`db_target` then."""
    named = _named_url(explicit, env)
    if named is not None:
        return named, None
    from outcomes._paths import plain_path

    folder = plain_path(_home_raw(env))
    if folder is None:
        return None
    return f"sqlite:///{folder}/{DEFAULT_DB_FILENAME}", folder


def busy_timeout(explicit: float | None = None, *, env: Mapping[str, str] | None = None) -> float:
    """Seconds a SQLite connection waits for a lock held by another process."""
    if explicit is not None:
        return check_bounds(ENV_BUSY_TIMEOUT, explicit, what="busy_timeout")
    return _env_value(ENV_BUSY_TIMEOUT, _nonnegative_float, DEFAULT_BUSY_TIMEOUT, env)


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


# The writer's settings are a dataclass, and ``dataclasses`` loads ``inspect``: a read-only
# command that only resolves the store (``cli._fast``) would pay for them on every run.
if TYPE_CHECKING:
    from pathlib import Path

    from outcomes._writer_settings import WriterSettings as WriterSettings  # noqa: PLC0414
else:
    __getattr__, __dir__ = _attach(__name__, {"outcomes._writer_settings": ("WriterSettings",)})
