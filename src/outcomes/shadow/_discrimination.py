"""Whether a score ranks outcomes (AUC) and how its Brier score splits, from bucket sums.

A score can win on Brier score by matching the base rate alone: a constant at the observed
rate of positive outcomes beats any score whose base rate is off, however well that score
ranks. The report therefore shows, for each score, the AUC (the probability that a random
positive row scores higher than a random negative one, ties counting one half) with its
DeLong 95% interval, and the Murphy decomposition of the Brier score over the report's
equal-count bins: reliability (miscalibration, lower is better), resolution (how far the
bins' outcome rates spread from the base rate, higher is better) and uncertainty (the base
rate's variance, the same for every score). Scores are resolved to buckets of width
``1 / FINE``: rows in one bucket count as ties.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Auc:
    """AUC with its DeLong 95% interval (clipped to [0, 1])."""

    value: float
    interval: tuple[float, float]

    @property
    def ranks(self) -> bool:
        """Whether the score ranks outcomes better than chance (interval above 0.5)."""
        return self.interval[0] > 0.5


def auc(positives: FloatArray, negatives: FloatArray) -> Auc | None:
    """AUC of a score from its positive and negative row counts per bucket (in score order).

    ``None`` when either class is absent. DeLong's variance uses each row's placement
    value, which is the same for every row of a bucket.
    """
    n_pos, n_neg = float(positives.sum()), float(negatives.sum())
    if n_pos <= 0 or n_neg <= 0:
        return None
    below_neg = np.cumsum(negatives) - negatives
    above_pos = n_pos - np.cumsum(positives)
    v10 = (below_neg + 0.5 * negatives) / n_neg  # per positive row of the bucket
    v01 = (above_pos + 0.5 * positives) / n_pos  # per negative row of the bucket
    value = float((positives * v10).sum() / n_pos)
    s10 = float((positives * (v10 - value) ** 2).sum()) / max(n_pos - 1, 1)
    s01 = float((negatives * (v01 - value) ** 2).sum()) / max(n_neg - 1, 1)
    half = Z95 * math.sqrt(s10 / n_pos + s01 / n_neg)
    return Auc(value, (max(0.0, value - half), min(1.0, value + half)))


@dataclass(frozen=True, slots=True)
class BrierDecomposition:
    """Murphy's terms over the report's bins: Brier ~ reliability - resolution + uncertainty.

    The identity is exact when every row of a bin has the bin's mean score; otherwise
    the scores' spread within bins leaves a small remainder (their within-bin variance
    minus twice their within-bin covariance with the outcomes).
    """

    reliability: float
    resolution: float
    uncertainty: float


def decomposition(
    bins: Sequence[tuple[int, float, float]], total: int
) -> BrierDecomposition | None:
    """Decompose over bins given as ``(rows, sum of scores, sum of outcomes)``."""
    if not total:
        return None
    base = math.fsum(b[2] for b in bins) / total
    reliability = math.fsum(n * (s / n - y / n) ** 2 for n, s, y in bins if n) / total
    resolution = math.fsum(n * (y / n - base) ** 2 for n, _, y in bins if n) / total
    return BrierDecomposition(reliability, resolution, base * (1.0 - base))
