"""The stored shapes of the trajectory wing: runs, their steps, and outbox entries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from outcomes._table import Table


@dataclass(frozen=True, slots=True)
class TrajectoryRun:
    """The header of one stored trajectory.

    ``issue_ids`` are the ids of every ``final_decision`` step (what verdicts can target);
    ``schema_version`` is the wire contract version the steps were stored under;
    ``save_id`` names the save whose steps belong to this header (steps of a save that lost
    a race for the same run id are never read).
    """

    run_id: str
    created_at: float
    pipeline: str = "review"
    project_id: str | None = None
    step_count: int = 0
    schema_version: int = 1
    issue_ids: list[str] = field(default_factory=list)
    save_id: str = ""

    __table__: ClassVar[Table[TrajectoryRun]]


TrajectoryRun.__table__ = Table.of("trajectories", TrajectoryRun, key="run_id")


@dataclass(frozen=True, slots=True)
class StoredStep:
    """One step of a stored trajectory: its wire object (key order kept) in ``body``.

    ``position`` is the step's 0-based place in the trajectory (its wire ``seq``).
    """

    step_id: str
    run_id: str
    save_id: str
    position: int
    kind: str
    trace_id: str | None
    body: dict[str, Any]

    __table__: ClassVar[Table[StoredStep]]


StoredStep.__table__ = Table.of("trajectory_steps", StoredStep, key="step_id")


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A finished trajectory waiting for (or done with) delivery to a remote endpoint."""

    entry_id: str
    run_id: str
    endpoint: str
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    delivered_at: float | None = None
    failed_at: float | None = None
    last_error: str | None = None

    __table__: ClassVar[Table[OutboxEntry]]

    @property
    def state(self) -> str:
        """``pending``, ``delivered`` or ``failed`` (gave up)."""
        if self.delivered_at is not None:
            return "delivered"
        if self.failed_at is not None:
            return "failed"
        return "pending"


OutboxEntry.__table__ = Table.of("trajectory_outbox", OutboxEntry, key="entry_id")
