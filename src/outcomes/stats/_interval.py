"""Intervals of a success probability as plain functions of the counts.

Apart from :class:`~outcomes.stats.BetaPosterior` (a record) so that a reader that only
prints intervals (``outcomes models --json`` answered from rollup rows) loads no
record machinery; the posterior's methods call these same functions.
"""

from __future__ import annotations

import math

from outcomes.stats._beta import betaincinv

Z95 = 1.959963984540054


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion; ``None`` when ``n == 0``.

    It always contains the observed proportion ``successes / n`` (also after rounding),
    so it is the interval to show next to an observed rate.
    """
    if n <= 0:
        return None
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def credible_interval(alpha: float, beta: float, level: float = 0.95) -> tuple[float, float]:
    """The equal-tailed ``level`` credible interval of a Beta(``alpha``, ``beta``)."""
    tail = (1.0 - level) / 2.0
    return betaincinv(alpha, beta, tail), betaincinv(alpha, beta, 1.0 - tail)
