"""Conflicts: planted pairs are found, popular independently failing pairs are not."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import fisher_exact

from outcomes.components import ComponentTracker
from outcomes.components._conflicts import find_conflicts, install_sessions
from outcomes.errors import ConfigError
from outcomes.testing import FakeClock, MemoryStore
from outcomes.testing.components import SimComponent, simulate

PLANTED = {("mid-0", "popular-0"), ("mid-1", "mid-2"), ("mid-3", "rare-0")}


def _population() -> list[SimComponent]:
    comps = [SimComponent(f"popular-{i}", install_prob=0.8, fail_prob=0.3) for i in range(6)]
    comps.append(SimComponent("mid-0", install_prob=0.2, fail_prob=0.05))
    comps += [SimComponent(f"mid-{i}", install_prob=0.3, fail_prob=0.05) for i in range(1, 10)]
    comps += [SimComponent(f"rare-{i}", install_prob=0.08, fail_prob=0.1) for i in range(30)]
    return comps


def _tracker_with(seed: int, *, with_session_ids: bool = True) -> ComponentTracker:
    store = MemoryStore()
    tracker = ComponentTracker(store)
    store.write(
        simulate(
            _population(),
            600,
            rng=random.Random(seed),
            conflicts=sorted(PLANTED),
            conflict_fail_prob=0.85,
            with_session_ids=with_session_ids,
        )
    )
    tracker.refresh()
    return tracker


@pytest.mark.parametrize("seed", range(8))
def test_planted_conflicts_are_found_and_popular_pairs_are_not(seed: int) -> None:
    with _tracker_with(seed) as tracker:
        analysis = tracker.find_conflicts()
        found = {(c.component_a, c.component_b) for c in analysis.conflicts}
        assert found >= PLANTED
        # The seed's raw count flags popular pairs that merely fail often on their own.
        raw = {(a, b) for a, b, _ in tracker.get_co_failure_pairs()}
        popular_pairs = {
            (a, b) for a, b in raw if a.startswith("popular") and b.startswith("popular")
        }
        assert len(popular_pairs) == 15
        assert not popular_pairs & found
        assert analysis.sessions == 600
        assert analysis.pairs_tested >= len(raw)
        for conflict in analysis.conflicts:
            assert conflict.joint_failures >= 3
            assert conflict.lift >= 2.0
            assert conflict.q_value <= 0.05
            assert conflict.confidence == min(conflict.joint_failures / 5, 1.0)


def test_false_discoveries_stay_near_the_chosen_rate() -> None:
    # Benjamini-Hochberg bounds the expected share of false conflicts among those found
    # (5% here); over many simulated populations the observed share stays small.
    found = false = 0
    for seed in range(100, 125):
        with _tracker_with(seed) as tracker:
            pairs = {(c.component_a, c.component_b) for c in tracker.find_conflicts().conflicts}
        found += len(pairs)
        false += len(pairs - PLANTED)
    assert found >= 3 * 25
    assert false / found <= 0.1


def test_time_gaps_find_the_same_conflicts_when_sessions_have_no_ids() -> None:
    with _tracker_with(1) as with_ids, _tracker_with(1, with_session_ids=False) as by_gap:
        assert by_gap.find_conflicts() == with_ids.find_conflicts()


def test_p_values_are_one_sided_fisher_and_q_values_benjamini_hochberg() -> None:
    with _tracker_with(2) as tracker:
        everything = tracker.find_conflicts(min_joint=1, min_lift=0.0, fdr=0.999999)
    conflicts = everything.conflicts
    assert len(conflicts) > 50
    n = everything.sessions
    for c in conflicts[:: max(1, len(conflicts) // 40)]:
        table = [
            [c.joint_failures, c.failures_a - c.joint_failures],
            [c.failures_b - c.joint_failures, n - c.failures_a - c.failures_b + c.joint_failures],
        ]
        _, expected = fisher_exact(table, alternative="greater")
        assert c.p_value == pytest.approx(expected, rel=1e-6, abs=1e-300)
        assert c.lift == pytest.approx(c.joint_failures * n / (c.failures_a * c.failures_b))
    # Benjamini-Hochberg by hand over every pair tested (the huge fdr returns them all).
    assert len(conflicts) == everything.pairs_tested
    p = np.array([c.p_value for c in conflicts])
    order = np.argsort(p)
    m = len(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1.0)
    q = np.empty(m)
    q[order] = q_sorted
    assert [c.q_value for c in conflicts] == pytest.approx(list(q))


def test_two_joint_failures_are_not_a_conflict_however_striking() -> None:
    sessions = [{"x", "y"}, {"x", "y"}] + [set() for _ in range(200)]
    assert find_conflicts(sessions).conflicts == ()
    sessions.append({"x", "y"})
    (conflict,) = find_conflicts(sessions).conflicts
    assert (conflict.component_a, conflict.component_b, conflict.joint_failures) == ("x", "y", 3)
    assert conflict.confidence == pytest.approx(0.6)


def test_confidence_saturates_at_five_joint_failures() -> None:
    sessions = [{"x", "y"} for _ in range(8)] + [set() for _ in range(200)]
    (conflict,) = find_conflicts(sessions).conflicts
    assert conflict.confidence == 1.0


def test_low_lift_is_not_a_conflict_even_when_significant() -> None:
    # x and y fail in most sessions: they co-fail a lot, but barely more than chance.
    rng = random.Random(5)
    sessions = []
    for _ in range(2_000):
        failed = set()
        if rng.random() < 0.7:
            failed.add("x")
        if rng.random() < (0.8 if "x" in failed else 0.6):
            failed.add("y")
        sessions.append(failed)
    analysis = find_conflicts(sessions, min_lift=1.0)
    assert [(c.component_a, c.component_b) for c in analysis.conflicts] == [("x", "y")]
    assert analysis.conflicts[0].lift < 2.0
    assert find_conflicts(sessions).conflicts == ()


def test_sessions_without_failures_count_in_the_population() -> None:
    rows = [
        ("a", "install_success", 0.0, "s1"),
        ("b", "install_failure", 1.0, "s2"),
        ("c", "install_failure", 1.0, "s2"),
        ("a", "install_success", 1000.0, None),
        ("b", "install_success", 1010.0, None),
        ("b", "install_failure", 2000.0, None),
        ("a", "used_in_session", 3000.0, None),
    ]
    assert install_sessions(rows) == [set(), {"b", "c"}, set(), {"b"}]


def test_no_failures_means_nothing_tested() -> None:
    analysis = find_conflicts([set(), {"a"}, set()])
    assert (analysis.sessions, analysis.pairs_tested, analysis.conflicts) == (3, 0, ())


def test_a_bad_false_discovery_rate_is_refused() -> None:
    with ComponentTracker(clock=FakeClock()) as tracker, pytest.raises(ConfigError, match="fdr"):
        tracker.find_conflicts(fdr=1.5)


def test_conflict_json_is_plain_data() -> None:
    sessions = [{"x", "y"} for _ in range(4)] + [set() for _ in range(100)]
    data = find_conflicts(sessions).to_json()
    assert data["sessions"] == 104
    assert data["conflicts"][0]["component_a"] == "x"
    assert set(data["conflicts"][0]) >= {
        "joint_failures",
        "lift",
        "p_value",
        "q_value",
        "confidence",
    }
