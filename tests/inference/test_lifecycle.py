"""The call lifecycle: pending calls, the receipts they emit, the sweep and eviction."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from outcomes.errors import ValidationError
from outcomes.inference import _lifecycle as lifecycle_module
from outcomes.inference._compat import LedgerBuffer
from outcomes.inference._context import TrackerContext
from outcomes.inference._lifecycle import CallLifecycle
from outcomes.inference._limits import RateLimits
from outcomes.inference._profile_view import ProfileView
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.testing import FakeClock


def lifecycle(
    registry: ModelRegistry | None = None,
) -> tuple[CallLifecycle, list[Any], ProfileView, LedgerBuffer, FakeClock]:
    clock = FakeClock(1000.0)
    ctx = TrackerContext(clock, strict=False, late_window=3600.0)
    view = ProfileView(ctx, None, half_life=86_400.0)
    ledger = LedgerBuffer(ctx)
    submitted: list[Any] = []
    calls = CallLifecycle(
        ctx, view, RateLimits(ctx), ledger, submitted.append, registry or ModelRegistry()
    )
    return calls, submitted, view, ledger, clock


def test_completion_emits_one_receipt_to_the_writer_and_the_local_fold() -> None:
    reg = ModelRegistry()
    reg.add(ModelInfo("m", "p", 1.0, 2.0))
    calls, submitted, view, _, _ = lifecycle(reg)
    t = calls.start("m", "code", "why", None, None, None, None)
    calls.complete(t, 10.0, 1000, 500, None)
    calls.complete(t, 10.0, 1000, 500, None)  # twice: still one receipt
    (r,) = submitted
    assert (r.trace_id, r.source, r.success, r.cost_usd) == (t, "complete", True, 0.002)
    assert view.state().summary()[("m", "code", None)][:2] == (1, 1)
    assert view.dirty


def test_a_failure_after_completion_supersedes_it_and_notes_the_rate_limit() -> None:
    calls, submitted, _, ledger, _ = lifecycle()
    t = calls.start("m", "code", "", None, None, None, None)
    calls.complete(t, 10.0, 1, 1, None)
    calls.fail(t, "429 slow down", None, None)
    first, second = submitted
    assert (second.source, second.supersedes, second.superseded_success) == (
        "failure", first.receipt_id, True,
    )  # fmt: skip
    assert [r.receipt_id for r in ledger.drain()] == [second.receipt_id]
    assert t in calls.recent
    assert t not in calls.pending


def test_the_sweep_settles_completed_calls_and_drops_the_others() -> None:
    calls, submitted, _, ledger, clock = lifecycle()
    done = calls.start("m", "code", "", None, None, None, None)
    calls.complete(done, 10.0, 1, 0, None)
    calls.start("m", "code", "", None, None, None, None)
    assert calls.sweep(0, clock.now() + 1) == 2
    assert calls.pending == {}
    (settled,) = ledger.drain()
    assert (settled.trace_id, settled.success) == (done, None)  # no output: inconclusive
    assert len(submitted) == 1  # the sweep writes nothing new
    # past the late window the memory of resolved calls is dropped too
    calls.sweep(0, clock.now() + 7200)
    assert done not in calls.recent


def test_pending_calls_stay_bounded() -> None:
    calls, _, _, _, _ = lifecycle()
    calls.max_pending = 50
    for _ in range(500):
        calls.start("m", "code", "", None, None, None, None)
    assert len(calls.pending) <= 50


def test_eviction_settles_completed_calls_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle_module, "MAX_RECENT", 5)
    calls, submitted, _, ledger, _ = lifecycle()
    calls.max_pending = 10
    traces = [
        calls.start("m", "code", "", None, None, None, None, (10.0, 1, 1, None, None))
        for _ in range(25)
    ]
    evicted = [t for t in traces if t not in calls.pending]
    assert len(evicted) == 25 - len(calls.pending) > 5
    assert evicted == traces[: len(evicted)]  # the oldest go first
    # each settles once, in order, with its completion receipt; only the newest stay
    # remembered for late signals
    assert [r.trace_id for r in ledger.drain()] == evicted
    assert list(calls.recent) == evicted[-5:]
    assert all(calls.recent[t] is r for r in submitted if (t := r.trace_id) in calls.recent)


def test_invalid_input_is_dropped_without_a_receipt() -> None:
    calls, submitted, _, _, _ = lifecycle()
    t = calls.start("m", "code", "", None, None, None, None)
    calls.complete(t, -1.0, 1, 1, None)
    calls.complete(t, float("nan"), 1, 1, None)
    assert submitted == []
    assert calls.get(t) is not None
    bad = calls.start("", "code", "", None, None, None, None)
    assert calls.get(bad) is None


def test_calls_waiting_for_signals_are_not_walked_by_the_garbage_collector() -> None:
    # Up to MAX_PENDING completed calls wait for their signals; a full collection that
    # walks them all holds the GIL long enough to stall a routing decision elsewhere.
    calls, _, _, _, _ = lifecycle()
    traces = [calls.start("m", "code", "why", "p", None, 0.5, None) for _ in range(200)]
    for t in traces[:150]:
        calls.complete(t, 10.0, 3, 4, 0.001)
    gc.collect()
    assert len(calls.pending) == 200
    assert not any(gc.is_tracked(p) for p in calls.pending.values())
    assert sum(p[-1] is not None for p in calls.pending.values()) == 150


def test_a_call_recorded_in_one_step_is_the_call_recorded_in_two() -> None:
    reg = ModelRegistry()
    reg.add(ModelInfo("m", "p", 1.0, 2.0))
    two, two_sent, _, _, _ = lifecycle(reg)
    t = two.start("m", "code", "why", "proj", "fix", 0.25, "trace-1")
    two.complete(t, 12.5, 1000, 500, None, 3.0)
    one, one_sent, _, _, _ = lifecycle(reg)
    figures = (12.5, 1000, 500, None, 3.0)
    assert one.start("m", "code", "why", "proj", "fix", 0.25, "trace-1", figures) == "trace-1"
    assert one_sent == two_sent
    assert one.pending == two.pending
    assert one.completed("trace-1") is True


def test_a_call_in_one_step_with_refused_figures_stays_started_or_is_refused_whole() -> None:
    calls, submitted, _, _, _ = lifecycle()
    refused = (-1.0, 1, 1, None, None)
    t = calls.start("m", "code", "", None, None, None, "t1", refused)
    assert t == "t1"
    assert submitted == []
    assert calls.completed("t1") is False  # started, as start() then complete() leave it
    strict = TrackerContext(FakeClock(1000.0), strict=True, late_window=3600.0)
    view = ProfileView(strict, None, half_life=86_400.0)
    sent: list[Any] = []
    calls = CallLifecycle(
        strict, view, RateLimits(strict), LedgerBuffer(strict), sent.append, ModelRegistry()
    )
    with pytest.raises(ValidationError, match="latency_ms"):
        calls.start("m", "code", "", None, None, None, "t2", refused)
    assert (sent, calls.pending) == ([], {})  # strict: a refused item leaves nothing behind
