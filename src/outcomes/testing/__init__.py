"""Helpers for testing code that uses ``outcomes``: a memory store, a clock you control,
the receipts a test produced, and simulators of realistic workloads.

- :mod:`outcomes.testing.models`: a simulated fleet of models (hidden quality per task,
  log-normal latencies, prices, a provider that answers 429 in bursts).
- :mod:`outcomes.testing.components`: simulated install sessions with planted conflicts.

>>> from outcomes.testing import FakeClock, MemoryStore, receipts
>>> clock = FakeClock(1_700_000_000.0)
>>> clock.advance(60)
>>> clock.now()
1700000060.0
"""

from __future__ import annotations

from outcomes.records import Receipt
from outcomes.store import MemoryStore, Store


class FakeClock:
    """A clock that moves only when told to."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = float(when)


def receipts(store: Store) -> list[Receipt]:
    """Every receipt in ``store``, in the order they were written."""
    return list(store.scan(Receipt.__table__))


__all__ = ["FakeClock", "MemoryStore", "receipts"]
