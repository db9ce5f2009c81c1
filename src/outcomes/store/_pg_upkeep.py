"""Read plans that do not wait for autovacuum: the writer's upkeep of the months it writes.

Two things the planner needs from a month partition of ``receipts`` come, by default,
only from autovacuum, which may be off, behind, or a minute away (its naptime) when a
bulk write ends:

- **Column statistics** (``ANALYZE``). Without them ``kind <> 'inference'`` (``ledger
  stats``' other kinds) is guessed to hold 99.5% of the rows, so the partial index
  ``receipts_other_kinds`` loses to a sequential scan of every month; and a BRIN index is
  costed with no correlation, as if it returned every block range, so every time window
  (``ledger stats --since``, ``ledger export --since``, the dashboard's walks, the
  ``--since`` folds) and the incremental fold's ``seq > ?`` scan whole months too.
- **Summarized BRIN ranges.** A block range of the ``timestamp`` and ``seq`` BRIN
  indexes (``store/_pg_compact.py``) that no summary covers matches every condition, so
  a window read through the index still reads every block appended since the last
  ``VACUUM`` (``autosummarize`` hands a filled range to an autovacuum worker; none runs
  when autovacuum is off). Once a range is summarized, inserts keep its summary current.

So after a write, outside its transaction, the store summarizes the new ranges of each
month it has written :data:`SUMMARIZE_EVERY` receipts into since it last did
(``brin_summarize_new_values``: a walk of the range map plus the new ranges' blocks),
and, while a month has no statistics, checks its size and runs ``ANALYZE`` on it once
it holds :data:`ANALYZE_MIN_BYTES` (a month too large to analyze without stalling the
writer, :data:`ANALYZE_MAX_BYTES`, gets a warning naming the statement instead). Both
need a lock that autovacuum and other writers' upkeep also take: each runs in its own
short transaction with a lock timeout, and gives up until the next turn rather than
wait. Failures are logged, never raised: the write they follow has committed. Measured
in docs/scaling.md ("Plans without autovacuum").
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from outcomes.store._partitions import month_of

logger = logging.getLogger("outcomes.store")

SUMMARIZE_EVERY = 4000
"""Receipts written into a month between two summaries of its BRIN ranges. A range is 32
pages, about 1,400 receipts of the scale benchmark's (45 a page at 1M): a store leaves at
most about three ranges unsummarized behind it, which a window read then reads whole.
Each summary costs a round trip and a walk of the range map: every 1000 receipts (a
writer's batch) it added 6.2-6.3% to the wall time of writing 100k receipts, every 4000
2.7-3.0% with the month's one ANALYZE, 1.5-1.7% without (docs/scaling.md, load 4)."""
ANALYZE_MIN_BYTES = 2 * 1024 * 1024
"""A month without statistics is analyzed once its heap holds this much (256 pages,
about 11,000 receipts): below it a sequential scan of the month costs about as much as
the index path (1-2 ms), and ``ANALYZE`` reads every page of it (tens of ms, once)."""
ANALYZE_MAX_BYTES = 64 * 1024 * 1024
"""Larger than this (about 360,000 receipts), a month found without statistics is not
analyzed by the writer: ``ANALYZE`` of the 176 MB month of the 1M store took 4.4 s at
load 19, a stall no batch should wait behind. A warning names the statement to run."""
LOCK_TIMEOUT_MS = 5
"""How long the upkeep waits for its lock (ShareUpdateExclusive on the month, which
autovacuum, ``ANALYZE`` and other writers' upkeep hold meanwhile): summarizing with
nothing to do held it 0.2-0.3 ms on the 1M month; a month being vacuumed is skipped."""

_BEGIN = ("BEGIN", f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
_SUMMARIZE = (
    # Per month: the ranges summarized now, and, when asked, its heap's size if it has no
    # statistics (NULL when it has, or when the month is gone: to_regclass gives NULL).
    "SELECT m.name, (SELECT coalesce(sum(brin_summarize_new_values(i.indexrelid)), 0) "
    "FROM pg_index AS i JOIN pg_class AS x ON x.oid = i.indexrelid "
    "JOIN pg_am AS a ON a.oid = x.relam WHERE i.indrelid = to_regclass(m.name) "
    "AND a.amname = 'brin'), CASE WHEN m.ask THEN (SELECT pg_relation_size(c.oid) "
    "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
    "WHERE c.oid = to_regclass(m.name) AND NOT EXISTS (SELECT 1 FROM pg_stats AS s "
    "WHERE s.schemaname = n.nspname AND s.tablename = c.relname)) END "
    "FROM unnest(%s::text[], %s::boolean[]) AS m(name, ask)"
)


def month_counts(timestamps: Sequence[float]) -> Counter[str]:
    """How many of ``timestamps`` fall in each month partition, by its name (the two
    open-ended partitions are left out: they hold strays, not months of receipts)."""
    if not timestamps:
        return Counter()
    first, last = month_of(min(timestamps)), month_of(max(timestamps))
    if first == last:  # the usual batch: one month, and no date conversion per receipt
        return Counter({_name(first): len(timestamps)} if first else {})
    return Counter(_name(m) for m in map(month_of, timestamps) if m is not None)


def _analyze(name: str) -> Any:
    from psycopg import sql

    return sql.SQL("ANALYZE {}").format(sql.Identifier(name))


def _name(month: tuple[int, int] | None) -> str:
    assert month is not None
    return f"receipts_p{month[0]:04d}{month[1]:02d}"


class Upkeep:
    """What one store's writer owes the months it writes (module docstring). Not
    thread-safe: the store calls it under its write lock."""

    def __init__(self) -> None:
        self._pending: Counter[str] = Counter()  # receipts written since the last summary
        self._settled: set[str] = set()  # months with statistics (or too large to analyze)
        self._off = False  # the role may not summarize or analyze: stop asking

    def wrote(self, timestamps: Sequence[float]) -> None:
        """Count a batch of receipts (their timestamps) written into their months."""
        if not self._off:
            self._pending.update(month_counts(timestamps))

    def due(self) -> bool:
        return not self._off and any(n >= SUMMARIZE_EVERY for n in self._pending.values())

    def run(self, conn: Any) -> None:
        """Summarize and, where due, analyze the months written enough into, on ``conn``
        (autocommit, no transaction open). Never raises a database error."""
        due = sorted(m for m, n in self._pending.items() if n >= SUMMARIZE_EVERY)
        if self._off or not due:
            return
        for month in due:  # tried once per SUMMARIZE_EVERY receipts, whatever the outcome
            del self._pending[month]
        ask = [m not in self._settled for m in due]
        rows = self._in_transaction(conn, _SUMMARIZE, [due, ask])
        for name, _, size in rows or ():
            if size is None or size < ANALYZE_MIN_BYTES:
                if size is None:  # it has statistics (or is gone): stop asking
                    self._settled.add(str(name))
                continue
            self._settled.add(str(name))
            if size > ANALYZE_MAX_BYTES:
                logger.warning(
                    "%s has no planner statistics and is too large for the writer to analyze "
                    "(%d MB): reads of it scan it whole until `ANALYZE %s` runs "
                    "(autovacuum does it when enabled)",
                    name, size // 2**20, name,
                )  # fmt: skip
            elif self._in_transaction(conn, _analyze(str(name)), None) is None:
                self._settled.discard(str(name))  # locked meanwhile: ask again next turn

    def _in_transaction(self, conn: Any, sql: str, params: Any) -> list[Any] | None:
        """``sql``'s rows, run in a transaction of its own with the lock timeout, in one
        round trip; None when it failed (logged; the role lacking the right turns the
        upkeep off)."""
        import psycopg

        try:
            with conn.cursor() as cur, conn.cursor() as end:
                with conn.pipeline():
                    for statement in _BEGIN:
                        cur.execute(statement)
                    cur.execute(sql, params)
                    end.execute("COMMIT")  # on a cursor of its own: cur keeps sql's rows
                return list(cur.fetchall()) if cur.description is not None else []
        except psycopg.Error as exc:
            if conn.pgconn.transaction_status != 0 and not conn.closed:  # not idle
                with contextlib.suppress(psycopg.Error):  # gone: the next write reconnects
                    conn.rollback()
            if isinstance(exc, psycopg.errors.InsufficientPrivilege):
                self._off = True
                logger.warning("store upkeep off: this role may not summarize or analyze "
                               "receipts partitions (%s)", exc)  # fmt: skip
            else:
                logger.debug("store upkeep skipped: %s", exc)
            return None
