"""Records of the components wing: outcome events, per-component statistics, reports.

A :class:`ComponentEvent` is what is stored (one row per recorded outcome, never
rewritten). :class:`ComponentStats` is the fold of a component's events in the shape
callers of the earlier component tracker read (docs/compat.md); :class:`ComponentReport`
adds the honest-uncertainty view (Beta posterior, credible interval, ``None`` for
"unknown") that reports and the CLI show; both live in :mod:`._report` and are named
here too.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from outcomes._redact import redact, refuse_secret
from outcomes._table import Table
from outcomes.components import _report
from outcomes.components._report import (
    COMPATIBILITY_MIN_ATTEMPTS,
    DEFAULT_MIN_REMOVALS,
    PROBLEM_MIN_FAILURES,
    PROBLEM_PROBABILITY,
    ComponentReport,
    ComponentStats,
    RankingMultiplier,
    is_problematic,
    ranking_multiplier,
)
from outcomes.errors import ValidationError
from outcomes.store import Aggregate, register_aggregate

__all__ = [
    "COMPATIBILITY_MIN_ATTEMPTS",
    "DEFAULT_MIN_REMOVALS",
    "INSTALL_OUTCOMES",
    "MAX_ID_CHARS",
    "OUTCOME_TOTALS",
    "PROBLEM_MIN_FAILURES",
    "PROBLEM_PROBABILITY",
    "ComponentEvent",
    "ComponentReport",
    "ComponentStats",
    "OutcomeType",
    "RankingMultiplier",
    "check_context",
    "check_label",
    "is_problematic",
    "parse_outcome",
    "ranking_multiplier",
    "redact_context",
]

MAX_ID_CHARS = 256
"""Longest accepted component id or session id (they are labels, not free text)."""


class OutcomeType(StrEnum):
    """What happened to a component."""

    INSTALL_SUCCESS = _report.INSTALL_SUCCESS
    INSTALL_FAILURE = _report.INSTALL_FAILURE
    USED_IN_SESSION = _report.USED_IN_SESSION
    REMOVED_BY_USER = _report.REMOVED_BY_USER
    DEPRECATED = _report.DEPRECATED


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
