"""The uncertainty-aware view: posteriors, unknowns, problematic with evidence, ranking."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from outcomes.components import ComponentEvent, ComponentStats, ComponentTracker, OutcomeType
from outcomes.components._records import PROBLEM_PROBABILITY
from outcomes.testing import FakeClock, MemoryStore


def _record(tracker: ComponentTracker, cid: str, successes: int, failures: int) -> None:
    for _ in range(successes):
        tracker.record_outcome(cid, "install_success")
    for _ in range(failures):
        tracker.record_outcome(cid, "install_failure")


def test_without_attempts_the_rate_is_unknown_not_zero(tracker: ComponentTracker) -> None:
    tracker.record_outcome("a", "used_in_session")
    report = tracker.report_for("a")
    assert report is not None
    assert report.attempts == 0
    assert report.success_rate is None
    assert report.success_interval is None
    assert report.prob_rate_below_half is None
    assert report.compatibility_score is None
    assert report.problematic is False
    data = report.to_json()
    assert data["success_rate"] is None
    assert data["success_interval"] is None
    assert tracker.report_for("never-seen") is None


def test_rate_and_interval_come_from_the_beta_posterior(tracker: ComponentTracker) -> None:
    _record(tracker, "a", successes=7, failures=3)
    report = tracker.report_for("a")
    assert report is not None
    assert report.success_rate == pytest.approx(0.7)
    assert report.posterior_mean == pytest.approx(8 / 12)
    low, high = report.posterior_interval or (None, None)
    assert low == pytest.approx(sps.beta.ppf(0.025, 8, 4))
    assert high == pytest.approx(sps.beta.ppf(0.975, 8, 4))
    assert report.prob_rate_below_half == pytest.approx(sps.beta.cdf(0.5, 8, 4))


@pytest.mark.parametrize(
    ("successes", "failures", "score"),
    [(0, 1, None), (3, 1, None), (4, 0, None), (4, 1, 80), (2, 3, 40), (9, 1, 90)],
)
def test_compatibility_score_is_unknown_below_five_attempts(
    tracker: ComponentTracker, successes: int, failures: int, score: int | None
) -> None:
    _record(tracker, "a", successes, failures)
    report = tracker.report_for("a")
    assert report is not None
    assert report.compatibility_score == score


@pytest.mark.parametrize(
    ("successes", "failures", "posterior_flag", "seed_flag"),
    [
        (0, 3, True, True),  # P(rate < .5) = 1 - .5**4 = 0.9375
        (1, 3, False, True),  # P = 0.8125: a 25% raw rate on 4 tries is not evidence enough
        (1, 4, True, True),  # P = 0.89: 4 failed installs out of 5 is a failing component
        (2, 5, True, True),  # P = 0.855
        (2, 4, False, True),  # P = 0.77
        (2, 8, True, True),
        (0, 2, False, False),  # fewer than 3 failures, whatever the posterior says
        (5, 5, False, False),
        (3, 12, True, True),
    ],
)
def test_problematic_needs_posterior_evidence_and_three_failures(
    tracker: ComponentTracker,
    successes: int,
    failures: int,
    posterior_flag: bool,
    seed_flag: bool,
) -> None:
    _record(tracker, "a", successes, failures)
    report = tracker.report_for("a")
    assert report is not None
    assert report.problematic is posterior_flag
    expected_p = sps.beta.cdf(0.5, 1 + successes, 1 + failures)
    assert report.prob_rate_below_half == pytest.approx(expected_p)
    assert tracker.get_problematic_components() == (["a"] if posterior_flag else [])
    assert tracker.get_problematic_components(rule="seed") == (["a"] if seed_flag else [])


def test_ranking_multiplier_follows_the_success_rate(tracker: ComponentTracker) -> None:
    _record(tracker, "good", 5, 0)
    _record(tracker, "half", 2, 2)
    tracker.record_outcome("unused", "used_in_session")
    assert tracker.ranking_multiplier("good").value == pytest.approx(1.0)
    half = tracker.ranking_multiplier("half")
    assert half.value == pytest.approx(0.85)
    assert half.reasons == ("install success 2/4 (50%): x0.85",)
    assert tracker.ranking_multiplier("unused").value == 1.0
    assert tracker.ranking_multiplier("unused").reasons == ("no install attempts: x1.00",)
    unknown = tracker.ranking_multiplier("nobody")
    assert unknown.value == 1.0
    assert "no outcomes" in unknown.reasons[0]


def test_deprecation_divides_the_multiplier_by_ten(tracker: ComponentTracker) -> None:
    _record(tracker, "old", 4, 1)
    tracker.record_outcome("old", OutcomeType.DEPRECATED)
    tracker.record_outcome("gone", OutcomeType.DEPRECATED)
    old = tracker.ranking_multiplier("old")
    assert old.value == pytest.approx((0.7 + 0.3 * 0.8) * 0.1)
    assert old.reasons[-1] == "deprecated: x0.10"
    assert tracker.ranking_multiplier("gone").value == pytest.approx(0.1)
    report = tracker.report_for("old")
    assert report is not None
    assert report.ranking_multiplier == pytest.approx(old.value)
    assert list(report.ranking_reasons) == list(old.reasons)


def test_report_json_has_the_documented_fields(tracker: ComponentTracker) -> None:
    _record(tracker, "a", 1, 5)
    tracker.record_outcome("a", "removed_by_user")
    tracker.record_outcome("a", "removed_by_user")
    (report,) = tracker.report()
    data = report.to_json()
    for key in (
        "component_id",
        "successes",
        "failures",
        "usage_count",
        "removal_count",
        "deprecated",
        "success_rate",
        "success_interval",
        "problematic",
    ):
        assert key in data
    assert data["success_rate"] == pytest.approx(1 / 6)
    assert data["frequently_removed"] is True
    assert data["problematic"] is True
    assert report.flags == ("problematic", "frequently removed")


_events = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([o.value for o in OutcomeType]),
        st.floats(min_value=1.6e9, max_value=1.8e9, allow_nan=False),
    ),
    max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(events=_events, seed=st.integers(0, 2**32))
def test_folding_in_any_order_gives_the_same_statistics(
    events: list[tuple[str, str, float]], seed: int
) -> None:
    records = [ComponentEvent(f"e{i}", c, o, t) for i, (c, o, t) in enumerate(events)]
    shuffled = records[:]
    random.Random(seed).shuffle(shuffled)
    in_order, out_of_order = MemoryStore(), MemoryStore()
    in_order.write(records)
    out_of_order.write(shuffled)
    with (
        ComponentTracker(in_order) as first,
        ComponentTracker(out_of_order) as second,
    ):
        assert first.all_stats() == second.all_stats()
        for stats in first.all_stats():
            assert min(stats.successes, stats.failures, stats.usage_count) >= 0
            expected = sum(1 for c, o, _ in events if c == stats.component_id)
            total = stats.attempts + stats.usage_count + stats.removal_count
            assert total <= expected


@settings(max_examples=80, deadline=None)
@given(successes=st.integers(0, 500), failures=st.integers(0, 500))
def test_each_rate_lies_in_its_own_interval_and_both_stay_in_bounds(
    successes: int, failures: int
) -> None:
    report = ComponentStats("a", successes=successes, failures=failures).report()
    if successes + failures == 0:
        assert report.success_interval is None
        assert report.posterior_interval is None
        return
    low, high = report.posterior_interval or (0.0, 0.0)
    assert 0.0 <= low <= report.posterior_mean <= high <= 1.0
    # The observed rate and the interval shown beside it never contradict each other.
    low, high = report.success_interval or (0.0, 0.0)
    assert 0.0 <= low <= (report.success_rate or 0.0) <= high <= 1.0
    assert report.problematic == (
        failures >= 3 and (report.prob_rate_below_half or 0.0) >= PROBLEM_PROBABILITY
    )


@pytest.mark.parametrize(("successes", "failures"), [(7, 3), (14, 6), (70, 30), (700, 300)])
def test_components_failing_thirty_percent_are_not_problematic(
    tracker: ComponentTracker, successes: int, failures: int
) -> None:
    _record(tracker, "popular", successes, failures)
    report = tracker.report_for("popular")
    assert report is not None
    assert not report.problematic
    assert tracker.get_problematic_components() == []


def test_a_thirty_percent_failure_rate_is_rarely_flagged_at_any_attempt_count() -> None:
    # Exact probability, over the binomial draw of failures, that a component whose
    # installs truly fail 30% of the time is flagged after n attempts.
    def flagged(n: int, f: int) -> bool:
        return ComponentStats("c", successes=n - f, failures=f).report().problematic

    worst_small = worst_large = 0.0
    for n in range(1, 400):
        # More failures out of the same attempts never unflag: bisect the smallest flagged.
        low, high = 0, n + 1
        while low < high:
            mid = (low + high) // 2
            low, high = (low, mid) if mid <= n and flagged(n, mid) else (mid + 1, high)
        flagged_share = float(sps.binom.sf(low - 1, n, 0.3)) if low <= n else 0.0
        if n < 20:
            worst_small = max(worst_small, flagged_share)
        else:
            worst_large = max(worst_large, flagged_share)
    assert worst_small <= 0.031  # at 5 attempts: 4 or 5 failures, 0.3^4 * 0.7 * 5 + 0.3^5
    assert worst_large <= 0.0025


def test_hot_path_statistics_equal_the_stored_fold(clock: FakeClock) -> None:
    store = MemoryStore()
    rng = random.Random(11)
    with ComponentTracker(store, clock=clock) as live:
        for _ in range(500):
            live.record_outcome(rng.choice("abcdef"), rng.choice(list(OutcomeType)))
            clock.advance(rng.uniform(0, 5))
        live_stats = live.all_stats()
        live.refresh()
        assert live.all_stats() == live_stats
