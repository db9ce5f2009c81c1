"""The example derived scorer: the seed project's formula, checked by hand."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.shadow import ConfidenceSignals, seed_confidence


def test_fresh_atom_with_corroboration_by_hand() -> None:
    s = ConfidenceSignals(
        source_age_days=0.0, atom_derivation=True, prior_corroboration_count=9
    ).as_dict()
    # base = 0.5 + 0.1 + 0.05 * log10(10) - 0 = 0.65; freshness 1 -> no baseline blend.
    assert seed_confidence(s) == pytest.approx(0.65)


def test_thirty_day_old_item_blends_half_with_its_source_baseline() -> None:
    s = ConfidenceSignals(source_age_days=30.0, baseline_per_source=0.9).as_dict()
    base = 0.5 - 0.002 * 30
    assert seed_confidence(s) == pytest.approx(0.5 * base + 0.5 * 0.9)


def test_very_old_item_tends_to_its_source_baseline() -> None:
    s = ConfidenceSignals(source_age_days=3_650.0, baseline_per_source=0.2).as_dict()
    assert seed_confidence(s) == pytest.approx(0.2, abs=1e-9)


def test_missing_and_garbage_signals_take_neutral_defaults() -> None:
    assert seed_confidence({}) == pytest.approx(0.5)
    assert seed_confidence(
        {"source_age_days": "old", "prior_corroboration_count": float("nan")}
    ) == pytest.approx(0.5)


@given(
    age=st.floats(allow_nan=True, allow_infinity=True),
    atom=st.booleans(),
    corr=st.integers(min_value=-10, max_value=10**9),
    base=st.floats(allow_nan=True, allow_infinity=True),
)
def test_score_is_always_a_probability(age: float, atom: bool, corr: int, base: float) -> None:
    value = seed_confidence(
        {
            "source_age_days": age,
            "atom_derivation": atom,
            "prior_corroboration_count": corr,
            "baseline_per_source": base,
        }
    )
    assert math.isfinite(value)
    assert 0.0 <= value <= 1.0
