"""The shadow wing's schema: observations of two confidences, shadow decisions, and the
per-(point, candidate) sums the store keeps with the decisions."""

from __future__ import annotations

from outcomes.shadow._records import DECISION_TOTALS
from outcomes.store import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "shadow.0001_observations",
        (
            """
            CREATE TABLE shadow_observations (
                seq {pk},
                id TEXT NOT NULL UNIQUE,
                memory_id TEXT NOT NULL,
                namespace TEXT NOT NULL,
                source TEXT NOT NULL,
                caller_confidence {real},
                derived_confidence {real} NOT NULL,
                signals {json},
                recall_outcome TEXT,
                observed_at {real} NOT NULL,
                outcome {bool},
                labeled_at {real}
            )
            """,
            "CREATE INDEX shadow_observations_group "
            "ON shadow_observations (namespace, source, observed_at)",
            "CREATE INDEX shadow_observations_time ON shadow_observations (observed_at)",
        ),
    ),
    Migration(
        "shadow.0002_decisions",
        (
            """
            CREATE TABLE shadow_decisions (
                seq {pk},
                id TEXT NOT NULL UNIQUE,
                point TEXT NOT NULL,
                candidate TEXT NOT NULL,
                live_choice TEXT NOT NULL,
                live_propensity {real} NOT NULL,
                candidate_choice TEXT NOT NULL,
                candidate_probability {real} NOT NULL,
                decided_at {real} NOT NULL,
                reward {real},
                rewarded_at {real}
            )
            """,
            "CREATE INDEX shadow_decisions_point ON shadow_decisions (point, candidate)",
            "CREATE INDEX shadow_decisions_time ON shadow_decisions (decided_at)",
        ),
    ),
    # The off-policy report's sums, kept by the store with the decisions and their
    # rewards (the report no longer reads every decision); filled from those stored.
    Migration("shadow.0003_decision_totals", DECISION_TOTALS.ddl(), run=DECISION_TOTALS.backfill),
)
"""Applied by :class:`~outcomes.shadow.ShadowRecorder` and the report when bound to a store."""
