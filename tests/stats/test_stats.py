"""Shared statistics checked against independent computations."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from outcomes.stats import (
    LATENCY_BUCKETS_S,
    DecayedMean,
    Histogram,
    beta_posterior,
    wilson_interval,
)


def test_beta_posterior_matches_scipy() -> None:
    p = beta_posterior(8, 2)
    assert p.mean == pytest.approx(9 / 12)
    low, high = p.interval()
    assert low == pytest.approx(sps.beta.ppf(0.025, 9, 3))
    assert high == pytest.approx(sps.beta.ppf(0.975, 9, 3))
    assert p.prob_below(0.5) == pytest.approx(sps.beta.cdf(0.5, 9, 3))


def test_wilson_interval_known_value() -> None:
    # 8/10 at 95%: the textbook Wilson interval is (0.490, 0.943).
    low, high = wilson_interval(8, 10) or (0, 0)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    assert wilson_interval(0, 0) is None


def test_histogram_quantiles_track_the_data() -> None:
    rng = random.Random(1)
    values = [rng.lognormvariate(-1.0, 0.8) for _ in range(20_000)]
    h = Histogram(LATENCY_BUCKETS_S)
    for v in values:
        h.add(v)
    values.sort()
    for q in (0.5, 0.95, 0.99):
        exact = values[int(q * len(values))]
        got = h.quantile(q)
        assert got is not None
        # Within the width of the bucket that holds it (buckets double in size).
        assert exact / 2 <= got <= exact * 2
    assert h.mean == pytest.approx(sum(values) / len(values))
    assert Histogram(LATENCY_BUCKETS_S).quantile(0.5) is None


@given(st.lists(st.floats(0, 200), max_size=60), st.integers(0, 60))
def test_histogram_merge_equals_adding_everything(values: list[float], split: int) -> None:
    a, b, whole = (Histogram(LATENCY_BUCKETS_S) for _ in range(3))
    for i, v in enumerate(values):
        (a if i < split else b).add(v)
        whole.add(v)
    a.merge(b)
    assert a.counts == whole.counts
    assert a.n == whole.n
    assert a.total == pytest.approx(whole.total)


@given(
    st.lists(st.tuples(st.floats(0, 1), st.floats(1.6e9, 1.9e9)), min_size=1, max_size=40),
    st.randoms(),
)
def test_decayed_mean_is_order_independent_and_mergeable(
    obs: list[tuple[float, float]], rnd: random.Random
) -> None:
    forward = DecayedMean(half_life=7 * 86400)
    for v, t in obs:
        forward.add(v, t)
    shuffled = obs[:]
    rnd.shuffle(shuffled)
    half = len(shuffled) // 2
    a, b = DecayedMean(7 * 86400), DecayedMean(7 * 86400)
    for v, t in shuffled[:half]:
        a.add(v, t)
    for v, t in shuffled[half:]:
        b.add(v, t)
    a.merge(b)
    assert a.count == forward.count
    assert a.mean == pytest.approx(forward.mean, rel=1e-9, abs=1e-12)


def test_decayed_mean_weights_recent_values_more() -> None:
    d = DecayedMean(half_life=86400)
    d.add(0.0, 1_800_000_000.0 - 86400)  # a day older: half the weight
    d.add(1.0, 1_800_000_000.0)
    assert d.mean == pytest.approx(2 / 3)
    assert d.effective_count(1_800_000_000.0) == pytest.approx(1.5)
    assert not math.isnan(d.mean or 0)
