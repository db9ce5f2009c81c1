"""Stored records of code adoption: pending suggestions and the findings about them.

Neither record holds code: a suggestion keeps hashes (lines, shingles, symbol
signatures and bodies) and the names of the symbols it defines; a finding keeps a
verdict, a share and where it was seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from outcomes._table import Table

PENDING = "pending"
RESOLVED = "resolved"
UNDECIDABLE = "undecidable"
"""Status of a suggestion whose code was already all in the file when it was made."""

SURVIVAL_MILESTONES: tuple[tuple[str, float | None], ...] = (
    ("next_commit", None),
    ("1d", 86_400.0),
    ("7d", 7 * 86_400.0),
)
"""Survival checkpoints: the first commit after resolution, then one day and seven days."""


@dataclass(frozen=True, slots=True)
class CodeSuggestion:
    """A code suggestion attached to a call, as fingerprints (never the text).

    ``lines``/``shingles`` are hashes of the suggested code that were *not* already in
    the file when it was suggested (the novel part, which adoption is measured on);
    ``symbols`` are the definitions the suggestion contains; ``baseline_symbols`` are
    the same-named definitions as they were in the file at that time.
    """

    suggestion_id: str
    trace_id: str
    repo: str
    path: str
    language: str
    created_at: float
    base_commit: str | None = None
    lines: list[str] = field(default_factory=list)
    shingles: list[str] = field(default_factory=list)
    symbols: list[dict[str, Any]] = field(default_factory=list)
    baseline_symbols: list[dict[str, Any]] = field(default_factory=list)
    status: str = PENDING
    verdict: str | None = None
    confidence: float | None = None
    resolved_at: float | None = None
    resolved_commit: str | None = None
    survival: dict[str, Any] = field(default_factory=dict)
    line_sequence: list[list[Any]] | None = None
    """Every non-trivial line in order: ``[hash, sketch, weight, novel]`` (no text)."""
    baseline_filter: str | None = None
    """A Bloom filter of the file's line hashes when the suggestion was made."""

    __table__: ClassVar[Table[CodeSuggestion]]


CodeSuggestion.__table__ = Table.of("code_suggestions", CodeSuggestion, key="suggestion_id")


@dataclass(frozen=True, slots=True)
class CodeFinding:
    """One signal emitted about a suggestion (its id is the signal's id).

    ``scope`` is ``verdict`` (the suggestion as a whole), ``symbol`` (a structural verdict
    on one definition, named in ``symbol``) or ``survival`` (``verdict`` is the
    milestone, ``confidence`` the share still present).
    """

    finding_id: str
    suggestion_id: str
    trace_id: str
    path: str
    scope: str
    verdict: str
    timestamp: float
    confidence: float | None = None
    symbol: str | None = None
    source: str | None = None

    __table__: ClassVar[Table[CodeFinding]]


CodeFinding.__table__ = Table.of("code_findings", CodeFinding, key="finding_id")
