"""Named migrations for the conversation-verdict log and the judge cache (never text)."""

from __future__ import annotations

from outcomes.store import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "inference_conversation.0001_verdicts",
        (
            """
            CREATE TABLE conversation_verdicts (
                seq {pk},
                signal_id TEXT NOT NULL UNIQUE,
                trace_id TEXT NOT NULL,
                verdict TEXT NOT NULL,
                confidence {real} NOT NULL,
                cues TEXT NOT NULL,
                turns {int} NOT NULL,
                timestamp {real} NOT NULL
            )
            """,
            "CREATE INDEX conversation_verdicts_timestamp ON conversation_verdicts (timestamp)",
            "CREATE INDEX conversation_verdicts_trace ON conversation_verdicts (trace_id)",
        ),
    ),
    Migration(
        "inference_conversation.0002_judge_cache",
        (
            """
            CREATE TABLE conversation_judge_cache (
                seq {pk},
                digest TEXT NOT NULL UNIQUE,
                verdict TEXT NOT NULL,
                confidence {real} NOT NULL,
                created {real} NOT NULL
            )
            """,
        ),
    ),
)
