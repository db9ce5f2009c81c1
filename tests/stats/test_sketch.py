"""The latency sketch: quantiles within 1% of the sample's, merging in any split."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import pytest
from hypothesis import given

from outcomes.stats._buckets import RELATIVE_ACCURACY
from outcomes.stats._sketch import LatencySketch

values = st.lists(st.floats(1e-6, 1e4, allow_nan=False), min_size=1, max_size=300)


@given(values, st.floats(0.0, 1.0))
def test_a_quantile_is_within_the_stated_relative_error_of_the_sample(
    xs: list[float], q: float
) -> None:
    sketch = LatencySketch()
    for x in xs:
        sketch.add(x)
    truth = sorted(xs)[math.floor(q * (len(xs) - 1))]
    got = sketch.quantile(q)
    assert got is not None
    assert abs(got - truth) <= RELATIVE_ACCURACY * truth * (1 + 1e-9)


@given(values, st.integers(0, 300))
def test_merging_two_parts_equals_adding_everything(xs: list[float], cut: int) -> None:
    whole, left, right = LatencySketch(), LatencySketch(), LatencySketch()
    for i, x in enumerate(xs):
        whole.add(x)
        (left if i < cut else right).add(x)
    left.merge(right)
    assert left.items() == whole.items()
    assert left.n == whole.n
    assert left.max_value == whole.max_value
    assert math.isclose(left.total, whole.total, rel_tol=1e-9)


@given(values)
def test_the_text_form_round_trips(xs: list[float]) -> None:
    sketch = LatencySketch()
    for x in xs:
        sketch.add(x)
    assert LatencySketch.decode_buckets(sketch.encode()) == dict(sketch.items())
    back = LatencySketch.from_json(sketch.to_json())
    assert back.items() == sketch.items()
    assert back.n == sketch.n


def test_a_p95_on_a_wide_spread_is_within_one_percent_where_fixed_buckets_were_not() -> None:
    # Log-normal-like latencies between 0.2 s and 9 s: the doubling buckets put p95 at
    # the interpolated middle of (5.12, 10.24]; the sketch stays within 1%.
    xs = [0.2 * (1.04**i) for i in range(100)]
    sketch = LatencySketch()
    for x in xs:
        sketch.add(x)
    truth = sorted(xs)[math.floor(0.95 * 99)]
    got = sketch.quantile(0.95)
    assert got is not None
    assert abs(got - truth) / truth <= RELATIVE_ACCURACY


@pytest.mark.parametrize("bad", ["1:2,3", "a:1", "1,2", ",", "1:2,"])
def test_damaged_bucket_text_is_refused_with_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError, match="bad sketch buckets"):
        LatencySketch.decode_buckets(bad)


def test_negative_or_non_finite_values_are_refused() -> None:
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="finite and >= 0"):
            LatencySketch().add(bad)
    assert LatencySketch().quantile(0.5) is None


def test_long_joined_texts_decode_to_the_summed_counts_and_bad_ones_are_refused() -> None:
    # Many rollup rows' sketches joined (the dashboard's time ranges) are parsed by NumPy.
    pairs = [(i % 300 - 100, i % 50 + 1) for i in range(3000)]
    text = ",".join(f"{i}:{c}" for i, c in pairs)
    want: dict[int, int] = {}
    for i, c in pairs:
        want[i] = want.get(i, 0) + c
    assert LatencySketch.decode_buckets(text) == want
    for bad in (",x:1", ",1.5:2", ",3", ":4", ",,", ",1:2:3"):
        with pytest.raises(ValueError, match="bad sketch buckets"):
            LatencySketch.decode_buckets(text + bad)


@given(
    st.lists(st.floats(min_value=0.0, max_value=1e4), max_size=60),
    st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=5),
)
def test_quantiles_in_one_walk_equal_each_quantile(xs: list[float], qs: list[float]) -> None:
    sketch = LatencySketch()
    for x in xs:
        sketch.add(x)
    assert sketch.quantiles(qs) == [sketch.quantile(q) for q in qs]


def test_quantiles_refuse_a_q_outside_zero_to_one_even_when_empty() -> None:
    with pytest.raises(ValueError, match="q must be"):
        LatencySketch().quantiles([0.5, 1.5])
