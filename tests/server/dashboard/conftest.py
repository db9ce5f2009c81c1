"""A store filled by the demo workload, shared by the dashboard's tests (built once)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from outcomes import demo
from outcomes.inference import OutcomeTracker
from outcomes.store import SQLiteStore


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dashboard") / "demo.db"
    store = SQLiteStore(path)
    try:
        demo.run(store, Console(file=io.StringIO(), width=120), calls=400, seed=7)
    finally:
        store.close()
    return path


@pytest.fixture
def tracker(demo_db: Path) -> Iterator[OutcomeTracker]:
    store = SQLiteStore(demo_db)
    tracker = OutcomeTracker(store)
    try:
        yield tracker
    finally:
        tracker.close()
        store.close()
