"""The mergeable summaries and the posterior: records over the plain functions of
``_interval``, ``_decay`` and ``_buckets`` (re-exported by :mod:`outcomes.stats`)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from outcomes._record import field, record
from outcomes.stats._beta import betainc
from outcomes.stats._decay import DECAY_EPOCH, logaddexp
from outcomes.stats._interval import credible_interval
from outcomes.stats._sketch import Summary


@record(frozen=True)
class BetaPosterior:
    """A Beta(alpha, beta) posterior of a success probability."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Equal-tailed credible interval."""
        return credible_interval(self.alpha, self.beta, level)

    def prob_below(self, threshold: float) -> float:
        """Posterior probability that the true rate is below ``threshold``."""
        return betainc(self.alpha, self.beta, threshold)


def beta_posterior(
    successes: float, failures: float, prior_alpha: float = 1.0, prior_beta: float = 1.0
) -> BetaPosterior:
    """Posterior after ``successes`` and ``failures`` from a Beta prior (default uniform)."""
    if successes < 0 or failures < 0:
        raise ValueError("counts must be >= 0")
    if prior_alpha <= 0 or prior_beta <= 0:
        raise ValueError("prior parameters must be > 0")
    return BetaPosterior(prior_alpha + successes, prior_beta + failures)


@record()
class DecayedMean:
    """An exponentially time-decayed mean, mergeable across processes.

    Forward decay: an observation at time ``t`` gets weight ``2 ** ((t - epoch) / h)``,
    kept in the log domain so no weight overflows; reading at ``now`` divides both sums
    by the same factor, so the mean depends on ages only. ``half_life`` is in seconds.
    """

    half_life: float
    log_weight: float = -math.inf
    log_weighted_sum: float = -math.inf
    count: int = 0

    def add(self, value: float, at: float) -> None:
        if not 0.0 <= value <= 1.0 or not math.isfinite(at):
            raise ValueError(f"decayed mean takes values in [0, 1], got {value!r}")
        lw = (at - DECAY_EPOCH) / self.half_life * math.log(2.0)
        self.log_weight = logaddexp(self.log_weight, lw)
        if value > 0:
            self.log_weighted_sum = logaddexp(self.log_weighted_sum, lw + math.log(value))
        self.count += 1

    def merge(self, other: DecayedMean) -> None:
        if other.half_life != self.half_life:
            raise ValueError("cannot merge decayed means with different half-lives")
        self.log_weight = logaddexp(self.log_weight, other.log_weight)
        self.log_weighted_sum = logaddexp(self.log_weighted_sum, other.log_weighted_sum)
        self.count += other.count

    @property
    def mean(self) -> float | None:
        if self.count == 0 or self.log_weight == -math.inf:
            return None
        return math.exp(self.log_weighted_sum - self.log_weight)

    def effective_count(self, now: float) -> float:
        """Sum of the decayed weights at ``now`` (how much evidence is left)."""
        if self.log_weight == -math.inf:
            return 0.0
        return math.exp(self.log_weight - (now - DECAY_EPOCH) / self.half_life * math.log(2.0))


LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)  # fmt: skip
"""OpenTelemetry GenAI ``gen_ai.client.operation.duration`` bucket boundaries (seconds)."""

TOKEN_BUCKETS: tuple[float, ...] = tuple(float(4**i) for i in range(14))
"""OpenTelemetry GenAI ``gen_ai.client.token.usage`` bucket boundaries (1, 4, ... 4**13)."""


@record()
class Histogram(Summary):
    """Counts over fixed bucket boundaries; quantiles by interpolation within a bucket.

    ``counts[i]`` counts values ``<= bounds[i]`` (and above ``bounds[i-1]``); the last
    slot counts values above every bound.
    """

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0
    max_value: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)
        elif len(self.counts) != len(self.bounds) + 1:
            raise ValueError("counts must have len(bounds) + 1 entries")

    def add(self, value: float, count: int = 1) -> None:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"histogram values must be finite and >= 0, got {value!r}")
        self.counts[bisect.bisect_left(self.bounds, value)] += count
        self.total += value * count
        self.n += count
        self.max_value = max(self.max_value, value)

    def merge(self, other: Histogram) -> None:
        if other.bounds != self.bounds:
            raise ValueError("cannot merge histograms with different bounds")
        for i, c in enumerate(other.counts):
            self.counts[i] += c
        self._merge_summary(other)

    def quantile(self, q: float) -> float | None:
        """Estimate the ``q`` quantile (0..1); ``None`` when empty."""
        if self._is_empty_at(q):
            return None
        rank = q * self.n
        seen = 0
        for i, c in enumerate(self.counts):
            if c == 0:
                continue
            if seen + c >= rank:
                low = self.bounds[i - 1] if i > 0 else 0.0
                high = self.bounds[i] if i < len(self.bounds) else max(self.max_value, low)
                high = min(high, self.max_value) if self.max_value > low else high
                frac = (rank - seen) / c
                return low + (high - low) * frac
            seen += c
        return self.max_value


def quantiles(hist: Histogram, qs: Sequence[float]) -> list[float | None]:
    return [hist.quantile(q) for q in qs]
