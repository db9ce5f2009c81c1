"""The live router's circuit breaker for one model, apart from the router (no NumPy).

The router feeds it every routed call's result; the dashboard's routing page replays the
same rule over stored receipts to show when each model was cut off, so both read one
definition of a trip.
"""

from __future__ import annotations

from dataclasses import dataclass

TRIP_AFTER = 3
"""Failures in a row that trip the breaker."""
BASE_S = 30.0
"""The first trip's cooldown (seconds); each further trip doubles it..."""
MAX_S = 600.0
"""...up to this."""


@dataclass
class Breaker:
    """One model's breaker: failures in a row, the running cooldown's end, and the
    length of the last trip's cooldown (0 after a success)."""

    failures: int = 0
    until: float = 0.0
    backoff: float = 0.0

    def succeed(self) -> None:
        self.failures = 0
        self.backoff = 0.0

    def fail(
        self, now: float, trip_after: int = TRIP_AFTER, base_s: float = BASE_S, max_s: float = MAX_S
    ) -> float | None:
        """Count a failure at ``now``; on the ``trip_after``-th in a row, start a cooldown of
        ``base_s`` doubled per trip since the last success (capped at ``max_s``) and return
        its length. A new cooldown never shortens a running one."""
        self.failures += 1
        if self.failures < trip_after:
            return None
        self.backoff = min(max_s, self.backoff * 2 if self.backoff else base_s)
        self.until = max(self.until, now + self.backoff)
        self.failures = 0
        return self.backoff
