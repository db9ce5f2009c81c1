from __future__ import annotations

import pytest

from outcomes.shadow import ShadowConfig, ShadowRecorder
from outcomes.store import Store
from outcomes.testing import FakeClock

NOW = 1_780_000_000.0  # 2026-05-28


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def recorder(store: Store, clock: FakeClock) -> ShadowRecorder:
    """A recorder on every store kind, shadow mode on, every event sampled."""
    return ShadowRecorder(store, config=ShadowConfig(enabled=True, sample_rate=1.0), clock=clock)
