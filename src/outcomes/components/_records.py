"""Records of the components wing: outcome events, per-component statistics, reports.

A :class:`ComponentEvent` is what is stored (one row per recorded outcome, never
rewritten). :class:`ComponentStats` is the fold of a component's events in the shape
callers of the earlier component tracker read (docs/compat.md); :class:`ComponentReport`
adds the honest-uncertainty view (Beta posterior, credible interval, ``None`` for
"unknown") that reports and the CLI show.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, ClassVar

from outcomes._redact import redact, refuse_secret
from outcomes._table import Table
from outcomes.errors import ValidationError
from outcomes.stats import BetaPosterior, beta_posterior, wilson_interval
from outcomes.store import Aggregate, register_aggregate

MAX_ID_CHARS = 256
"""Longest accepted component id or session id (they are labels, not free text)."""

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


class OutcomeType(StrEnum):
    """What happened to a component."""

    INSTALL_SUCCESS = "install_success"
    INSTALL_FAILURE = "install_failure"
    USED_IN_SESSION = "used_in_session"
    REMOVED_BY_USER = "removed_by_user"
    DEPRECATED = "deprecated"


_OUTCOMES: dict[str, OutcomeType] = {o.value: o for o in OutcomeType}
INSTALL_OUTCOMES: tuple[str, str] = (
    OutcomeType.INSTALL_SUCCESS.value,
    OutcomeType.INSTALL_FAILURE.value,
)


def parse_outcome(value: object) -> OutcomeType:
    """Return the :class:`OutcomeType` named by ``value``; raise ``ValidationError`` if none."""
    outcome = _OUTCOMES.get(value) if isinstance(value, str) else None
    if outcome is None:
        raise ValidationError(
            f"unknown outcome type {_preview(value)}; use one of {', '.join(_OUTCOMES)}",
            where="outcome_type",
        )
    return outcome


def check_label(value: object, name: str) -> str:
    """Return ``value`` if it is a usable id (1-256 printable characters), else raise.

    Raises :class:`~outcomes.errors.ValidationError` naming the argument.
    """
    if not isinstance(value, str):
        raise ValidationError(f"must be a string, got {type(value).__name__}", where=name)
    if not value or len(value) > MAX_ID_CHARS:
        raise ValidationError(f"must be 1-{MAX_ID_CHARS} characters, got {len(value)}", where=name)
    if not value.isprintable() or value.strip() != value:
        raise ValidationError(
            "must be printable, without control characters or surrounding spaces", where=name
        )
    return refuse_secret(value, name)


def check_context(value: object) -> str:
    """Return ``value`` if it is a string (it is redacted and capped when stored)."""
    if not isinstance(value, str):
        raise ValidationError(f"must be a string, got {type(value).__name__}", where="context")
    return value


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_CACHE_LIMIT = 2_048


@functools.lru_cache(maxsize=4_096)
def _redact_cached(text: str) -> str:
    return redact(text)


def redact_context(text: str) -> str:
    """Redact free-text context; contexts repeat (error messages), so short ones are cached."""
    if not text:
        return text
    if len(text) > _CACHE_LIMIT:
        return redact(text)
    return _redact_cached(text)


@dataclass(frozen=True, slots=True)
class ComponentEvent:
    """One recorded outcome of one component, as stored.

    ``session_id`` is the caller's session when it knows one; ``None`` means the session
    is inferred from time gaps. ``context`` is free text (redacted, capped at 256
    characters); it never holds prompt or output text.
    """

    event_id: str
    component_id: str
    outcome: str
    timestamp: float
    session_id: str | None = None
    context: str = ""

    __table__: ClassVar[Table[ComponentEvent]]

    def __post_init__(self) -> None:
        if self.context:
            object.__setattr__(self, "context", redact_context(self.context))

    def to_json(self) -> dict[str, Any]:
        """Return the event as a JSON object (the line format of saved files)."""
        out: dict[str, Any] = {
            "event_id": self.event_id,
            "component_id": self.component_id,
            "outcome": self.outcome,
            "timestamp": self.timestamp,
        }
        if self.session_id is not None:
            out["session_id"] = self.session_id
        if self.context:
            out["context"] = self.context
        return out


ComponentEvent.__table__ = Table.of("component_events", ComponentEvent, key="event_id")

OUTCOME_TOTALS = register_aggregate(
    Aggregate(
        "component_outcomes",
        ComponentEvent.__table__,
        ("component_id", "outcome"),
        (("events", "count", ""), ("first_at", "min", "timestamp"),
         ("last_at", "max", "timestamp")),
    )
)  # fmt: skip
"""Per (component, outcome): how many events, the first and the last time. Every store
keeps it with the events it writes (``store/_aggregates.py``), declared here with the
event so that no process writes events without it; what the statistics are read from."""


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
        counts = {f.name: getattr(stats, f.name) for f in fields(ComponentStats)}
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
