"""Retention, integrity checks and summaries of the ledger."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from outcomes import _validate
from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes.errors import ValidationError
from outcomes.ledger._queries import (
    CELL_TOTALS,
    EDGE_ROWS,
    HOUR_TOTALS,
    OTHER_KIND_ROWS,
    edge_params,
)
from outcomes.ledger._summary import summary_rows
from outcomes.records import Receipt
from outcomes.store import Migration, Store
from outcomes.store._newest import newest_cutoff
from outcomes.store._rollups import since_hour

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Parse ``30d``, ``12h``, ``90m``, ``45s`` or ``2w`` into seconds."""
    match = _DURATION_RE.match(text)
    if not match:
        raise ValidationError(f"invalid duration {text!r}: use e.g. 30d, 12h, 90m, 45s, 2w")
    return float(match.group(1)) * _UNITS[match.group(2).lower()]


def parse_since(text: str, *, clock: Clock = SYSTEM_CLOCK) -> float:
    """Parse a point in time: a duration ago (``7d``), an ISO date/time, or Unix seconds."""
    text = text.strip()
    if _DURATION_RE.match(text):
        return clock.now() - parse_duration(text)
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise ValidationError(f"invalid time {text!r}")
        return value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"invalid time {text!r}: use a duration (7d), an ISO date (2026-11-01) or Unix seconds"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def prune(
    store: Store,
    *,
    keep: int | None = None,
    older_than: float | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> int:
    """Delete receipts beyond retention; returns how many were deleted.

    ``keep`` keeps the ``keep`` most recent receipts (by timestamp; receipts tied with the
    oldest kept one are kept too). ``older_than`` (seconds) deletes receipts older than
    that. Both may be given. This is the only way receipts leave the ledger. The
    store's rollups (the summaries profiles and ``ledger stats`` read) keep what they
    summarized; ``outcomes profiles rebuild`` refolds them from the receipts left.
    """
    table = Receipt.__table__
    deleted = 0
    if older_than is not None:
        if older_than < 0 or not math.isfinite(older_than):
            raise ValidationError(f"older_than must be >= 0 seconds, got {older_than}")
        deleted += store.prune(table, column="timestamp", before=clock.now() - older_than)
    if keep is not None:
        if keep < 0:
            raise ValidationError(f"keep must be >= 0, got {keep}")
        if keep == 0:
            deleted += store.delete(table)
        else:
            # The keep-th newest timestamp, found without reading the kept receipts
            # (store/_newest.py: PostgreSQL has no ordered index on timestamp).
            cutoff = newest_cutoff(store, -math.inf, math.inf, keep)
            if cutoff is not None:
                deleted += store.prune(table, column="timestamp", before=cutoff)
    return deleted


@dataclass(frozen=True)
class Problem:
    """One thing ``verify`` found wrong."""

    check: str
    detail: str


@dataclass
class VerifyReport:
    store: str
    receipts: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Observations that are not damage (migrations a capability applies when first used)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "ok": self.ok,
            "receipts": self.receipts,
            "problems": [{"check": p.check, "detail": p.detail} for p in self.problems],
            "notes": list(self.notes),
        }


_MAX_ROW_PROBLEMS = 20


def _row_problems(r: Receipt) -> list[str]:
    """What is wrong with a stored receipt, by the rules ``ledger import`` applies.

    Import and verify share one rule set (the receipt's field types), so a receipt that
    imports cleanly always verifies, and one that verify flags could not be imported.
    """
    return [f"{name}={getattr(r, name, None)!r}: {why}" for name, why in _validate.problems(r)]


def verify(store: Store, *, known: tuple[Migration, ...] = ()) -> VerifyReport:
    """Check the store's integrity: the database file, the schema, and every receipt."""
    report = VerifyReport(store=store.url)
    try:
        engine_problems = store.verify()
    except Exception as exc:
        engine_problems = [str(exc)]
    for line in engine_problems:
        report.problems.append(Problem(f"{store.kind}_integrity", line))
    try:
        status = store.migration_status(known)
    except Exception as exc:
        report.problems.append(Problem("schema", f"cannot read migrations: {exc}"))
        return report
    applied = {n for n, _ in status.applied}
    for name in status.pending:
        if name.startswith("core."):
            report.problems.append(Problem("schema", f"migration {name} not applied"))
        else:
            # A capability applies its migrations when it first binds to the store.
            report.notes.append(f"migration {name} not applied yet (`outcomes db migrate`)")
    for name in status.unknown:
        report.notes.append(f"migration {name} was applied by a newer version of outcomes")
    if "core.0001_receipts" not in applied:
        return report
    row_problems = 0
    try:
        for receipt in store.scan(Receipt.__table__):
            report.receipts += 1
            found = _row_problems(receipt)
            if found:
                row_problems += 1
                if row_problems <= _MAX_ROW_PROBLEMS:
                    report.problems.append(
                        Problem("receipt", f"{receipt.receipt_id}: {'; '.join(found)}")
                    )
    except Exception as exc:
        report.problems.append(Problem("receipts", f"cannot read receipts: {exc}"))
    if row_problems > _MAX_ROW_PROBLEMS:
        report.problems.append(
            Problem("receipt", f"... and {row_problems - _MAX_ROW_PROBLEMS} more bad receipts")
        )
    return report


def summarize(
    store: Store, *, since: float | None = None, by_task: bool = True
) -> list[dict[str, Any]]:
    """Per (model, task): resolved calls, net outcomes, mean latency, cost.

    A receipt that supersedes another replaces its outcome (the old outcome, carried in
    ``superseded_success``, is taken back), so each call counts once with its latest
    outcome; ``receipts`` is the number of ledger lines behind those numbers.
    With ``by_task=False`` the rows are per model and ``task`` is ``None``.
    """
    if since is None:
        # Every inference receipt is in the rollups; only other kinds are read.
        return summary_rows(store.query(CELL_TOTALS), store.iter_query(OTHER_KIND_ROWS), by_task)
    # The rollups book every inference receipt in an hour (a late signal in its call's
    # hour): the whole hours from `since` come from them, and only the receipts at the
    # edge are read, each with the sign that adds it or takes it back (see EDGE_ROWS).
    since, hour = since_hour(since)
    edge = store.iter_query(EDGE_ROWS, edge_params(since, hour))
    return summary_rows(store.query(HOUR_TOTALS, (hour,)), edge, by_task)
