"""The trajectory wing's schema: runs, their steps, and the delivery outbox."""

from __future__ import annotations

from outcomes.store import Migration

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "trajectory.0001_runs_and_steps",
        (
            """
            CREATE TABLE trajectories (
                seq {pk},
                run_id TEXT NOT NULL UNIQUE,
                created_at {real} NOT NULL,
                pipeline TEXT NOT NULL DEFAULT 'review',
                project_id TEXT,
                step_count {int} NOT NULL DEFAULT 0,
                schema_version {int} NOT NULL,
                issue_ids {json} NOT NULL,
                save_id TEXT NOT NULL
            )
            """,
            "CREATE INDEX trajectories_created ON trajectories (created_at)",
            """
            CREATE TABLE trajectory_steps (
                seq {pk},
                step_id TEXT NOT NULL UNIQUE,
                run_id TEXT NOT NULL,
                save_id TEXT NOT NULL,
                position {int} NOT NULL,
                kind TEXT NOT NULL,
                trace_id TEXT,
                body {json} NOT NULL
            )
            """,
            "CREATE INDEX trajectory_steps_run ON trajectory_steps (run_id, save_id, position)",
            "CREATE INDEX trajectory_steps_trace ON trajectory_steps (trace_id)",
        ),
    ),
    Migration(
        "trajectory.0002_outbox",
        (
            """
            CREATE TABLE trajectory_outbox (
                seq {pk},
                entry_id TEXT NOT NULL UNIQUE,
                run_id TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                created_at {real} NOT NULL,
                attempts {int} NOT NULL DEFAULT 0,
                next_attempt_at {real} NOT NULL DEFAULT 0,
                delivered_at {real},
                failed_at {real},
                last_error TEXT
            )
            """,
            "CREATE INDEX trajectory_outbox_due ON trajectory_outbox (endpoint, next_attempt_at)",
        ),
    ),
)
"""Applied by :class:`~outcomes.trajectory.TrajectoryStore` when it binds to a store."""
