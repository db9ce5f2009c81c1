from __future__ import annotations

from collections.abc import Iterator

import pytest

from outcomes.components import ComponentTracker
from outcomes.testing import FakeClock, MemoryStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_700_000_000.0)


@pytest.fixture
def tracker(clock: FakeClock) -> Iterator[ComponentTracker]:
    t = ComponentTracker(MemoryStore(), clock=clock)
    yield t
    t.close()
