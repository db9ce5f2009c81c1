"""Stored open feedback and call tags: records and named migrations (never text)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from outcomes._table import Table
from outcomes.store import Migration, Store


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One stored piece of feedback: the raw values, what they meant, and whether the
    call's outcome took them (``applied``; false for an unknown, failed or too old call,
    or feedback that says nothing about the outcome)."""

    feedback_id: str
    trace_id: str
    timestamp: float
    score: float | None
    score_min: float | None
    score_max: float | None
    label: str | None
    thumbs: bool | None
    user_id: str | None
    session_id: str | None
    tags: str
    metadata: dict[str, Any] | None
    success: bool | None
    quality: float | None
    applied: bool
    signal_id: str | None

    __table__: ClassVar[Table[FeedbackRecord]]


FeedbackRecord.__table__ = Table.of("feedback", FeedbackRecord, key="feedback_id")


@dataclass(frozen=True, slots=True)
class TraceTag:
    """One tag of one call (stored once however often it is given)."""

    tag_id: str
    trace_id: str
    tag: str
    timestamp: float

    __table__: ClassVar[Table[TraceTag]]


TraceTag.__table__ = Table.of("trace_tags", TraceTag, key="tag_id")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "inference_feedback.0001_feedback",
        (
            """
            CREATE TABLE feedback (
                seq {pk},
                feedback_id TEXT NOT NULL UNIQUE,
                trace_id TEXT NOT NULL,
                timestamp {real} NOT NULL,
                score {real},
                score_min {real},
                score_max {real},
                label TEXT,
                thumbs {bool},
                user_id TEXT,
                session_id TEXT,
                tags TEXT NOT NULL DEFAULT '',
                metadata TEXT,
                success {bool},
                quality {real},
                applied {bool} NOT NULL,
                signal_id TEXT
            )
            """,
            "CREATE INDEX feedback_trace ON feedback (trace_id)",
            "CREATE INDEX feedback_timestamp ON feedback (timestamp)",
            """
            CREATE TABLE trace_tags (
                seq {pk},
                tag_id TEXT NOT NULL UNIQUE,
                trace_id TEXT NOT NULL,
                tag TEXT NOT NULL,
                timestamp {real} NOT NULL
            )
            """,
            "CREATE INDEX trace_tags_tag ON trace_tags (tag, trace_id)",
        ),
    ),
)
"""Applied by the tracker when it binds to a store."""


def prune_feedback(store: Store) -> int:
    """Retention for feedback: delete the feedback rows and call tags older than the
    oldest receipt left (all of them when no receipt is left), so that user and session
    ids never outlive the receipts they describe. Run after the receipts were pruned;
    returns how many rows were deleted."""
    from outcomes.store._newest import OLDEST

    store.migrate(MIGRATIONS)
    # A named query, not scan(order_by="timestamp", limit=1): PostgreSQL has no ordered
    # index on receipt times (pg.0003) and sorted the whole table (store/_newest.py).
    oldest = store.query(OLDEST)[0][0]
    deleted = 0
    for table in (FeedbackRecord.__table__, TraceTag.__table__):
        if oldest is None:
            deleted += store.delete(table)
        else:
            deleted += store.prune(table, column="timestamp", before=float(oldest))
    return deleted
