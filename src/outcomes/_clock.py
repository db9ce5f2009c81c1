"""Clocks: the system clock, and the protocol tests use to inject their own."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of wall-clock time in Unix seconds."""

    def now(self) -> float:
        """Return the current time in seconds since the Unix epoch."""
        ...


class SystemClock:
    """The real clock (``time.time``)."""

    __slots__ = ()

    def now(self) -> float:
        return time.time()


SYSTEM_CLOCK = SystemClock()
