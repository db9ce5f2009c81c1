"""Forward-decayed sums in the log domain (the epoch, their addition, the mean they give)
and the constants of the earlier tracker's moving average of quality.

Plain functions (no record), shared by :class:`~outcomes.stats.DecayedMean`, the
profiles' :class:`~outcomes.stats._profiles.OutcomeStats` and the leaderboard read
from rollup rows (:mod:`outcomes.inference._board`).
"""

from __future__ import annotations

import math

DECAY_EPOCH = 1_704_067_200.0
"""Fixed reference time (2024-01-01 UTC) for forward-decayed sums."""
EMA_ALPHA = 0.2
"""The earlier tracker's moving average of quality (``ema_quality``, decayed by count,
not time): the weight of each new value."""
EMA_PRIOR = 0.5
"""``ema_quality`` before any value."""


def logaddexp(a: float, b: float) -> float:
    """``log(exp(a) + exp(b))`` without overflow (``-inf`` is the empty sum)."""
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def _exp(x: float) -> float:
    # The other weights are at most w_pos (values in [0, 1], taken back <= added), so x <= 0
    # but for rounding; a stored row that says otherwise must not raise OverflowError
    # (past 709.78) out of a read: the mean is clamped below.
    return math.exp(min(x, 709.0))


def decayed_mean(
    n: int, total: float, w_pos: float, wq_pos: float, w_neg: float, wq_neg: float
) -> float | None:
    """The decayed mean quality of ``n`` values summing to ``total`` whose decayed
    weights (log domain) were added to ``w_pos`` and the weighted values to ``wq_pos``,
    and taken back into ``w_neg`` / ``wq_neg``: ``None`` without any; the plain mean
    when the weights cancel out; otherwise clamped to [0, 1]."""
    if n <= 0 or w_pos == -math.inf:
        return None
    m = w_pos
    w = 1.0 - (_exp(w_neg - m) if w_neg != -math.inf else 0.0)
    wq = (_exp(wq_pos - m) if wq_pos != -math.inf else 0.0) - (
        _exp(wq_neg - m) if wq_neg != -math.inf else 0.0
    )
    if w <= 1e-12:
        return total / n
    # The log-domain weights carry ~1e-14 relative error; do not show it.
    return round(min(1.0, max(0.0, wq / w)), 12)
