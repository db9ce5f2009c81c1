"""Compatibility persistence: profile files, the dirty flag, imports, the ledger buffer."""

from __future__ import annotations

from pathlib import Path

from outcomes import OutcomeTracker
from outcomes.inference import ModelProfile
from outcomes.testing import FakeClock


def test_an_imported_empty_profile_is_visible_and_survives_a_file(tmp_path: Path) -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    tracker.import_profiles([ModelProfile.new("x")])
    assert tracker.is_dirty()
    p = tracker.profile("x")
    assert p is not None
    assert (p.model_id, p.calls, p.ema_quality) == ("x", 0, 0.5)
    path = tmp_path / "profiles.json"
    assert tracker.save_if_dirty(path)
    fresh = OutcomeTracker(clock=FakeClock())
    assert fresh.load_from_file(path) == 1
    assert fresh.profile("x") is not None
    assert not fresh.is_dirty()


def test_an_imported_hand_built_profile_keeps_its_numbers() -> None:
    source = OutcomeTracker(clock=FakeClock())
    t = source.record_start("m", "code")
    source.record_complete(t, 100.0, 10, 5)
    source.record_inferred_outcome(t, "accepted", 1.0)
    exported = source.profile("m")
    assert exported is not None
    hand = ModelProfile("m", {"code": exported.stats}, ema_quality=0.9, task_ema={"code": 0.8})
    tracker = OutcomeTracker(clock=FakeClock())
    tracker.import_profiles([hand])
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.ema_quality) == (1, 1, 0.9)
    code = tracker.profile("m", task="code")
    assert code is not None
    assert code.ema_quality == 0.8


def test_the_ledger_buffer_drains_resolved_receipts_once() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    t = tracker.record_start("m", "code")
    tracker.record_failure(t, "boom")
    (r,) = tracker.drain_ledger()
    assert r.trace_id == t
    assert tracker.drain_ledger() == []
