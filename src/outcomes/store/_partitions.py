"""PostgreSQL: ``receipts`` partitioned by month of ``timestamp``, retention by dropping.

The migration ``pg.0001_receipts_partitioned`` turns the table the core schema creates
(one heap, ``seq`` primary key, ``UNIQUE (receipt_id)``) into a table partitioned by
range on ``timestamp``, one partition per UTC calendar month (``receipts_pYYYYMM``),
copying every stored receipt with its ``seq``. Receipts dated before 1970 or from year
10000 on fall into two open-ended partitions, so that every finite timestamp has a home
and there is no DEFAULT partition (whose rows would block creating a month later).

Idempotence: a unique key of a partitioned table must include the partition column, so
the key is ``(receipt_id, timestamp)``. That alone catches a receipt delivered twice (it
carries the same timestamp both times) but not a receipt id reused at another time
(a re-processed signal derives the same id at a later ``timestamp``). The writer
therefore looks up the batch's ids before inserting, holding the rollup lock that every
writer of receipts takes, so no other writer can slip in between (``_postgres.py``).
From ``pg.0004`` the key is each partition's own unique index on ``receipt_id``
(store/_pg_compact.py): 8 bytes a receipt smaller, and strict within a month.

Partitions are created on demand by the writer (in its transaction, under the same lock)
or ahead of time by :func:`create_partitions`. :func:`drop_before` is the retention
path: partitions wholly older than the cutoff are dropped (no dead tuples, no vacuum),
the remainder is deleted row by row.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from outcomes.store._schema import RECEIPTS_FAILURES_INDEX, RECEIPTS_SIGNAL_INDEXES

_FIRST = 0.0
"""Month partitions cover [1970-01, 10000-01); outside, the two open-ended ones."""
_END = 253_402_300_800.0  # 10000-01-01T00:00:00Z
PAST, FUTURE = "receipts_past", "receipts_future"
MONTHS_SPAN = (_FIRST, _END)
"""[start, end) of the timestamps the month partitions hold (the rest: PAST, FUTURE)."""
ROLLUP_LOCK_KEY = 0x6F7574726F6C6C73  # "outrolls": what every writer of receipts holds


def month_of(ts: float) -> tuple[int, int] | None:
    """(year, month) of the UTC month holding ``ts``; None outside [1970, 10000)."""
    if not _FIRST <= ts < _END:
        return None
    d = datetime.fromtimestamp(ts, UTC)
    return d.year, d.month


def month_bounds(year: int, month: int) -> tuple[float, float]:
    """[start, end) of a UTC month as epoch seconds."""
    start = float(calendar.timegm((year, month, 1, 0, 0, 0)))
    if (year, month) == (9999, 12):  # the last month: ``calendar`` knows no year 10000
        return start, _END
    nxt = (year + 1, 1) if month == 12 else (year, month + 1)
    return start, float(calendar.timegm((*nxt, 1, 0, 0, 0)))


def unique_ids(partition: str) -> str:
    """The statement giving ``partition`` its own unique index on ``receipt_id``
    (``pg.0004``, store/_pg_compact.py: one per partition, not one on the table)."""
    return (
        f"CREATE UNIQUE INDEX IF NOT EXISTS {partition}_id ON {partition} (receipt_id) "
        "WITH (fillfactor = 100)"
    )


def _create_month(cur: Any, year: int, month: int, *, own_key: bool = True) -> None:
    lo, hi = month_bounds(year, month)
    name = f"receipts_p{year:04d}{month:02d}"
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF receipts "
        f"FOR VALUES FROM ({lo!r}) TO ({hi!r})"
    )
    if own_key:  # not in pg.0001's rebuild: pg.0004 adds it to every partition there is
        cur.execute(unique_ids(name))


class Partitions:
    """The months a store knows to exist (one per store; a miss asks the database,
    which makes ``CREATE ... IF NOT EXISTS`` safe across processes)."""

    def __init__(self) -> None:
        self._known: set[tuple[int, int]] = set()
        self._lo = self._hi = 0.0  # the last month seen: most batches fall in it

    def ensure(self, cur: Any, timestamps: Iterable[float]) -> None:
        """Create the partitions these timestamps need (the rollup lock is held)."""
        ts = list(timestamps)
        if not ts:
            return
        lo, hi = min(ts), max(ts)
        if self._lo <= lo and hi < self._hi:
            return
        months = {m for m in map(month_of, set(ts)) if m is not None}
        for year, month in sorted(months - self._known):
            _create_month(cur, year, month)
            self._known.add((year, month))
        if len(months) == 1:
            self._lo, self._hi = month_bounds(*months.pop())

    def forget(self) -> None:
        self._known.clear()
        self._lo = self._hi = 0.0


def create_partitions(cur: Any, since: float, until: float) -> int:
    """Create the month partitions covering [since, until) ahead of time; returns how
    many months that is (existing ones included)."""
    # ``until`` is exclusive; fromtimestamp rounds to microseconds, so step back a whole one.
    first, last = month_of(max(since, _FIRST)), month_of(min(until, _END) - 1e-3)
    if first is None or last is None:
        return 0
    year, month, n = *first, 0
    while (year, month) <= last:
        _create_month(cur, year, month)
        n += 1
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return n


def month_partitions(cur: Any) -> list[tuple[str, float, float]]:
    """(name, start, end) of the month partitions, oldest first."""
    cur.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'receipts'::regclass AND c.relname ~ '^receipts_p[0-9]{6}$'"
    )
    out = []
    for (name,) in cur.fetchall():
        year, month = int(name[10:14]), int(name[14:16])
        out.append((str(name), *month_bounds(year, month)))
    return sorted(out, key=lambda p: p[1])


def drop_before(cur: Any, before: float) -> int:
    """Delete the receipts older than ``before``: whole partitions are dropped, the rest
    deleted. Returns how many receipts left."""
    removed = 0
    for name, _, end in month_partitions(cur):
        if end > before:
            break
        cur.execute(f"SELECT count(*) FROM {name}")
        removed += int(cur.fetchone()[0])
        cur.execute(f"DROP TABLE {name}")
    cur.execute("DELETE FROM receipts WHERE timestamp < %s", [before])
    return removed + max(int(cur.rowcount), 0)


def is_partitioned(cur: Any) -> bool:
    cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass('receipts')")
    row = cur.fetchone()
    return row is not None and row[0] == "p"


def partition_receipts(cur: Any, sql: Callable[[str], str]) -> None:
    """Rebuild ``receipts`` as a partitioned table, keeping every row and its ``seq``
    (migration ``pg.0001_receipts_partitioned``, see store/_pg_compact.py)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK_KEY])
    if is_partitioned(cur):
        return
    cur.execute("ALTER TABLE receipts RENAME TO receipts_unpartitioned")
    # LIKE keeps the column order (later migrations add columns; rows copy by position)
    # and the NOT NULLs and defaults; the identity gets a sequence of its own.
    cur.execute(
        "CREATE TABLE receipts (LIKE receipts_unpartitioned INCLUDING DEFAULTS "
        "INCLUDING IDENTITY) PARTITION BY RANGE (timestamp)"
    )
    cur.execute(f"CREATE TABLE {PAST} PARTITION OF receipts FOR VALUES FROM (MINVALUE) TO (0)")
    cur.execute(
        f"CREATE TABLE {FUTURE} PARTITION OF receipts FOR VALUES FROM ({_END!r}) TO (MAXVALUE)"
    )
    cur.execute(
        "SELECT DISTINCT floor(timestamp / 86400) FROM receipts_unpartitioned "
        "WHERE timestamp >= 0 AND timestamp < %s",
        [_END],
    )
    months = {month_of(float(day) * 86400) for (day,) in cur.fetchall()}
    for year, month in sorted(m for m in months if m is not None):
        _create_month(cur, year, month, own_key=False)
    refill(cur, "receipts_unpartitioned", _INDEXES)


def refill(
    cur: Any, source: str, indexes: Iterable[str], columns: Sequence[tuple[str, str]] = ()
) -> None:
    """Copy every row of ``source`` into the new ``receipts`` in ``seq`` order, keeping
    ``seq``, continue its identity after them, drop ``source`` and build ``indexes``
    (once, at the end). ``columns``: (name in ``receipts``, SQL computing it from a row
    of ``source``) pairs; none copies every column by position."""
    names = f"({', '.join(n for n, _ in columns)}) " if columns else ""
    values = ", ".join(v for _, v in columns) if columns else "*"
    cur.execute(
        f"INSERT INTO receipts {names}OVERRIDING SYSTEM VALUE "
        f"SELECT {values} FROM {source} ORDER BY seq"
    )
    cur.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {source}")
    cur.execute(f"ALTER TABLE receipts ALTER COLUMN seq RESTART WITH {int(cur.fetchone()[0])}")
    cur.execute(f"DROP TABLE {source}")
    for statement in indexes:
        cur.execute(statement)


_INDEXES: tuple[str, ...] = (
    # Idempotence (see the module docstring) and look-ups by id (supersession, updates).
    "CREATE UNIQUE INDEX receipts_id ON receipts (receipt_id, timestamp)",
    # Insertion order: incremental folds (seq > ?) and every scan's ORDER BY.
    "CREATE INDEX receipts_seq ON receipts (seq)",
    # Late signals find their call's receipts by trace (equality only): a hash index
    # keeps 4 bytes of hash per row where a B-tree keeps the whole id (36 characters for
    # the ids outcomes makes), about half the size.
    "CREATE INDEX receipts_trace ON receipts USING hash (trace_id)",
    # The dashboard's bounded walk of the newest receipts of a time range
    # (ORDER BY timestamp DESC ... LIMIT): an ordered index, which a block range
    # index is not; also retention's remainder and `keep`.
    "CREATE INDEX receipts_timestamp ON receipts (timestamp)",
    # `ledger stats` reads the (few) receipts that are not inference through it.
    "CREATE INDEX receipts_other_kinds ON receipts (kind) WHERE kind <> 'inference'",
    # The dashboard's recent failures of a time range (core.0005).
    RECEIPTS_FAILURES_INDEX,
    # `ledger stats --since`'s late signals at the edge of its hours (core.0006).
    *RECEIPTS_SIGNAL_INDEXES,
)
"""The receipts indexes ``pg.0001`` builds (the former ``(model_id, task)`` index served
reads that rollups now answer); ``pg.0002`` replaces them (store/_pg_compact.py)."""
