"""Every behaviour of seed 003 (the Python component outcome tracker), ported as a test.

Where the seed had a fault the test pins the fixed behaviour and says so.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from outcomes.components import ComponentTracker, OutcomeType
from outcomes.testing import FakeClock, MemoryStore


def test_outcome_types_have_the_seed_values() -> None:
    assert [o.value for o in OutcomeType] == [
        "install_success",
        "install_failure",
        "used_in_session",
        "removed_by_user",
        "deprecated",
    ]


def test_first_event_creates_stats_with_first_seen(
    tracker: ComponentTracker, clock: FakeClock
) -> None:
    assert tracker.get_stats("a") is None
    tracker.record_outcome("a", OutcomeType.USED_IN_SESSION)
    clock.advance(5)
    tracker.record_outcome("a", OutcomeType.USED_IN_SESSION)
    stats = tracker.get_stats("a")
    assert stats is not None
    assert stats.component_id == "a"
    assert stats.first_seen == 1_700_000_000.0


def test_install_success_counts_and_sets_last_success(
    tracker: ComponentTracker, clock: FakeClock
) -> None:
    tracker.record_outcome("a", OutcomeType.INSTALL_SUCCESS)
    clock.advance(10)
    tracker.record_outcome("a", "install_success")
    stats = tracker.get_stats("a")
    assert stats is not None
    assert stats.install_successes == stats.successes == 2
    assert stats.last_success == 1_700_000_010.0
    assert stats.last_failure is None


def test_install_failure_counts_and_sets_last_failure(
    tracker: ComponentTracker, clock: FakeClock
) -> None:
    tracker.record_outcome("a", OutcomeType.INSTALL_FAILURE, "exit code 1")
    clock.advance(3)
    tracker.record_outcome("a", OutcomeType.INSTALL_FAILURE)
    stats = tracker.get_stats("a")
    assert stats is not None
    assert stats.install_failures == stats.failures == 2
    assert stats.last_failure == 1_700_000_003.0
    assert stats.last_success is None


def test_usage_and_removal_are_counted(tracker: ComponentTracker) -> None:
    for _ in range(3):
        tracker.record_outcome("a", OutcomeType.USED_IN_SESSION)
    tracker.record_outcome("a", OutcomeType.REMOVED_BY_USER)
    stats = tracker.get_stats("a")
    assert stats is not None
    assert (stats.usage_count, stats.removal_count) == (3, 1)
    assert (stats.successes, stats.failures) == (0, 0)


def test_deprecated_is_recorded_and_visible(tracker: ComponentTracker, clock: FakeClock) -> None:
    # Seed fault: a deprecated outcome changed no counter and was invisible.
    tracker.record_outcome("old", OutcomeType.DEPRECATED)
    clock.advance(1)
    tracker.record_outcome("old", OutcomeType.DEPRECATED)
    stats = tracker.get_stats("old")
    assert stats is not None
    assert stats.deprecated is True
    assert stats.deprecated_at == 1_700_000_000.0
    assert tracker.get_deprecated() == ["old"]
    report = tracker.report_for("old")
    assert report is not None
    assert report.deprecated
    assert "deprecated" in report.flags


def test_success_rate_is_successes_over_attempts(tracker: ComponentTracker) -> None:
    for outcome in ["install_success"] * 3 + ["install_failure"]:
        tracker.record_outcome("a", outcome)
    tracker.record_outcome("a", "used_in_session")  # not an attempt
    assert tracker.get_success_rate("a") == 0.75
    stats = tracker.get_stats("a")
    assert stats is not None
    assert stats.success_rate == 0.75


def test_success_rate_is_zero_without_attempts_as_in_the_seed(tracker: ComponentTracker) -> None:
    tracker.record_outcome("a", "used_in_session")
    assert tracker.get_success_rate("a") == 0.0
    assert tracker.get_success_rate("never-seen") == 0.0


@pytest.mark.parametrize(
    ("successes", "failures", "expected"),
    [
        (0, 3, True),
        (2, 3, True),  # 0.4 < 0.5
        (3, 3, False),  # exactly 0.5 is not below
        (0, 2, False),  # fewer than 3 failures
        (10, 4, False),
    ],
)
def test_seed_problematic_rule(
    tracker: ComponentTracker, successes: int, failures: int, expected: bool
) -> None:
    for _ in range(successes):
        tracker.record_outcome("a", "install_success")
    for _ in range(failures):
        tracker.record_outcome("a", "install_failure")
    stats = tracker.get_stats("a")
    assert stats is not None
    assert stats.is_problematic is expected
    assert tracker.get_problematic_components(rule="seed") == (["a"] if expected else [])


def test_frequently_removed_defaults_to_two_removals(
    tracker: ComponentTracker, clock: FakeClock
) -> None:
    for cid, n in [("once", 1), ("twice", 2), ("thrice", 3)]:
        for _ in range(n):
            tracker.record_outcome(cid, "removed_by_user")
        clock.advance(1)
    assert tracker.get_frequently_removed() == ["twice", "thrice"]
    assert tracker.get_frequently_removed(min_removals=3) == ["thrice"]
    assert tracker.get_frequently_removed(min_removals=1) == ["once", "twice", "thrice"]


def _fail(tracker: ComponentTracker, clock: FakeClock, *components: str, step: float = 1) -> None:
    for cid in components:
        tracker.record_outcome(cid, "install_failure")
        clock.advance(step)


def test_co_failures_within_sixty_seconds_form_a_session(
    tracker: ComponentTracker, clock: FakeClock
) -> None:
    _fail(tracker, clock, "b", "a", step=30)
    clock.advance(1000)
    _fail(tracker, clock, "a", "b", step=60)  # a gap of exactly 60 s stays in the session
    assert tracker.get_co_failure_pairs() == [("a", "b", 2)]


def test_a_gap_over_sixty_seconds_splits_sessions(
    tracker: ComponentTracker, clock: FakeClock
) -> None:
    _fail(tracker, clock, "a", "b", step=61)
    clock.advance(1000)
    _fail(tracker, clock, "a", "b", step=61)
    assert tracker.get_co_failure_pairs() == []


def test_a_pair_needs_two_sessions(tracker: ComponentTracker, clock: FakeClock) -> None:
    _fail(tracker, clock, "a", "b", "c")
    clock.advance(1000)
    _fail(tracker, clock, "a", "b")
    clock.advance(1000)
    _fail(tracker, clock, "c")  # a session of one failure has no pairs
    assert tracker.get_co_failure_pairs() == [("a", "b", 2)]
    assert sorted(tracker.get_co_failure_pairs(min_count=1)) == [
        ("a", "b", 2),
        ("a", "c", 1),
        ("b", "c", 1),
    ]


def test_successes_do_not_count_as_co_failures(tracker: ComponentTracker, clock: FakeClock) -> None:
    for _ in range(3):
        tracker.record_outcome("a", "install_failure")
        tracker.record_outcome("b", "install_success")
        clock.advance(1000)
    assert tracker.get_co_failure_pairs() == []


def test_repeated_failures_of_one_component_in_a_session_count_once(
    tracker: ComponentTracker, clock: FakeClock
) -> None:
    for _ in range(2):
        _fail(tracker, clock, "a", "a", "b", "b")
        clock.advance(1000)
    assert tracker.get_co_failure_pairs() == [("a", "b", 2)]


def test_caller_session_ids_group_events_regardless_of_time(
    tracker: ComponentTracker, clock: FakeClock
) -> None:
    # Seed fault: only time gaps existed, so slow sessions split and fast ones merged.
    for session in ("s1", "s2"):
        tracker.record_outcome("a", "install_failure", session_id=session)
        clock.advance(600)
        tracker.record_outcome("b", "install_failure", session_id=session)
    # Two concurrent sessions within seconds of each other stay apart.
    tracker.record_outcome("c", "install_failure", session_id="s3")
    tracker.record_outcome("d", "install_failure", session_id="s4")
    tracker.record_outcome("c", "install_failure", session_id="s5")
    tracker.record_outcome("d", "install_failure", session_id="s6")
    assert tracker.get_co_failure_pairs() == [("a", "b", 2)]


def test_all_events_are_kept_not_only_the_last_thousand(tracker: ComponentTracker) -> None:
    # Seed fault: only the most recent 1,000 events were kept.
    for i in range(1_500):
        tracker.record_outcome(f"c{i % 7}", "used_in_session")
    assert sum(1 for _ in tracker.events()) == 1_500
    assert sum(s.usage_count for s in tracker.all_stats()) == 1_500


def test_save_then_load_gives_the_same_statistics(
    tracker: ComponentTracker, clock: FakeClock, tmp_path: Path
) -> None:
    for outcome in OutcomeType:
        tracker.record_outcome("a", outcome, "ctx", session_id="s1")
        clock.advance(1)
    tracker.record_outcome("b", "install_failure")
    path = tmp_path / "tracker.json"
    assert tracker.save(path) == 6
    with ComponentTracker.load(path) as loaded:
        assert loaded.all_stats() == tracker.all_stats()
        assert list(loaded.events()) == list(tracker.events())


def test_loading_a_missing_file_gives_an_empty_tracker(tmp_path: Path) -> None:
    with ComponentTracker.load(tmp_path / "missing.json") as loaded:
        assert loaded.all_stats() == []


def test_a_corrupt_file_is_quarantined_not_silently_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Seed fault: a bad file loaded as empty and the next save destroyed the history.
    path = tmp_path / "tracker.json"
    path.write_text('{"format": "outcomes.components", "version": 1, "events": [{"eve')
    with caplog.at_level(logging.WARNING, logger="outcomes.components"):
        loaded = ComponentTracker.load(path, store=MemoryStore())
    assert loaded.all_stats() == []
    assert not path.exists()
    aside = list(tmp_path.glob("tracker.json.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_text().endswith('"eve')
    assert "could not be loaded" in caplog.text
    loaded.record_outcome("x", "install_success")
    loaded.save(path)
    loaded.close()
    assert aside[0].exists()
    assert json.loads(path.read_text())["events"][0]["component_id"] == "x"
