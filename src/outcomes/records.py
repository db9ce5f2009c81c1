"""The typed records that cross module boundaries: calls, signals and receipts.

Records are frozen and slotted. A :class:`Receipt` is the flat, durable record of one
resolved outcome; it never holds prompt or output text, and its free-text fields
(``routing_reason``, ``error``) are redacted when the receipt is built, so no code path
can store an uncapped string or a planted API key.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from outcomes._redact import redact
from outcomes._table import Table

_TASK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")


class Task(StrEnum):
    """The built-in task names. Any other name matching :func:`validate_task` works too."""

    GENERATE = "generate"
    EMBED = "embed"
    CLASSIFY = "classify"
    CODE = "code"
    REASONING = "reasoning"


def validate_task(name: str) -> str:
    """Return ``name`` if it is a valid task name, else raise ``ValueError``.

    A task name is 1-64 characters of letters, digits and ``_ . : / -``, starting with a
    letter or digit: a label, never free text.
    """
    if not isinstance(name, str) or not _TASK_RE.match(name):
        raise ValueError(
            f"invalid task name {name!r}: use 1-64 letters, digits or _.:/- (e.g. 'code')"
        )
    return name


class ConversationVerdict(StrEnum):
    """What the user's follow-up said about a response."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_EDITS = "accepted_with_edits"
    REJECTED = "rejected"
    INCONCLUSIVE = "inconclusive"

    def quality(self, confidence: float) -> float | None:
        """Quality in [0, 1] for this verdict at ``confidence`` (None when inconclusive)."""
        if self is ConversationVerdict.ACCEPTED:
            return confidence
        if self is ConversationVerdict.ACCEPTED_WITH_EDITS:
            return confidence * 0.7
        if self is ConversationVerdict.REJECTED:
            return (1.0 - confidence) * 0.3
        return None

    def is_success(self) -> bool | None:
        if self is ConversationVerdict.INCONCLUSIVE:
            return None
        return self is not ConversationVerdict.REJECTED


class CodeVerdict(StrEnum):
    """What git showed about a code suggestion."""

    APPLIED = "applied"
    MODIFIED = "modified"
    IGNORED = "ignored"
    SIGNATURE_CHANGED = "signature_changed"
    BODY_MODIFIED = "body_modified"
    SYMBOL_ADDED = "symbol_added"
    SYMBOL_REMOVED = "symbol_removed"

    def quality(self) -> float:
        return _CODE_QUALITY[self]

    def is_success(self) -> bool:
        return self is not CodeVerdict.IGNORED


_CODE_QUALITY = {
    CodeVerdict.APPLIED: 1.0,
    CodeVerdict.SIGNATURE_CHANGED: 0.8,
    CodeVerdict.BODY_MODIFIED: 0.7,
    CodeVerdict.SYMBOL_ADDED: 0.7,
    CodeVerdict.SYMBOL_REMOVED: 0.6,
    CodeVerdict.MODIFIED: 0.6,
    CodeVerdict.IGNORED: 0.1,
}


@functools.lru_cache(maxsize=4096)
def _redact_reason(reason: str) -> str:
    # Routing reasons repeat (one per routing rule); caching keeps redaction off the hot path.
    return redact(reason)


@dataclass(frozen=True, slots=True)
class Call:
    """One inference invocation, as the tracker knows it."""

    trace_id: str
    model_id: str
    task: str
    started_at: float
    routing_reason: str = ""
    completed_at: float | None = None
    latency_ms: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error: str | None = None
    project_id: str | None = None
    intent: str | None = None
    propensity: float | None = None

    def __post_init__(self) -> None:
        if self.routing_reason:
            object.__setattr__(self, "routing_reason", _redact_reason(self.routing_reason))
        if self.error is not None:
            object.__setattr__(self, "error", redact(self.error))


@dataclass(frozen=True, slots=True)
class Signal:
    """Evidence about the outcome of a call.

    ``signal_id`` makes delivery idempotent: the same id delivered twice counts once.
    ``kind`` names the channel (``conversation``, ``code``, ``install``, ``usage``,
    ``removal``, ``recall``, or a user-defined one); ``verdict`` is the channel's verdict
    (for instance a :class:`ConversationVerdict` or :class:`CodeVerdict` value).
    """

    signal_id: str
    trace_id: str
    kind: str
    verdict: str
    timestamp: float
    confidence: float | None = None
    detail: str | None = None

    def __post_init__(self) -> None:
        if self.detail is not None:
            object.__setattr__(self, "detail", redact(self.detail))


@dataclass(frozen=True, slots=True)
class Receipt:
    """The durable record of one resolved outcome, one line of the ledger.

    ``success`` is ``True``/``False``, or ``None`` when the outcome is unknown
    (inconclusive). ``supersedes`` names the receipt this one replaces when a later,
    better signal arrives: the ledger stays append-only. ``source`` says what produced
    the receipt (``complete``, ``failure``, ``signal``, ``sweep``, ``import``...).
    ``propensity`` is the probability with which a router chose ``model_id``.
    ``superseded_success``, ``superseded_quality`` and ``superseded_at`` repeat the outcome
    of the receipt named by ``supersedes``, so that a profile is a fold of receipts one at
    a time (no join): a superseding receipt takes back the old outcome and books the new.
    """

    receipt_id: str
    trace_id: str
    model_id: str
    task: str
    timestamp: float
    success: bool | None = None
    quality: float | None = None
    latency_ms: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error: str | None = None
    routing_reason: str = ""
    project_id: str | None = None
    intent: str | None = None
    kind: str = "inference"
    source: str = "complete"
    supersedes: str | None = None
    signal_id: str | None = None
    propensity: float | None = None
    superseded_success: bool | None = None
    superseded_quality: float | None = None
    superseded_at: float | None = None

    __table__: ClassVar[Table[Receipt]]

    def __post_init__(self) -> None:
        if self.routing_reason:
            object.__setattr__(self, "routing_reason", _redact_reason(self.routing_reason))
        if self.error is not None:
            object.__setattr__(self, "error", redact(self.error))

    def to_json(self) -> dict[str, Any]:
        """Return the ledger line for this receipt (see ``docs/ledger.md``)."""
        out: dict[str, Any] = {"v": LEDGER_FORMAT_VERSION}
        for name in RECEIPT_FIELDS:
            value = getattr(self, name)
            if value is None and name in _OMIT_WHEN_NONE:
                continue
            out[name] = value
        return out


LEDGER_FORMAT_VERSION = 1
"""Version of the receipt JSON line format (``"v"`` in every line)."""

Receipt.__table__ = Table.of(
    "receipts",
    Receipt,
    key="receipt_id",
    timestamp="float",
    success="bool",
    quality="float",
    latency_ms="float",
    input_tokens="int",
    output_tokens="int",
    cost_usd="float",
    propensity="float",
    superseded_success="bool",
    superseded_quality="float",
    superseded_at="float",
)

RECEIPT_FIELDS: tuple[str, ...] = Receipt.__table__.column_names
_OMIT_WHEN_NONE = frozenset(
    {
        "error",
        "project_id",
        "intent",
        "supersedes",
        "signal_id",
        "propensity",
        "cost_usd",
        "superseded_success",
        "superseded_quality",
        "superseded_at",
    }
)


def is_finite_or_none(value: float | None) -> bool:
    return value is None or math.isfinite(value)
