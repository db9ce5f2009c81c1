"""The tracker on every store, its input validation, and recording that never blocks."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.components import MIGRATIONS, ComponentEvent, ComponentTracker, OutcomeType
from outcomes.errors import ConfigError, StoreError, ValidationError
from outcomes.store import BackgroundWriter, Migration, MigrationStatus, Query, Row, Store
from outcomes.store._base import Condition
from outcomes.testing import FakeClock, MemoryStore


def _workload(tracker: ComponentTracker, clock: FakeClock, seed: int = 3) -> None:
    rng = random.Random(seed)
    outcomes = list(OutcomeType)
    for session in range(40):
        sid = f"s{session}" if session % 2 else None
        for cid in rng.sample([f"c{i}" for i in range(8)], 4):
            tracker.record_outcome(cid, rng.choice(outcomes), "boom", session_id=sid)
            clock.advance(rng.uniform(0, 10))
        clock.advance(300)


def test_statistics_survive_a_new_tracker_on_the_same_store(store: Store) -> None:
    clock = FakeClock()
    with ComponentTracker(store, clock=clock) as first:
        _workload(first, clock)
        expected = first.all_stats()
        pairs = first.get_co_failure_pairs(min_count=1)
        conflicts = first.find_conflicts(min_joint=1, min_lift=0.0, fdr=0.99)
    with ComponentTracker(store, clock=clock) as second:
        assert second.all_stats() == expected
        assert second.get_co_failure_pairs(min_count=1) == pairs
        assert second.find_conflicts(min_joint=1, min_lift=0.0, fdr=0.99) == conflicts
        assert sum(1 for _ in second.events()) == 160


def test_every_store_gives_the_same_answers(store: Store) -> None:
    clock_a, clock_b = FakeClock(), FakeClock()
    with (
        ComponentTracker(store, clock=clock_a) as on_store,
        ComponentTracker(MemoryStore(), clock=clock_b) as in_memory,
    ):
        _workload(on_store, clock_a)
        _workload(in_memory, clock_b)
        on_store.refresh()
        assert on_store.all_stats() == in_memory.all_stats()
        assert on_store.get_co_failure_pairs(min_count=1) == in_memory.get_co_failure_pairs(
            min_count=1
        )
        assert on_store.find_conflicts(min_joint=1, min_lift=0) == in_memory.find_conflicts(
            min_joint=1, min_lift=0
        )


def test_events_are_stored_with_redacted_context(store: Store) -> None:
    with ComponentTracker(store, clock=FakeClock()) as tracker:
        tracker.record_outcome(
            "a", "install_failure", "failed: api_key=sk-abcdefghijklmnop1234 " + "x" * 1000
        )
        (event,) = tracker.events("a")
    assert "sk-abc" not in event.context
    assert "[REDACTED]" in event.context
    assert len(event.context) == 257  # 256 characters and the ellipsis


def test_migrations_are_applied_once_and_named_for_the_wing(store: Store) -> None:
    ComponentTracker(store).close()
    ComponentTracker(store).close()
    status = store.migration_status(MIGRATIONS)
    assert "components.0001_events" in [name for name, _ in status.applied]
    assert status.pending == ()


def test_refresh_picks_up_events_written_by_another_tracker(store: Store) -> None:
    with ComponentTracker(store) as reader, ComponentTracker(store) as writer:
        writer.record_outcome("a", "install_success")
        writer.flush()
        assert reader.get_stats("a") is None
        reader.refresh()
        stats = reader.get_stats("a")
        assert stats is not None
        assert stats.successes == 1


def test_a_shared_writer_is_used_and_not_closed() -> None:
    store = MemoryStore()
    writer = BackgroundWriter(store)
    with ComponentTracker(store, writer=writer) as tracker:
        tracker.record_outcome("a", "install_success")
    assert writer.submit(ComponentEvent("e1", "b", "install_success", 1.0))
    writer.close()
    assert store.count(ComponentEvent.__table__) == 2


def test_a_writer_for_another_store_is_refused() -> None:
    writer = BackgroundWriter(MemoryStore())
    with pytest.raises(ConfigError, match="writer"):
        ComponentTracker(MemoryStore(), writer=writer)
    writer.close()


@pytest.mark.parametrize("gap", [0, -1, float("nan"), float("inf"), "60"])
def test_a_bad_session_gap_is_a_config_error(gap: Any) -> None:
    with pytest.raises(ConfigError, match="session_gap"):
        ComponentTracker(session_gap=gap)


@pytest.mark.parametrize(
    ("args", "kwargs", "where"),
    [
        (("", "install_success"), {}, "component_id"),
        (("x" * 257, "install_success"), {}, "component_id"),
        ((None, "install_success"), {}, "component_id"),
        ((42, "install_success"), {}, "component_id"),
        (("a\nb", "install_success"), {}, "component_id"),
        ((" a", "install_success"), {}, "component_id"),
        (("a", "installed"), {}, "outcome_type"),
        (("a", None), {}, "outcome_type"),
        (("a", 1), {}, "outcome_type"),
        (("a", "install_success", 3), {}, "context"),
        (("a", "install_success"), {"session_id": ""}, "session_id"),
        (("a", "install_success"), {"session_id": "s" * 10_000}, "session_id"),
        (("a", "install_success"), {"session_id": 7}, "session_id"),
    ],
)
def test_bad_input_is_a_clear_validation_error(
    tracker: ComponentTracker, args: tuple[Any, ...], kwargs: dict[str, Any], where: str
) -> None:
    with pytest.raises(ValidationError) as info:
        tracker.record_outcome(*args, **kwargs)
    assert info.value.where == where
    assert tracker.all_stats() == []
    assert list(tracker.events()) == []


def test_an_unknown_outcome_error_lists_the_valid_ones(tracker: ComponentTracker) -> None:
    with pytest.raises(ValidationError, match="install_success, install_failure"):
        tracker.record_outcome("a", "installed")


def test_a_huge_context_is_capped_not_refused(tracker: ComponentTracker) -> None:
    tracker.record_outcome("a", "install_failure", "e" * 5_000_000)
    (event,) = tracker.events()
    assert len(event.context) == 257


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    component=st.one_of(st.text(max_size=300), st.integers(), st.none(), st.binary()),
    outcome=st.one_of(st.sampled_from(list(OutcomeType)), st.text(max_size=20), st.none()),
    context=st.one_of(st.text(max_size=2_000), st.none()),
)
def test_hostile_input_is_accepted_or_refused_cleanly(
    component: Any, outcome: Any, context: Any
) -> None:
    with ComponentTracker(clock=FakeClock()) as tracker:
        try:
            tracker.record_outcome(component, outcome, context)
        except ValidationError:
            assert tracker.all_stats() == []
            return
        (event,) = tracker.events()
        assert event.component_id == component
        assert len(event.context) <= 257


class _BlockingStore:
    """A memory store whose writes wait until released (a slow or hung database)."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.release = threading.Event()
        self.kind = self.inner.kind
        self.url = self.inner.url

    def write(self, records: Sequence[Any]) -> int:
        self.release.wait()
        return self.inner.write(records)

    def scan(self, table: Any, **kwargs: Any) -> Iterator[Any]:
        return self.inner.scan(table, **kwargs)

    def count(self, table: Any, *, where: Sequence[Condition] = ()) -> int:
        return self.inner.count(table, where=where)

    def query(self, query: Query, params: Sequence[Any] = ()) -> list[Row]:
        return self.inner.query(query, params)

    def iter_query(self, query: Query, params: Sequence[Any] = ()) -> Iterator[Row]:
        return self.inner.iter_query(query, params)

    def delete(self, table: Any, *, where: Sequence[Condition] = ()) -> int:
        return self.inner.delete(table, where=where)

    def update(self, table: Any, key: Any, changes: Mapping[str, Any]) -> bool:
        return self.inner.update(table, key, changes)

    def migrate(self, migrations: Sequence[Migration] = ()) -> list[str]:
        return self.inner.migrate(migrations)

    def migration_status(self, known: Sequence[Migration] = ()) -> MigrationStatus:
        return self.inner.migration_status(known)

    def close(self) -> None:
        self.inner.close()


class _FailingStore(_BlockingStore):
    def write(self, records: Sequence[Any]) -> int:
        raise StoreError("disk on fire")


def test_recording_does_not_wait_for_a_hung_store() -> None:
    store = _BlockingStore()
    tracker = ComponentTracker(store)  # type: ignore[arg-type]
    for _ in range(50):
        tracker.record_outcome("a", "install_failure")
    # Every call returned while the store was still blocked; statistics are current.
    stats = tracker.get_stats("a")
    assert stats is not None
    assert stats.failures == 50
    assert store.inner.count(ComponentEvent.__table__) == 0
    store.release.set()
    tracker.close()
    assert store.inner.count(ComponentEvent.__table__) == 50


def test_storage_failures_never_reach_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    store = _FailingStore()
    tracker = ComponentTracker(store)  # type: ignore[arg-type]
    tracker.record_outcome("a", "install_failure")
    tracker.record_outcome("a", "install_success")
    tracker.flush(timeout=30)
    stats = tracker.get_stats("a")
    assert stats is not None
    assert stats.attempts == 2
    assert tracker.writer.stats().failed == 2
    tracker.close()
    assert "disk on fire" in caplog.text
