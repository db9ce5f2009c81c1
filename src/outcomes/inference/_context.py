"""What the tracker's rooms share: the clock, the settings, the call lock, how bad input
is refused.

One :class:`TrackerContext` per :class:`~outcomes.inference.OutcomeTracker`. The call
lifecycle, signal resolution and the ledger buffer change together under ``lock`` (a
signal pops a pending call and appends to the buffer in one step); rate limits and the
profile view keep locks of their own, so a routing decision never waits on this one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from outcomes._clock import Clock
from outcomes._redact import scrub_secrets
from outcomes.errors import ValidationError

log = logging.getLogger("outcomes.inference")


class TrackerContext:
    """The clock (swappable: ingest replays events on a clock of its own), ``strict``,
    ``late_window`` (seconds after a call that a signal may still correct it) and the
    lock of the call state."""

    __slots__ = ("_clock", "_warned", "late_window", "lock", "now", "strict")

    def __init__(self, clock: Clock, *, strict: bool, late_window: float) -> None:
        self._clock = clock
        self.now: Callable[[], float] = clock.now
        """The clock's ``now``, bound once (the recording hot path calls it)."""
        self.strict = strict
        self.late_window = late_window
        self.lock = threading.RLock()
        self._warned: set[str] = set()

    @property
    def clock(self) -> Clock:
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._clock = clock
        self.now = clock.now

    def reject(self, exc: Exception, what: str) -> None:
        """Refuse bad input: raise :class:`ValidationError` when strict, else warn once
        per kind of input (``what``) and let the caller drop it."""
        if self.strict:
            if isinstance(exc, ValidationError):
                raise exc
            raise ValidationError(str(exc)) from exc
        if what not in self._warned:
            self._warned.add(what)
            # The error may quote the refused value: a log is no place for a credential.
            reason = scrub_secrets(str(exc))
            log.warning("outcomes: %s ignored: %s (further ones are not logged)", what, reason)

    def after_fork_in_child(self) -> None:
        # Another thread of the parent may have held the lock at fork time; that thread
        # does not exist in the child, so the lock would never be released.
        self.lock = threading.RLock()
