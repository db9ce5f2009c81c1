"""Signal resolution: applied once, superseded by a different verdict, final failures."""

from __future__ import annotations

import pytest

from outcomes import OutcomeTracker, Signal
from outcomes.inference import InferredOutcome
from outcomes.store import MemoryStore, Store
from outcomes.testing import FakeClock, receipts


def completed(tracker: OutcomeTracker, model: str = "m") -> str:
    t = tracker.record_start(model, "code", "r")
    tracker.record_complete(t, 100.0, 10, 5)
    return t


def test_a_repeated_verdict_without_a_signal_id_is_applied_once() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    t = completed(tracker)
    applied = [tracker.record_inferred_outcome(t, "accepted", 0.9) for _ in range(5)]
    assert applied == [True, False, False, False, False]
    p = tracker.profile("m")
    assert p is not None
    assert p.ema_quality == pytest.approx(0.58)  # 0.5 * 0.8 + 0.9 * 0.2, once
    assert (p.calls, p.successes, p.quality_count) == (1, 1, 1)
    tracker.flush()
    assert [r.source for r in receipts(store)] == ["complete", "signal"]
    tracker.close()


def test_a_different_later_verdict_still_supersedes_and_is_then_applied_once() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    t = completed(tracker)
    assert tracker.record_inferred_outcome(t, InferredOutcome.accepted(0.9))
    assert tracker.record_inferred_outcome(t, InferredOutcome.rejected(0.8))
    assert not tracker.record_inferred_outcome(t, InferredOutcome.rejected(0.8))
    assert tracker.record_code_outcome(t, "applied")  # ground truth: another verdict
    assert not tracker.record_code_outcome(t, "applied")
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures) == (1, 1, 0)


def test_signals_with_distinct_ids_are_distinct_signals() -> None:
    clock = FakeClock()
    tracker = OutcomeTracker(clock=clock)
    t = completed(tracker)
    for i in range(3):
        assert tracker.record_signal(Signal(f"s{i}", t, "conversation", "accepted", 0.0, 0.9))
    assert not tracker.record_signal(Signal("s1", t, "conversation", "accepted", 0.0, 0.9))


def test_a_repeat_found_only_in_the_store_is_a_no_op(store: Store) -> None:
    clock = FakeClock(1_750_000_000.0)
    caller = OutcomeTracker(store, clock=clock)
    t = completed(caller)
    assert caller.record_inferred_outcome(t, "rejected", 1.0)
    caller.flush()
    judge = OutcomeTracker(store, clock=clock)  # remembers nothing of t
    assert not judge.record_inferred_outcome(t, "rejected", 1.0)
    assert judge.record_inferred_outcome(t, "accepted", 1.0)
    judge.flush()
    assert [r.source for r in receipts(store)] == ["complete", "signal", "signal"]
    caller.close()
    judge.close()


def test_a_failed_call_is_final_and_an_unknown_trace_changes_nothing() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    t = tracker.record_start("m", "code")
    tracker.record_failure(t, "boom")
    assert not tracker.record_inferred_outcome(t, "accepted", 1.0)
    assert not tracker.record_inferred_outcome("never-started", "accepted", 1.0)
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.failures, p.successes) == (1, 1, 0)


def test_a_signal_before_completion_settles_the_call() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    t = tracker.record_start("m", "code")
    assert tracker.record_inferred_outcome(t, "accepted", 1.0)
    assert tracker.get_pending(t) is None
    assert tracker.is_resolved(t)
    (r,) = tracker.drain_ledger()
    assert (r.source, r.success, r.supersedes) == ("signal", True, None)
