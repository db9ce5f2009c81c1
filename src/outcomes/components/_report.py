"""Component statistics and reports, folded from the per-(component, outcome) totals.

Apart from :mod:`~outcomes.components._records` (the stored event and its table), so
that ``outcomes components report --json`` can answer from the totals' rows without
loading the store's write side (``cli/_fast.py``): this module imports only
:mod:`outcomes.stats`, and declares its records with ``outcomes._record.record``
rather than ``dataclasses`` (which loads ``inspect``: about 10 ms of CPU, docs/cli.md).
:func:`reports_of_totals` is the one fold both the tracker and that fast path use, so
their answers agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from outcomes._record import record
from outcomes.stats import BetaPosterior, beta_posterior, wilson_interval

PROBLEM_MIN_FAILURES = 3
"""A component needs at least this many install failures before it can be problematic."""

PROBLEM_PROBABILITY = 0.85
"""Posterior probability that the success rate is below 0.5 needed to flag a component.

0.85 is the highest round bar that flags 4 failures out of 5 attempts (P = 0.89), which
users read as a failing component, as well as 3 out of 3 (P = 0.94). A component whose
installs truly fail 30% of the time is flagged with probability at most 3.1% (at 5
attempts, by 4 or 5 failures), at most 0.25% from 20 attempts on, and practically never
once it is popular (below 1e-7 at 100 attempts): see docs/components.md."""

COMPATIBILITY_MIN_ATTEMPTS = 5
"""Below this many install attempts the compatibility score is unknown (as in Dependabot)."""

DEFAULT_MIN_REMOVALS = 2
"""Removals needed to count as frequently removed (the earlier tracker's default, which
recommenders were tuned on)."""

INSTALL_SUCCESS = "install_success"
INSTALL_FAILURE = "install_failure"
USED_IN_SESSION = "used_in_session"
REMOVED_BY_USER = "removed_by_user"
DEPRECATED = "deprecated"
"""The outcome names (``OutcomeType``'s values, which are these)."""


@record(frozen=True)
class ComponentStats:
    """What is known about one component: counts and times (Unix seconds).

    This is the earlier component tracker's ``OutcomeStats`` shape, so its callers keep
    working: ``success_rate`` and ``is_problematic`` keep their meaning there (0.0 with no
    attempts; >= 3 failures and a rate below 0.5; docs/compat.md). :meth:`report` gives
    the view with uncertainty.
    """

    component_id: str
    successes: int = 0
    failures: int = 0
    usage_count: int = 0
    removal_count: int = 0
    deprecated: bool = False
    deprecated_at: float | None = None
    first_seen: float | None = None
    last_success: float | None = None
    last_failure: float | None = None

    @property
    def attempts(self) -> int:
        return self.successes + self.failures

    @property
    def install_successes(self) -> int:
        """:attr:`successes` under the earlier component tracker's name."""
        return self.successes

    @property
    def install_failures(self) -> int:
        """:attr:`failures` under the earlier component tracker's name."""
        return self.failures

    @property
    def success_rate(self) -> float:
        """Successes over attempts, 0.0 with no attempts (the earlier tracker's value, which
        its callers test for; :class:`ComponentReport` says ``None`` instead)."""
        total = self.attempts
        return self.successes / total if total else 0.0

    @property
    def is_problematic(self) -> bool:
        """>= 3 failures and a raw success rate below 0.5: the earlier tracker's rule, kept
        for its callers; the default rule is :func:`is_problematic` (docs/components.md)."""
        return self.failures >= PROBLEM_MIN_FAILURES and self.success_rate < 0.5

    @property
    def posterior(self) -> BetaPosterior:
        """Beta posterior of the install success rate from a uniform prior."""
        return beta_posterior(self.successes, self.failures)

    def report(self, *, min_removals: int = DEFAULT_MIN_REMOVALS) -> ComponentReport:
        return ComponentReport.from_stats(self, min_removals=min_removals)


@record(frozen=True)
class RankingMultiplier:
    """A factor for a recommender's score, with the reasons that produced it."""

    value: float
    reasons: tuple[str, ...]


def ranking_multiplier(stats: ComponentStats | None) -> RankingMultiplier:
    """``0.7 + 0.3 * success rate`` when there are attempts, times 0.1 when deprecated."""
    if stats is None:
        return RankingMultiplier(1.0, ("no outcomes recorded: x1.00",))
    value = 1.0
    reasons: list[str] = []
    if stats.attempts:
        factor = 0.7 + 0.3 * stats.success_rate
        value *= factor
        reasons.append(
            f"install success {stats.successes}/{stats.attempts} "
            f"({stats.success_rate:.0%}): x{factor:.2f}"
        )
    else:
        reasons.append("no install attempts: x1.00")
    if stats.deprecated:
        value *= 0.1
        reasons.append("deprecated: x0.10")
    return RankingMultiplier(value, tuple(reasons))


@record(frozen=True)
class ComponentReport:
    """The reporting view of one component: counts plus honest uncertainty.

    Each rate has its own interval, so the two always agree: ``success_rate`` (observed)
    with ``success_interval`` (Wilson 95%, which contains it), ``posterior_mean`` with
    ``posterior_interval`` (95% equal-tailed Beta credible interval). Rates, intervals and
    ``prob_rate_below_half`` are ``None`` ("unknown") with no install attempts;
    ``compatibility_score`` (percent) is ``None`` below 5 attempts. ``problematic``
    needs >= 3 failures and ``prob_rate_below_half >= PROBLEM_PROBABILITY`` (0.85).
    """

    component_id: str
    successes: int
    failures: int
    attempts: int
    usage_count: int
    removal_count: int
    deprecated: bool
    deprecated_at: float | None
    first_seen: float | None
    last_success: float | None
    last_failure: float | None
    success_rate: float | None
    success_interval: tuple[float, float] | None
    posterior_mean: float
    prob_rate_below_half: float | None
    compatibility_score: int | None
    problematic: bool
    frequently_removed: bool
    ranking_multiplier: float
    ranking_reasons: tuple[str, ...]
    posterior_interval: tuple[float, float] | None = None

    @classmethod
    def from_stats(
        cls, stats: ComponentStats, *, min_removals: int = DEFAULT_MIN_REMOVALS
    ) -> ComponentReport:
        attempts = stats.attempts
        posterior = stats.posterior
        known = attempts > 0
        below = posterior.prob_below(0.5) if known else None
        multiplier = ranking_multiplier(stats)
        # The report starts with every field of the stats, under the same names.
        counts = {name: getattr(stats, name) for name in ComponentStats.__match_args__}
        return cls(
            **counts,
            attempts=attempts,
            success_rate=stats.successes / attempts if known else None,
            success_interval=wilson_interval(stats.successes, attempts) if known else None,
            posterior_mean=posterior.mean,
            prob_rate_below_half=below,
            compatibility_score=(
                round(100 * stats.successes / attempts)
                if attempts >= COMPATIBILITY_MIN_ATTEMPTS
                else None
            ),
            problematic=is_problematic(stats),
            frequently_removed=stats.removal_count >= min_removals,
            ranking_multiplier=multiplier.value,
            ranking_reasons=multiplier.reasons,
            posterior_interval=posterior.interval(0.95) if known else None,
        )

    @property
    def flags(self) -> tuple[str, ...]:
        """Short names of what is wrong: problematic, frequently removed, deprecated."""
        out = []
        if self.problematic:
            out.append("problematic")
        if self.frequently_removed:
            out.append("frequently removed")
        if self.deprecated:
            out.append("deprecated")
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        """The JSON object of ``outcomes components report --json``."""
        return {
            "component_id": self.component_id,
            "successes": self.successes,
            "failures": self.failures,
            "attempts": self.attempts,
            "usage_count": self.usage_count,
            "removal_count": self.removal_count,
            "deprecated": self.deprecated,
            "deprecated_at": self.deprecated_at,
            "first_seen": self.first_seen,
            "last_success": self.last_success,
            "last_failure": self.last_failure,
            "success_rate": self.success_rate,
            "success_interval": (
                list(self.success_interval) if self.success_interval is not None else None
            ),
            "posterior_mean": self.posterior_mean,
            "posterior_interval": (
                list(self.posterior_interval) if self.posterior_interval is not None else None
            ),
            "prob_rate_below_half": self.prob_rate_below_half,
            "compatibility_score": self.compatibility_score,
            "problematic": self.problematic,
            "frequently_removed": self.frequently_removed,
            "ranking_multiplier": self.ranking_multiplier,
            "ranking_reasons": list(self.ranking_reasons),
        }


def is_problematic(stats: ComponentStats, probability: float = PROBLEM_PROBABILITY) -> bool:
    """>= 3 failures and posterior P(success rate < 0.5) >= ``probability``."""
    if stats.failures < PROBLEM_MIN_FAILURES:
        return False
    return stats.posterior.prob_below(0.5) >= probability


class Counts:
    """Mutable running totals of one component; min/max keep the fold order-free."""

    __slots__ = (
        "deprecated_at",
        "failures",
        "first_seen",
        "last_failure",
        "last_success",
        "removals",
        "successes",
        "usage",
    )

    def __init__(self) -> None:
        self.successes = 0
        self.failures = 0
        self.usage = 0
        self.removals = 0
        self.deprecated_at: float | None = None
        self.first_seen: float | None = None
        self.last_success: float | None = None
        self.last_failure: float | None = None

    def add(self, outcome: str, n: int, first: float, last: float) -> None:
        """Fold ``n`` events of ``outcome`` whose times span ``first``..``last``."""
        if self.first_seen is None or first < self.first_seen:
            self.first_seen = first
        if outcome == INSTALL_SUCCESS:
            self.successes += n
            if self.last_success is None or last > self.last_success:
                self.last_success = last
        elif outcome == INSTALL_FAILURE:
            self.failures += n
            if self.last_failure is None or last > self.last_failure:
                self.last_failure = last
        elif outcome == USED_IN_SESSION:
            self.usage += n
        elif outcome == REMOVED_BY_USER:
            self.removals += n
        elif outcome == DEPRECATED and (self.deprecated_at is None or first < self.deprecated_at):
            self.deprecated_at = first

    def snapshot(self, component_id: str) -> ComponentStats:
        return ComponentStats(
            component_id=component_id,
            successes=self.successes,
            failures=self.failures,
            usage_count=self.usage,
            removal_count=self.removals,
            deprecated=self.deprecated_at is not None,
            deprecated_at=self.deprecated_at,
            first_seen=self.first_seen,
            last_success=self.last_success,
            last_failure=self.last_failure,
        )


def fold_totals(rows: Iterable[tuple[Any, ...]]) -> dict[str, Counts]:
    """The running totals per component of the totals' rows ``(component id, outcome,
    events, first time, last time)`` (``components.outcome_totals``)."""
    counts: dict[str, Counts] = {}
    for cid, outcome, n, first, last in rows:
        entry = counts.get(cid)
        if entry is None:
            entry = counts[cid] = Counts()
        entry.add(outcome, int(n), float(first), float(last))
    return counts


def stats_in_order(counts: dict[str, Counts]) -> list[ComponentStats]:
    """Statistics of every component, in order of first appearance (then id)."""
    stats = [c.snapshot(cid) for cid, c in counts.items()]
    stats.sort(key=lambda s: (s.first_seen if s.first_seen is not None else 0.0, s.component_id))
    return stats


def reports_of_totals(
    rows: Iterable[tuple[Any, ...]], *, min_removals: int = DEFAULT_MIN_REMOVALS
) -> list[ComponentReport]:
    """The report of every component of the totals' ``rows``, in order of first
    appearance: what :meth:`ComponentTracker.report` gives for a store holding them."""
    return [
        ComponentReport.from_stats(s, min_removals=min_removals)
        for s in stats_in_order(fold_totals(rows))
    ]
