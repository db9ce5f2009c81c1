"""The components wing's schema: one append-only table of outcome events, and the
per-(component, outcome) totals the store keeps with it."""

from __future__ import annotations

from outcomes.components._records import OUTCOME_TOTALS
from outcomes.store import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "components.0001_events",
        (
            """
            CREATE TABLE component_events (
                seq {pk},
                event_id TEXT NOT NULL UNIQUE,
                component_id TEXT NOT NULL,
                outcome TEXT NOT NULL,
                timestamp {real} NOT NULL,
                session_id TEXT,
                context TEXT NOT NULL DEFAULT ''
            )
            """,
            "CREATE INDEX component_events_component ON component_events (component_id)",
            "CREATE INDEX component_events_outcome_time ON component_events (outcome, timestamp)",
        ),
    ),
    # The statistics' totals, kept by the store with the events (reads no longer group
    # every event); filled from the events already stored.
    Migration("components.0002_outcome_totals", OUTCOME_TOTALS.ddl(), run=OUTCOME_TOTALS.backfill),
)
"""Applied by :class:`~outcomes.components.ComponentTracker` when it binds to a store."""
