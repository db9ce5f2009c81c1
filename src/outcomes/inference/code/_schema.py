"""Named migrations for the code-adoption tables (applied by :class:`CodeAdoption`)."""

from __future__ import annotations

from outcomes.store import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "inference_code.0001_suggestions",
        (
            """
            CREATE TABLE code_suggestions (
                seq {pk},
                suggestion_id TEXT NOT NULL UNIQUE,
                trace_id TEXT NOT NULL,
                repo TEXT NOT NULL,
                path TEXT NOT NULL,
                language TEXT NOT NULL,
                created_at {real} NOT NULL,
                base_commit TEXT,
                lines {json},
                shingles {json},
                symbols {json},
                baseline_symbols {json},
                status TEXT NOT NULL,
                verdict TEXT,
                confidence {real},
                resolved_at {real},
                resolved_commit TEXT,
                survival {json}
            )
            """,
            "CREATE INDEX code_suggestions_repo_status ON code_suggestions (repo, status)",
            "CREATE INDEX code_suggestions_trace ON code_suggestions (trace_id)",
            """
            CREATE TABLE code_findings (
                seq {pk},
                finding_id TEXT NOT NULL UNIQUE,
                suggestion_id TEXT NOT NULL,
                trace_id TEXT NOT NULL,
                path TEXT NOT NULL,
                scope TEXT NOT NULL,
                verdict TEXT NOT NULL,
                timestamp {real} NOT NULL,
                confidence {real},
                symbol TEXT,
                source TEXT
            )
            """,
            "CREATE INDEX code_findings_suggestion ON code_findings (suggestion_id)",
            "CREATE INDEX code_findings_timestamp ON code_findings (timestamp)",
        ),
    ),
    Migration(
        "inference_code.0002_line_sequence",
        (
            # The suggestion's lines in order (hash, token sketch, weight, novel) and a
            # Bloom filter of the file's lines at suggestion time: what tells an edited
            # line from a missing one and a line the human added from an old one.
            "ALTER TABLE code_suggestions ADD COLUMN line_sequence {json}",
            "ALTER TABLE code_suggestions ADD COLUMN baseline_filter TEXT",
        ),
    ),
)
