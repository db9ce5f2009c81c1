"""The pure-Python incomplete beta and its inverse agree with scipy's."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betainc as scipy_betainc
from scipy.special import betaincinv as scipy_betaincinv

from outcomes.stats._beta import betainc, betaincinv

SHAPES = (0.5, 1.0, 1.5, 2.0, 3.0, 7.3, 9.99, 10.0, 10.01, 50.0, 100.5, 1e3, 1e4, 1e5, 1e6, 1e7)
GRID = list(itertools.product(SHAPES, SHAPES))


@pytest.mark.parametrize(("a", "b"), GRID)
def test_incomplete_beta_matches_scipy(a: float, b: float) -> None:
    for x in (1e-9, 1e-5, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-7):
        assert betainc(a, b, x) == pytest.approx(float(scipy_betainc(a, b, x)), abs=1e-10)


@pytest.mark.parametrize(("a", "b"), GRID)
def test_quantiles_match_scipy(a: float, b: float) -> None:
    for p in (0.025, 0.05, 0.1, 0.5, 0.9, 0.95, 0.975):
        assert betaincinv(a, b, p) == pytest.approx(float(scipy_betaincinv(a, b, p)), abs=1e-9)


@pytest.mark.parametrize(("a", "b"), GRID)
def test_extreme_quantiles_give_back_their_probability(a: float, b: float) -> None:
    # Far in the tails scipy's own inverse drifts (1e-3 relative at Beta(1e7, 1e3),
    # p = 1e-9); its forward function is the sharper referee there.
    for p in (1e-9, 1e-6, 0.999999):
        x = betaincinv(a, b, p)
        if 1e-9 < x < 1 - 1e-9:
            got = float(scipy_betainc(a, b, x))
            assert abs(got - p) <= 1e-6 * min(p, 1 - p) + 1e-15


@settings(max_examples=300, deadline=None)
@given(
    a=st.floats(0.5, 1e6),
    b=st.floats(0.5, 1e6),
    p=st.floats(0.001, 0.999),
)
def test_random_quantiles_match_scipy(a: float, b: float, p: float) -> None:
    assert betaincinv(a, b, p) == pytest.approx(float(scipy_betaincinv(a, b, p)), abs=1e-9)


def test_the_ends_and_the_order_of_quantiles() -> None:
    assert betaincinv(3.0, 4.0, 0.0) == 0.0
    assert betaincinv(3.0, 4.0, 1.0) == 1.0
    assert betainc(3.0, 4.0, 0.0) == 0.0
    assert betainc(3.0, 4.0, 1.0) == 1.0
    quantiles = [betaincinv(30.0, 7.0, p / 100) for p in range(1, 100)]
    assert quantiles == sorted(quantiles)


LARGE = (1e3, 3e3, 1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7)


@pytest.mark.parametrize(("a", "b"), list(itertools.product(LARGE, LARGE)))
def test_quantiles_of_large_counts_match_scipy_relatively(a: float, b: float) -> None:
    # The leaderboard's intervals at a million receipts: a posterior there is ~1e-3 wide,
    # so an absolute 1e-9 says little. Its probability, by scipy's forward function (the
    # sharper referee: its inverse drifts by 1e-9 relative at Beta(1e3, 1e7)), must be
    # right to 1e-9 of the tail, and x must agree with scipy's inverse to 1e-10 of
    # min(x, 1 - x) where the shapes are less than 1e3 apart.
    for p in (0.025, 0.5, 0.975):
        x = betaincinv(a, b, p)
        assert abs(float(scipy_betainc(a, b, x)) - p) <= 1e-9 * min(p, 1.0 - p)
        if max(a, b) / min(a, b) < 1e3:
            want = float(scipy_betaincinv(a, b, p))
            assert abs(x - want) <= 1e-10 * min(want, 1.0 - want)
