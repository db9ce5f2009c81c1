"""Rate-limit state: session exclusions, cooldowns, Retry-After.

A ``429``/``RESOURCE_EXHAUSTED`` failure excludes its model for the rest of the session
and starts a cooldown; any failure that carries a Retry-After starts one too. A router
reads this state on every decision, so reads cost no lock in the common case that
nothing is limited, and the lock here is never held while anything waits on I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from types import MappingProxyType

from outcomes.inference._context import TrackerContext
from outcomes.inference._profiles import is_rate_limit
from outcomes.inference._validate import retry_after_from

DEFAULT_COOLDOWN_S = 60.0

_NO_EXCLUSIONS: frozenset[str] = frozenset()
_NO_COOLDOWNS: Mapping[str, float] = MappingProxyType({})


def cooldown_for(
    error: str, retry_after: float | None, default: float = DEFAULT_COOLDOWN_S
) -> tuple[bool, float | None]:
    """Whether a failure with ``error`` is a rate limit, and the cooldown (seconds) it
    starts, or None: ``retry_after``, else one found in the text of a rate limit's error,
    else ``default`` for a rate limit. The dashboard's routing page replays this rule over
    stored failures, so both read one definition."""
    limited = is_rate_limit(error)
    if retry_after is None and limited:
        retry_after = retry_after_from(error)
    if not limited and retry_after is None:
        return False, None
    return limited, retry_after if retry_after is not None else default


class RateLimits:
    """Which models this process should not call now, and until when.

    ``default_cooldown`` (seconds) applies to a rate limit without a Retry-After. Times
    are read from the tracker's clock.
    """

    def __init__(self, ctx: TrackerContext, default_cooldown: float = DEFAULT_COOLDOWN_S) -> None:
        self._ctx = ctx
        self.default_cooldown = default_cooldown
        self._excluded: set[str] = set()
        self._cooldown: dict[str, float] = {}
        self._lock = threading.Lock()

    def note_failure(
        self, model_id: str, error: str, retry_after: float | None, now: float
    ) -> None:
        """Apply a failed call: exclude and cool down on a rate limit; cool down for
        ``retry_after`` (or one found in ``error``) when given."""
        limited, wait = cooldown_for(error, retry_after, self.default_cooldown)
        if wait is None:
            return
        with self._lock:
            if limited:
                self._excluded.add(model_id)
            # A new cooldown never shortens a running one.
            self._cooldown[model_id] = max(self._cooldown.get(model_id, 0.0), now + wait)

    def is_excluded(self, model_id: str) -> bool:
        return model_id in self._excluded

    def clear(self, model_id: str | None = None) -> None:
        """Lift the exclusion and cooldown of one model, or of all."""
        with self._lock:
            if model_id is None:
                self._excluded.clear()
                self._cooldown.clear()
            else:
                self._excluded.discard(model_id)
                self._cooldown.pop(model_id, None)

    def cooldown_until(self, model_id: str) -> float | None:
        until = self._cooldown.get(model_id)
        return until if until is not None and until > self._ctx.clock.now() else None

    def current(self) -> tuple[AbstractSet[str], Mapping[str, float]]:
        """Excluded models and running cooldowns: shared empty values without a lock
        when nothing is limited, else copies taken under the lock (passed cooldowns are
        dropped on the way)."""
        if not self._excluded and not self._cooldown:
            return _NO_EXCLUSIONS, _NO_COOLDOWNS
        with self._lock:
            now = self._ctx.clock.now()
            for model_id in [m for m, until in self._cooldown.items() if until <= now]:
                del self._cooldown[model_id]
            return frozenset(self._excluded), dict(self._cooldown)

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
