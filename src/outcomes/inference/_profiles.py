"""Model profiles' mergeable state; it lives in :mod:`outcomes.stats._profiles` (core), where
the stores' rollups fold it too, and is re-exported here for the wing's modules."""

from __future__ import annotations

from outcomes.inference._board import DEFAULT_DEGRADE_THRESHOLD
from outcomes.stats._decay import EMA_ALPHA, EMA_PRIOR
from outcomes.stats._profiles import (
    DEFAULT_HALF_LIFE_S,
    FOLD_FIELDS,
    RATE_LIMIT_FACTOR,
    Key,
    OutcomeStats,
    ProfileState,
    fold_values_of,
    is_rate_limit,
)

__all__ = [
    "DEFAULT_DEGRADE_THRESHOLD",
    "DEFAULT_HALF_LIFE_S",
    "EMA_ALPHA",
    "EMA_PRIOR",
    "FOLD_FIELDS",
    "RATE_LIMIT_FACTOR",
    "Key",
    "OutcomeStats",
    "ProfileState",
    "fold_values_of",
    "is_rate_limit",
]
