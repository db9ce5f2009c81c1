"""The shadow wing's stored records: confidence observations and shadow decisions."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, ClassVar

from outcomes._table import Table


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
