"""The step kinds of a trajectory: the twelve of the wire contract, plus unknown kinds.

Every step is a frozen, slotted dataclass with a ``kind`` class attribute (its ``"kind"``
tag on the wire). Field names and wire types are exactly those of the Rust builder's
``TrajectoryStep``, whose JSON a service validates with a Zod schema (docs/compat.md); the
optional ``started_at`` / ``duration_ms`` (every kind) and ``trace_id`` (``llm_call``) are
additive: they are emitted only when set, after those fields, so a reader of the original
shape can ignore them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from outcomes._redact import redact
from outcomes.trajectory._fields import F32, U32, USIZE, StrType, nested

EXCERPT_CHARS = 200
"""Recalled-verdict excerpts are cut to this many characters plus ``…``."""

Excerpt = Annotated[str, StrType(name="excerpt")]
RawOutput = Annotated[str, StrType(1_000_000, name="raw_output")]


class RuleSource(StrEnum):
    """Where the rules of a ``rules_applied`` step came from."""

    LOCAL = "local"
    TEAM = "team"
    GLOBAL = "global"


@nested("recalled_verdict")
@dataclass(frozen=True, slots=True)
class RecalledVerdict:
    """One past verdict recalled from review memory: ``{id, title, similarity, excerpt}``.

    ``title`` and ``excerpt`` are free text: secrets are scrubbed, the title is capped at
    256 characters and the excerpt at :data:`EXCERPT_CHARS`, each plus ``…`` when cut.
    """

    id: str
    title: str
    similarity: Annotated[float, F32]
    excerpt: Excerpt

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", redact(self.title))
        object.__setattr__(self, "excerpt", redact(self.excerpt, EXCERPT_CHARS))


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """Base of every step kind. ``started_at`` is Unix seconds, ``duration_ms`` milliseconds."""

    kind: ClassVar[str] = ""

    started_at: float | None = None
    duration_ms: float | None = None


TIMING_FIELDS = ("started_at", "duration_ms")


@dataclass(frozen=True, slots=True)
class ChunksRetrieved(Step):
    """A retrieval pass produced ``count`` chunks for the prompt context."""

    kind: ClassVar[str] = "chunks_retrieved"

    count: Annotated[int, USIZE]
    symbols: list[str]
    similarity_scores: list[Annotated[float, F32]]


@dataclass(frozen=True, slots=True)
class RulesApplied(Step):
    """Rule resolution picked ``rule_ids`` from ``source``."""

    kind: ClassVar[str] = "rules_applied"

    rule_ids: list[str]
    source: RuleSource


@dataclass(frozen=True, slots=True)
class LlmCall(Step):
    """One model invocation. ``raw_output`` is omitted from the JSON when ``None`` and is
    never stored; ``trace_id`` links the call to its inference outcome."""

    kind: ClassVar[str] = "llm_call"

    perspective: str
    input_tokens: Annotated[int, U32]
    output_tokens: Annotated[int, U32]
    raw_output: RawOutput | None = None
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class PastVerdictsRecalled(Step):
    """Review memory recalled ``count`` past verdicts; ``recalled_items`` defaults to empty."""

    kind: ClassVar[str] = "past_verdicts_recalled"

    count: Annotated[int, USIZE]
    top_similarities: list[Annotated[float, F32]]
    recalled_items: list[RecalledVerdict] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SelfCheck(Step):
    """The self-check kept ``keep_count`` issues, dropped ``drop_count``."""

    kind: ClassVar[str] = "self_check"

    keep_count: Annotated[int, U32]
    drop_count: Annotated[int, U32]
    avg_confidence: Annotated[float, F32]


@dataclass(frozen=True, slots=True)
class SignatureConfidenceAdjust(Step):
    """Confidence bumps from matching past verdicts, after the self-check."""

    kind: ClassVar[str] = "signature_confidence_adjust"

    accepted_bumps: Annotated[int, U32]
    rejected_bumps: Annotated[int, U32]


@dataclass(frozen=True, slots=True)
class FinalDecision(Step):
    """The issue ids emitted to the user (they can later receive verdicts)."""

    kind: ClassVar[str] = "final_decision"

    issue_ids_emitted: list[str]


@dataclass(frozen=True, slots=True)
class McpResponseSize(Step):
    """An MCP tool answered with about ``total_tokens`` tokens holding ``rules_injected`` rules."""

    kind: ClassVar[str] = "mcp_response_size"

    tool: str
    total_tokens: Annotated[int, USIZE]
    rules_injected: Annotated[int, USIZE]


@dataclass(frozen=True, slots=True)
class RuleHitByOrigin(Step):
    """Which origins the rules hit in one MCP response came from."""

    kind: ClassVar[str] = "rule_hit_by_origin"

    manual: Annotated[int, U32]
    conversation: Annotated[int, U32]
    pr_review: Annotated[int, U32]
    extracted: Annotated[int, U32]
    cloud: Annotated[int, U32]


@dataclass(frozen=True, slots=True)
class RetrievalFilter(Step):
    """The metadata pre-filter kept ``after`` of ``before`` candidate chunks."""

    kind: ClassVar[str] = "retrieval_filter"

    before: Annotated[int, U32]
    after: Annotated[int, U32]


@dataclass(frozen=True, slots=True)
class HybridFusion(Step):
    """Rank fusion of full-text and embedding candidates; ``overlap`` ids were in both."""

    kind: ClassVar[str] = "hybrid_fusion"

    fts_hits: Annotated[int, U32]
    emb_hits: Annotated[int, U32]
    overlap: Annotated[int, U32]


@dataclass(frozen=True, slots=True)
class AnnRecall(Step):
    """Approximate-nearest-neighbour recall of one retrieval call (``used`` false: fell back
    to a linear scan)."""

    kind: ClassVar[str] = "ann_recall"

    used: bool
    index_size: Annotated[int, U32]
    candidates: Annotated[int, U32]


BUILTIN_STEPS: tuple[type[Step], ...] = (
    ChunksRetrieved,
    RulesApplied,
    LlmCall,
    PastVerdictsRecalled,
    SelfCheck,
    SignatureConfidenceAdjust,
    FinalDecision,
    McpResponseSize,
    RuleHitByOrigin,
    RetrievalFilter,
    HybridFusion,
    AnnRecall,
)
"""The twelve kinds of the wire contract, in the Rust builder's declaration order."""


@dataclass(frozen=True, slots=True)
class UnknownStep:
    """A step of a kind this reader does not know (from a newer writer), kept intact.

    ``fields`` holds every key of the step object except ``kind`` and ``seq``; writing the
    step back emits them unchanged.
    """

    kind: str
    fields: Mapping[str, Any]


AnyStep = Step | UnknownStep
