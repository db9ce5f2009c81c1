"""The core schema: named migrations for the tables the core owns.

Wings keep their own migration lists next to their code and apply them through
``Store.migrate``; ``outcomes db migrate`` applies every list the CLI knows.
"""

from __future__ import annotations

from outcomes.store._base import Migration
from outcomes.store._rollups import (
    DAILY_DDL,
    ROLLUP_DDL,
    backfill_daily,
    backfill_hourly,
    rebuild_sql,
)
from outcomes.store._sqlite_read import CORE_MIGRATION_NAMES, MIGRATIONS_TABLE

RECEIPTS_FAILURES_INDEX = (
    # Every column the walk reads, so it never touches the table (failures are few, so
    # the index stays small); only the rows it keeps are then read.
    "CREATE INDEX receipts_failures ON receipts "
    "(timestamp, seq, model_id, task, project_id, kind, success, error) "
    "WHERE NOT success AND error IS NOT NULL"
)

RECEIPTS_SIGNAL_INDEXES = (
    # `ledger stats --since` reads whole hours from the rollups, which book a late signal
    # in its call's hour: the signals recorded since a time but booked before it, and
    # those booked after it but recorded before, are read through these (signals only,
    # a few percent of the receipts).
    "CREATE INDEX receipts_signals_recorded ON receipts (timestamp, superseded_at) "
    "WHERE supersedes IS NOT NULL",
    "CREATE INDEX receipts_signals_booked ON receipts (superseded_at, timestamp) "
    "WHERE supersedes IS NOT NULL",
)

__all__ = [
    "CORE_MIGRATIONS",
    "MIGRATIONS_TABLE",
    "RECEIPTS_FAILURES_INDEX",
    "RECEIPTS_SIGNAL_INDEXES",
]


CORE_MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "core.0001_receipts",
        (
            """
            CREATE TABLE receipts (
                seq {pk},
                receipt_id TEXT NOT NULL UNIQUE,
                trace_id TEXT NOT NULL,
                model_id TEXT NOT NULL,
                task TEXT NOT NULL,
                timestamp {real} NOT NULL,
                success {bool},
                quality {real},
                latency_ms {real} NOT NULL DEFAULT 0,
                input_tokens {int} NOT NULL DEFAULT 0,
                output_tokens {int} NOT NULL DEFAULT 0,
                cost_usd {real},
                error TEXT,
                routing_reason TEXT NOT NULL DEFAULT '',
                project_id TEXT,
                intent TEXT,
                kind TEXT NOT NULL DEFAULT 'inference',
                source TEXT NOT NULL DEFAULT 'complete',
                supersedes TEXT,
                signal_id TEXT,
                propensity {real},
                superseded_success {bool},
                superseded_quality {real},
                superseded_at {real}
            )
            """,
            "CREATE INDEX receipts_timestamp ON receipts (timestamp)",
            "CREATE INDEX receipts_trace ON receipts (trace_id)",
            "CREATE INDEX receipts_model_task ON receipts (model_id, task)",
        ),
    ),
    Migration(
        "core.0002_rollups",
        (
            *ROLLUP_DDL,
            # Rollups cover the inference receipts; `ledger stats` reads the other kinds
            # (few) through this partial index.
            "CREATE INDEX receipts_other_kinds ON receipts (kind) WHERE kind <> 'inference'",
        ),
        run=backfill_hourly,
    ),
    Migration(
        "core.0003_receipts_ttft",
        # Nullable, no default: rows written before it read back as "not measured".
        ("ALTER TABLE receipts ADD COLUMN ttft_ms {real}",),
    ),
    Migration("core.0004_rollup_daily", DAILY_DDL, run=backfill_daily),
    Migration(
        "core.0005_receipts_failures",
        # A model's recent failures (the dashboard): the newest failures of a time range
        # straight from this small index (failures only), not from a walk of every receipt.
        (RECEIPTS_FAILURES_INDEX,),
    ),
    Migration("core.0006_receipts_signals", RECEIPTS_SIGNAL_INDEXES),
    # The decayed success and failure counts now age with a quarter of the half-life
    # (stats COUNTS_HALF_LIFE_SHARE): refold the rollups so that stored hours hold them so.
    Migration("core.0007_rollup_counts_half_life", (), run=rebuild_sql),
)

if tuple(m.name for m in CORE_MIGRATIONS) != CORE_MIGRATION_NAMES:  # pragma: no cover
    # The light read path (``_sqlite_read``) trusts a file whose core migrations are
    # exactly these names; a new one must be named there too, or it would read a store
    # this version has not migrated yet.
    raise ImportError("store._sqlite_read.CORE_MIGRATION_NAMES must name every core migration")
