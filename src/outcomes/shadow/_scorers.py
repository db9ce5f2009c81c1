"""Derived confidence scorers: any callable from signals to a number in [0, 1]."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

FRESHNESS_HALF_LIFE_DAYS = 30.0
AGE_DECAY_PER_DAY = 0.002
AGE_DECAY_MAX = 0.2


class Scorer(Protocol):
    """Computes a derived confidence in [0, 1] from an observation's signals."""

    def __call__(self, signals: Mapping[str, Any], /) -> float: ...


def _num(signals: Mapping[str, Any], name: str, default: float) -> float:
    value = signals.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    value = float(value)
    return value if math.isfinite(value) else default


def seed_confidence(signals: Mapping[str, Any], /) -> float:
    """The example scorer: the derived confidence of the ai-memory shadow telemetry, so
    calibration compares the value that tool computed (docs/compat.md).

    ``base = 0.5 + 0.1 * atom + 0.05 * log10(1 + corroborations) - age_decay`` with
    ``age_decay = min(0.2, 0.002 * age_days)``, blended with the source's baseline by
    freshness ``f = 2 ** (-age_days / 30)``: ``f * base + (1 - f) * baseline``, clamped to
    [0, 1]. Missing or malformed signals take neutral defaults (age 0, no atom, no
    corroboration, baseline 0.5).
    """
    age = max(0.0, _num(signals, "source_age_days", 0.0))
    atom = 1.0 if signals.get("atom_derivation") is True else 0.0
    corroborations = max(0.0, _num(signals, "prior_corroboration_count", 0.0))
    baseline = min(1.0, max(0.0, _num(signals, "baseline_per_source", 0.5)))
    base = (
        0.5
        + 0.1 * atom
        + 0.05 * math.log10(1.0 + corroborations)
        - min(AGE_DECAY_MAX, AGE_DECAY_PER_DAY * age)
    )
    freshness: float = 2.0 ** (-age / FRESHNESS_HALF_LIFE_DAYS)
    return min(1.0, max(0.0, freshness * base + (1.0 - freshness) * baseline))
