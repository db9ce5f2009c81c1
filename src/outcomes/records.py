"""The typed records that cross module boundaries: calls, signals and receipts.

Records are frozen and slotted. A :class:`Receipt` is the flat, durable record of one
resolved outcome; it never holds prompt or output text, and its free-text fields
(``routing_reason``, ``error``) are redacted when the receipt is built, so no code path
can store an uncapped string or a planted API key.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

import msgspec
from msgspec.structs import force_setattr

from outcomes._redact import redact
from outcomes._table import Table
from outcomes._validate import (
    Count64,
    Id,
    Label,
    NonNegative,
    Probability,
    TaskName,
    Text,
    Timestamp,
    check_task,
)


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
    return check_task(name)


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


class Receipt(msgspec.Struct, frozen=True, gc=False, tag_field="v", tag=1):
    """The durable record of one resolved outcome, one line of the ledger.

    ``success`` is ``True``/``False``, or ``None`` when the outcome is unknown
    (inconclusive). ``supersedes`` names the receipt this one replaces when a later,
    better signal arrives: the ledger stays append-only. ``source`` says what produced
    the receipt (``complete``, ``failure``, ``signal``, ``sweep``, ``import``...).
    ``propensity`` is the probability with which a router chose ``model_id``.
    ``superseded_success``, ``superseded_quality`` and ``superseded_at`` repeat the outcome
    of the receipt named by ``supersedes``, so that a profile is a fold of receipts one at
    a time (no join): a superseding receipt takes back the old outcome and books the new.
    ``ttft_ms`` is the time to the first token of a streamed call (``None`` when the call
    was not streamed or nobody measured it); it is last so that older ledger lines and
    rows, written before it existed, read back with ``None``.

    This class is the one declaration of the receipt's fields: the ``receipts`` table
    (:attr:`__table__`), the ledger's JSON line (``"v": 1`` then the fields in this
    order, see ``docs/ledger.md``) and the profile fold's columns derive from it. The
    field types carry the constraints that :func:`outcomes._validate.decode` checks at
    the edges (ledger import, verify); code inside the library builds receipts with
    keywords from values it already checked, and construction does not re-validate.
    """

    receipt_id: Id
    trace_id: Id
    model_id: Label
    task: TaskName
    timestamp: Timestamp
    success: bool | None = None
    quality: Probability | None = None
    latency_ms: NonNegative = 0.0
    input_tokens: Count64 = 0
    output_tokens: Count64 = 0
    cost_usd: NonNegative | None = None
    error: Text | None = None
    routing_reason: Text = ""
    project_id: Label | None = None
    intent: Label | None = None
    kind: Label = "inference"
    source: Label = "complete"
    supersedes: Id | None = None
    signal_id: Id | None = None
    propensity: Probability | None = None
    superseded_success: bool | None = None
    superseded_quality: Probability | None = None
    superseded_at: Timestamp | None = None
    ttft_ms: NonNegative | None = None

    __table__: ClassVar[Table[Receipt]]

    def __post_init__(self) -> None:
        # Free text is scrubbed and capped however the receipt was built (keywords, a
        # decoded ledger line, a row read back), so no path can store a planted secret.
        if self.routing_reason:
            force_setattr(self, "routing_reason", _redact_reason(self.routing_reason))
        if self.error is not None:
            force_setattr(self, "error", redact(self.error))

    def to_json(self) -> dict[str, Any]:
        """Return the ledger line of this receipt as a dict (see ``docs/ledger.md``)."""
        out: dict[str, Any] = msgspec.to_builtins(self)
        return out


LEDGER_FORMAT_VERSION = 1
"""Version of the receipt JSON line format (``"v"`` in every line, the Struct's tag)."""

Receipt.__table__ = Table.of("receipts", Receipt, key="receipt_id")

RECEIPT_FIELDS: tuple[str, ...] = Receipt.__struct_fields__


def is_finite_or_none(value: float | None) -> bool:
    return value is None or math.isfinite(value)
