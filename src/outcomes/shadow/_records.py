"""The shadow wing's stored records: confidence observations and shadow decisions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, ClassVar

from outcomes._table import Table
from outcomes.store import Aggregate, Expr, register_aggregate


class RecallOutcome(StrEnum):
    """Whether the recalled item made it into the result (top-K) or was dropped."""

    RECALLED = "recalled"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ConfidenceSignals:
    """The evidence a derived confidence is computed from (the ai-memory telemetry's
    envelope, same fields).

    ``source_age_days``: age of the underlying source; ``atom_derivation``: the item was
    derived from an atomic fact; ``prior_corroboration_count``: independent sources that
    agreed; ``freshness_factor``: the caller's own freshness estimate in [0, 1];
    ``baseline_per_source``: the historical hit rate of items from this source.
    """

    source_age_days: float = 0.0
    atom_derivation: bool = False
    prior_corroboration_count: int = 0
    freshness_factor: float = 1.0
    baseline_per_source: float = 0.5

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ShadowObservation:
    """One shadow observation: the caller's confidence next to a derived one.

    ``caller_confidence`` is None when the caller gave none (never defaulted to 1.0).
    ``recall_outcome`` and ``outcome`` are usually filled later: ``recall_outcome`` says
    whether the item made the top-K, ``outcome`` whether it turned out right (the label
    calibration is measured against). ``observed_at`` is Unix seconds.
    """

    __table__: ClassVar[Table[ShadowObservation]]

    id: str
    memory_id: str
    namespace: str
    source: str
    caller_confidence: float | None
    derived_confidence: float
    signals: dict[str, Any]
    recall_outcome: str | None
    observed_at: float
    outcome: bool | None = None
    labeled_at: float | None = None


ShadowObservation.__table__ = Table.of("shadow_observations", ShadowObservation, key="id")


@dataclass(frozen=True, slots=True)
class ShadowDecision:
    """A decision made live, with what a candidate policy would have chosen.

    ``live_propensity`` is the probability with which the live policy picked
    ``live_choice``; ``candidate_probability`` the probability that the candidate would
    have picked that same ``live_choice`` (1 or 0 for a deterministic candidate).
    ``reward`` in [0, 1] arrives later, when the outcome of the live choice is known.
    """

    __table__: ClassVar[Table[ShadowDecision]]

    id: str
    point: str
    candidate: str
    live_choice: str
    live_propensity: float
    candidate_choice: str
    candidate_probability: float
    decided_at: float
    reward: float | None = None
    rewarded_at: float | None = None


ShadowDecision.__table__ = Table.of("shadow_decisions", ShadowDecision, key="id")


MIN_PROPENSITY = 1e-9
"""A rewarded decision whose live propensity is below this counts as a decision only:
its weight would exceed 1e9, on which no estimate can rest (and its square could
overflow, which PostgreSQL refuses to compute)."""
TINY = 1e-60
"""A candidate probability or a reward below this counts as 0 in the sums: their
products could underflow, which PostgreSQL refuses to compute."""


def _rewarded(sql: str, python: Any, kind: Any = "float") -> Expr:
    """``sql`` (``python``) on rewarded decisions, 0 on the others (see
    :data:`MIN_PROPENSITY`); in both, ``p`` and ``r`` are the candidate probability and
    the reward, each 0 below :data:`TINY`."""
    p = f"(CASE WHEN candidate_probability < {TINY} THEN 0 ELSE candidate_probability END)"
    r = f"(CASE WHEN reward < {TINY} THEN 0 ELSE reward END)"
    return Expr(
        f"CASE WHEN reward IS NULL OR live_propensity < {MIN_PROPENSITY} THEN 0 ELSE "
        + sql.replace("{p}", p).replace("{r}", r) + " END",
        lambda d: 0 if d["reward"] is None or d["live_propensity"] < MIN_PROPENSITY
        else python(d),
        kind,
    )  # fmt: skip


def _w(d: Any) -> float:
    p = d["candidate_probability"]
    return float((0.0 if p < TINY else p) / d["live_propensity"])


def _r(d: Any) -> float:
    return 0.0 if d["reward"] < TINY else float(d["reward"])


_W = "({p} / live_propensity)"
DECISION_TOTALS = register_aggregate(
    Aggregate(
        "shadow_decision_totals",
        ShadowDecision.__table__,
        ("point", "candidate"),
        (
            ("decisions", "count", ""),
            ("rewarded", "sum", _rewarded("1", lambda d: 1, "int")),
            ("agree", "sum", _rewarded(
                "CASE WHEN candidate_choice = live_choice THEN 1 ELSE 0 END",
                lambda d: int(d["candidate_choice"] == d["live_choice"]), "int")),
            ("r", "sum", _rewarded("{r}", _r)),
            ("w", "sum", _rewarded(_W, _w)),
            ("w2", "sum", _rewarded(f"{_W} * {_W}", lambda d: _w(d) * _w(d))),
            ("wr", "sum", _rewarded(f"{_W} * {{r}}", lambda d: _w(d) * _r(d))),
            ("w2r", "sum", _rewarded(f"{_W} * {_W} * {{r}}", lambda d: _w(d) * _w(d) * _r(d))),
            ("w2r2", "sum", _rewarded(
                f"{_W} * {_W} * {{r}} * {{r}}", lambda d: _w(d) * _w(d) * _r(d) * _r(d))),
        ),
    )
)  # fmt: skip
"""Per (point, candidate): decisions, rewarded ones, and over the rewarded ones the
agreements and the sums of reward, weight ``w = candidate_probability /
live_propensity``, ``w^2``, ``w r``, ``w^2 r``, ``w^2 r^2``: what the off-policy report
reads. Kept by the store with the decisions; a reward arriving later (an update of the
decision) moves its row's contribution (``store/_aggregates.py``)."""
