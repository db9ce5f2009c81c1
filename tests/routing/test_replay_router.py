"""The replay measures the product: its policy is a live ``Router``, and the statistics
it feeds that router are the ones the tracker's profiles would hold."""

from __future__ import annotations

import math
import random
import statistics

import numpy as np
import pytest

from outcomes import OutcomeTracker
from outcomes.routing import Router, Weights
from outcomes.routing._matrix import Row
from outcomes.routing._replay_router import ReplayProfiles, RouterPolicy, price_registry
from outcomes.stats._profiles import COUNTS_HALF_LIFE_SHARE
from outcomes.store import MemoryStore
from outcomes.testing import FakeClock

MODELS = ("strong", "middle", "cheap")
PRICES = (0.004, 0.002, 0.0005)
RATES = {"a": (0.8, 0.7, 0.4), "b": (0.5, 0.75, 0.6)}


def _row(i: int, task: str, quality: tuple[float, ...]) -> Row:
    n = len(quality)
    return Row(f"p{i}", task, "all", "", quality, PRICES[:n], (False,) * n, (0.0,) * n)


@pytest.mark.parametrize(
    ("weights", "half_life", "min_evidence", "change_z", "guard_n"),
    [
        (Weights(), None, 0.0, None, None),
        (Weights(1.0, 0.3), 40.0, 25.0, None, None),
        (Weights(1.0, 0.3), 40.0, 25.0, 1.0, None),
        (Weights(1.0, 0.3), 40.0, 25.0, Router.change_z, None),
        (Weights(), 40.0, 25.0, Router.change_z, 20.0),
        (Weights(1.0, 0.3), None, 0.0, None, 60.0),
    ],
)
def test_replay_policy_and_a_tracker_fed_router_choose_identically(
    weights: Weights,
    half_life: float | None,
    min_evidence: float,
    change_z: float | None,
    guard_n: float | None,
) -> None:
    """Same seed, same outcomes: the replay's router (fed by ``ReplayProfiles``) and a
    router reading a real tracker's published profiles make the same 250 choices."""
    clock = FakeClock(1_750_000_000.0)
    # The tracker's counts age with a share of its half-life; the replay's with its own.
    tracker_half_life = half_life / COUNTS_HALF_LIFE_SHARE if half_life else 1e12
    tracker = OutcomeTracker(MemoryStore(), clock=clock, half_life=tracker_half_life)
    live = Router(
        registry=price_registry(MODELS, PRICES),
        tracker=tracker,
        weights=weights,
        prior_strength=0.0,
        forget=half_life is not None,
        min_evidence=min_evidence,
        change_z=change_z,
        guard_n=guard_n,
        seed=11,
        clock=clock,
        refresh_s=0.0,
        view="local",
    )
    policy = RouterPolicy(
        "outcomes",
        MODELS,
        PRICES,
        weights=weights,
        seed=11,
        half_life=half_life,
        min_evidence=min_evidence,
        change_z=change_z,
        guard_n=guard_n,
        breaker=False,
    )
    rng = random.Random(3)
    picks = []
    for i in range(250):
        task = "a" if i % 3 else "b"
        quality = tuple(float(rng.random() < p) for p in RATES[task])
        row = _row(i, task, quality)
        mine, _ = policy.choose(row)
        theirs = live.decide(task).model_id
        assert MODELS[mine] == theirs, f"decision {i} differs"
        picks.append(mine)
        # The product's way to learn the outcome: the call, then a verdict on it.
        t = tracker.record_start(theirs, task)
        tracker.record_complete(t, 100.0, 1000, 500, cost_usd=PRICES[mine])
        if quality[mine] < 1.0:
            tracker.record_inferred_outcome(t, "rejected")
        tracker.refresh_view("local")
        policy.update(row, mine, quality[mine], PRICES[mine], 0.1)
        clock.advance(1.0)
    assert len(set(picks)) > 1  # the comparison covered real choices, not one arm


def test_replay_profiles_age_like_the_tracker() -> None:
    """Counts one half-life old weigh half; the evidence floor keeps the success rate."""
    src = ReplayProfiles(("m",), half_life=10.0)
    for q in (1.0, 1.0, 0.0, 1.0):
        src.observe("t", "m", q, 0.01)
    src.clock.t = 10.0
    cell = src.snapshot().by_task["t"]["m"]
    assert cell.decayed_counts(10.0) == pytest.approx((1.5, 0.5))
    assert cell.successes == 3.0
    assert cell.failures == 1.0
    assert cell.cost_per_call == pytest.approx(0.01)
    router = Router(
        registry=price_registry(("m",), (0.01,)),
        profiles=src,
        min_evidence=4.0,
        prior_strength=0.0,
        clock=src.clock,
        refresh_s=0.0,
        seed=0,
    )
    (c,) = router.decide("t").candidates
    assert (c.successes, c.failures) == pytest.approx((3.0, 1.0))  # 2 -> 4 at 3:1


def test_warm_start_imports_every_train_outcome_and_each_tasks_cost() -> None:
    """Offline rows become history: all of them without a cap (they age like live
    outcomes), at most ``prior_cap`` at their rate with one; the mean cost per call of
    each (task, model) comes with them, and the model's cost over all tasks."""
    rng = random.Random(3)
    rows = [
        Row(
            f"p{i}",
            task,
            "train",
            "",
            tuple(float(rng.random() < r) for r in RATES[task]),
            tuple(p * (4.0 if task == "b" else 1.0) for p in PRICES),
            (False,) * 3,
            (0.0,) * 3,
        )
        for i, task in enumerate(["a"] * 300 + ["b"] * 100)
    ]
    for cap, evidence in ((math.inf, {"a": 300.0, "b": 100.0}), (50.0, {"a": 50.0, "b": 50.0})):
        pol = RouterPolicy("outcomes", MODELS, PRICES, weights=Weights(), prior_cap=cap)
        pol.warm_start(rows)
        snap = pol.source.snapshot().by_task
        for task in ("a", "b"):
            for k, m in enumerate(MODELS):
                cell = snap[task][m]
                assert cell.successes + cell.failures == pytest.approx(evidence[task])
                won = sum(r.quality[k] for r in rows if r.task == task)
                seen = sum(1 for r in rows if r.task == task)
                assert cell.successes / evidence[task] == pytest.approx(won / seen)
                assert cell.cost_per_call == pytest.approx(rows[-1 if task == "b" else 0].cost[k])
        assert snap[None]["strong"].cost_per_call == pytest.approx(PRICES[0] * (300 + 400) / 400)


def test_a_model_that_appears_mid_stream_is_only_offered_once_available() -> None:
    pol = RouterPolicy("outcomes", ("old", "new"), (0.0, 0.0), weights=Weights(), seed=0)
    seen_new = []
    for i in range(200):
        avail = (True, i >= 100)
        q = (0.5, 1.0 if i >= 100 else 0.0)
        row = Row(f"p{i}", "t", "all", "", q, (0.0, 0.0), (False, False), (0.0, 0.0), avail)
        m, _ = pol.choose(row)
        pol.update(row, m, q[m], 0.0, 0.0)
        seen_new.append(m == 1)
    assert not any(seen_new[:100])
    assert np.mean(seen_new[150:]) > 0.8


def _calls_after_drift(
    before: int, half_life: float | None, seed: int = 0, change_z: float | None = None
) -> int:
    """'a' is right 80% of the time for ``before`` decisions, then 40%; 'b' steadily
    60%. How many calls does 'a' still get in the 1,500 decisions after the change?"""
    pol = RouterPolicy(
        "outcomes",
        ("a", "b"),
        (0.0, 0.0),
        weights=Weights(),
        seed=seed,
        half_life=half_life,
        min_evidence=200.0,
        change_z=change_z,
    )
    rng = random.Random(seed)
    calls = 0
    for i in range(before + 1500):
        pa = 0.8 if i < before else 0.4
        q = (float(rng.random() < pa), float(rng.random() < 0.6))
        row = _row(i, "t", q)
        m, _ = pol.choose(row)
        pol.update(row, m, q[m], 0.0, 0.0)
        calls += i >= before and m == 0
    return calls


def test_traffic_leaves_a_degraded_model_within_a_bounded_number_of_its_calls() -> None:
    """With forgetting, the calls a model gets after it got worse do not grow with how
    long it was good; without, they do (its old successes keep it ahead). Medians over
    five seeds: in a few seeds the rival failed its first calls and is hardly tried
    again (a bandit's lock-in, not a failure to see the drift)."""

    def median(before: int, half_life: float | None, z: float | None = None) -> float:
        return statistics.median(_calls_after_drift(before, half_life, s, z) for s in range(5))

    short, long = median(1000, 300.0), median(4000, 300.0)
    assert long <= 1.5 * short + 50
    assert long < 800  # of 1,500: it lost the lead within a few hundred of its calls
    never = median(4000, None)
    assert never > 2 * long
    # Forgetting only on evidence of change: the same bound (the change is evidence).
    short, long = median(1000, 300.0, 3.0), median(4000, 300.0, 3.0)
    assert long <= 1.5 * short + 50
    assert long < 800
    assert never > 2 * long
