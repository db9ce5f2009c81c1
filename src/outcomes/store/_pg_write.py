"""PostgreSQL's write path for receipts: two pipelined round trips around one ``COPY``.

A batch of receipt rows is written in three steps, in one transaction: the store's open
one, or, when none is open (receipts alone, the usual batch), one that ``BEGIN`` opens at
the head of step 1 and ``COMMIT`` closes at the tail of step 3:

1. **One pipeline before.** The rollup lock, the month partitions the batch needs, the
   look-up of the batch's ids that are already stored (by key ranges, ``_pg_ids.py``),
   the stored ``ema_quality`` of its models and the rollup rows its receipts may touch
   (the keys from one cheap pass over the columns, :func:`touched_keys`) are sent at
   once.
2. **The new rows**, by ``COPY`` straight into ``receipts``; while the server takes
   them, Python folds them and merges the rollup rows read in step 1 (a handful of rows
   go by ``executemany`` with step 3 instead).
3. **One pipeline after**: the merged rollup rows and the new ``rollup_ema`` rows.

So a batch costs the server's work and three waits (the first pipeline, the ``COPY``,
the second pipeline), whatever the number of rollup tables; five with a ``transaction()``
block's own ``BEGIN`` and ``COMMIT``, and the old path waited on each of a dozen
statements in turn.

Why Python still merges the rollup rows rather than the server (``INSERT ... ON
CONFLICT DO UPDATE SET calls = t.calls + excluded.calls, ...``, tried): every stat
column merges by arithmetic PostgreSQL has, but the latency sketch is ``index:count``
text, and adding two of them in SQL (split, group, sum, re-join) cost the server 2.9 ms
per batch of 1000 receipts (24 rows, EXPLAIN ANALYZE) against 0.7 ms for the plain
upserts, more than reading the rows and merging them in Python (and a writer reads
back only the rows another transaction wrote since its own, ``_pg_rollup_reads.py``).
The merge needs the previous writer's commit: the rollup lock is held from step 1 to
the commit, as it is for the stored-id look-up (ids reused at another ``timestamp``,
which the partitioned unique key cannot see, ``_partitions.py``) and the
order-dependent EMA.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import compress, repeat
from operator import eq
from typing import Any

from outcomes.records import Receipt
from outcomes.stats._profiles import OutcomeStats
from outcomes.store._base import check_finite_columns
from outcomes.store._ids import ID_COLUMNS, encode_ids, ids_as_bytes
from outcomes.store._pg_ids import StoredIds
from outcomes.store._pg_rollup_reads import RollupReads, XminCache
from outcomes.store._rollup_rows import EMA_KEY
from outcomes.store._rollups import (
    INFERENCE,
    ROLLUP_EMA,
    UPSERTS,
    Delta,
    touched_keys,
    upsert_sql,
)

RECEIPTS = Receipt.__table__
_IDLE = 0  # libpq's PQTRANS_IDLE: no transaction open
_COLUMNS = RECEIPTS.column_names
_ID, _TS = _COLUMNS.index("receipt_id"), _COLUMNS.index("timestamp")
_IDS = {_COLUMNS.index(c) for c in ID_COLUMNS}
_MODEL, _KIND = _COLUMNS.index("model_id"), _COLUMNS.index("kind")
_COPY = f"COPY receipts ({', '.join(_COLUMNS)}) FROM STDIN"
_INSERT = (
    f"INSERT INTO receipts ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('%s' for _ in _COLUMNS)}) "
    # No conflict target: from pg.0004 the unique indexes are the partitions' own
    # (receipt_id), which no target on the table names; before it, (receipt_id, timestamp).
    "ON CONFLICT DO NOTHING"
)
COPY_MIN_ROWS = 64
"""Batches of at least this many new receipts are written by ``COPY``; fewer go by
``executemany`` in the pipeline that follows (no round trip of their own)."""

UNPARTITIONED_STORED_IDS = (  # before pg.0001: one table, one probe per id
    "SELECT i.id FROM unnest(%s::text[]) AS i(id) CROSS JOIN LATERAL "
    "(SELECT 1 FROM receipts AS r WHERE r.receipt_id = i.id LIMIT 1) AS found"
)
_EMA_OF = "SELECT model_id, task, value FROM rollup_ema WHERE model_id = ANY(%s::text[])"
_EMA_UPSERT = upsert_sql(ROLLUP_EMA, EMA_KEY).replace("?", "%s")
_UPSERT = {which: upsert_sql(t, k).replace("?", "%s") for which, (t, k) in UPSERTS.items()}


_BINARY = frozenset({"text", "bigint", "double precision", "boolean", "bytea"})
_COLUMN_TYPES = (
    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
    "WHERE attrelid = 'receipts'::regclass AND attnum > 0 AND NOT attisdropped"
)


def copy_types(cur: Any) -> tuple[str, ...] | None:
    """The types of the ``receipts`` columns in ``Receipt.__table__`` order, for a
    binary ``COPY``; None when one is not a type whose binary form psycopg makes from
    the Python value the store holds (then the ``COPY`` goes as text)."""
    cur.execute(_COLUMN_TYPES)
    types = dict(cur.fetchall())
    out = tuple(str(types.get(c, "")) for c in _COLUMNS)
    return out if _BINARY.issuperset(out) else None


def prepare(records: list[Receipt], compact: bool = False) -> list[Sequence[Any]]:
    """Receipts as :func:`write_receipts` takes them: by column (``Receipt.__table__``
    order, one list per column, scrubbed as :meth:`Table.to_row` does), checked finite,
    the first receipt of each id only. Built before the write transaction: by columns,
    the scrub, the check and the fold are C-level passes over a column. ``compact``:
    ids as ``bytea`` stores them (pg.0002); a UUID becomes its bytes before the scrub,
    which then looks at the other ids only (as the SQLite store does)."""
    if not compact:
        cols = RECEIPTS.to_columns(records)
    else:
        cols = RECEIPTS.to_columns(records, dict.fromkeys(_IDS, encode_ids))
        for i in _IDS:
            try:
                cols[i] = ids_as_bytes(cols[i], check=True)
            except ValueError as exc:
                raise ValueError(f"receipts.{_COLUMNS[i]}: {exc}") from None
    check_finite_columns(RECEIPTS, cols)
    ids = cols[_ID]
    if len(set(ids)) != len(ids):
        first = dict.fromkeys(ids)
        keep = [first.pop(rid, True) is None for rid in ids]  # None once per id: the first
        cols = [list(compress(c, keep)) for c in cols]
    return cols


def write_receipts(
    cur: Any,
    cols: Sequence[Sequence[Any]],
    lock: Callable[[Any], None],
    ensure_partitions: Callable[[Any, Sequence[float]], None],
    types: tuple[str, ...] | None,
    cache: XminCache | None = None,
) -> int:
    """Insert receipts given by :func:`prepare` into the partitioned ``receipts`` and
    fold the new ones into the rollups, in ``cur``'s open transaction or, when none is
    open, in one this opens and commits (steps in the module docstring); returns how
    many were new. ``lock(cur)`` takes the rollup lock,
    ``ensure_partitions(cur, timestamps)`` creates missing months (both only send their
    statements); ``types`` are :func:`copy_types`. ``cache``:
    the rollup rows this connection wrote (``_pg_rollup_reads.py``); its owner calls
    :meth:`XminCache.committed` after the commit and drops it when the transaction
    fails (the rows it knows are merged into in place)."""
    conn = cur.connection
    own = conn.pgconn.transaction_status == _IDLE  # no transaction open: BEGIN, COMMIT here
    cache = XminCache() if cache is None else cache
    inference = compress(cols[_MODEL], map(eq, cols[_KIND], repeat(INFERENCE)))
    models = sorted(set(inference))
    with conn.pipeline(), conn.cursor() as stored_ema:
        if own:
            cur.execute("BEGIN")
        lock(cur)
        ensure_partitions(cur, cols[_TS])
        found = StoredIds(conn, cols[_ID])
        stored_ema.execute(_EMA_OF, [models])
        reads = RollupReads(conn, touched_keys(cols), cache)
        stored = found.collect()
        ema = {(str(m), str(t)): float(v) for m, t, v in stored_ema.fetchall()}
        current, known = reads.collect()
    if stored:  # the keys read are a superset of those the new receipts touch
        keep = [i not in stored for i in range(len(cols[_ID]))]
        cols = [list(compress(c, keep)) for c in cols]
    fresh = len(cols[_ID])
    if fresh >= COPY_MIN_ROWS:
        # Every block of rows goes to the server as soon as it is formatted, so that the
        # server takes them while Python folds the batch and merges the rollup rows
        # (psycopg's default may keep up to 1 MB back until the COPY ends; a writer
        # thread cost more). Binary: formatting the rows as text cost twice the CPU.
        binary = " (FORMAT BINARY)" if types else ""
        with cur.copy(_COPY + binary, writer=_copy_writer(cur)) as copy:
            if types:
                copy.set_types(types)
            for row in zip(*cols, strict=True):
                copy.write_row(row)
            merged = _merged(Delta.of_columns(cols), current, known, ema, cache)
    else:
        merged = _merged(Delta.of_columns(cols), current, known, ema, cache)
    with conn.pipeline():
        if 0 < fresh < COPY_MIN_ROWS:
            cur.executemany(_INSERT, zip(*cols, strict=True))
        for sql, upserts in merged:
            cur.executemany(sql, upserts)
        if own:
            cur.execute("COMMIT")
    return fresh


def _copy_writer(cur: Any) -> Any:
    from psycopg.copy import LibpqWriter

    try:
        return LibpqWriter(cur, flush_threshold=0)
    except TypeError:  # a psycopg without the parameter: its default writer
        return LibpqWriter(cur)


def _merged(
    delta: Delta,
    current: dict[str, dict[tuple[Any, ...], Any]],
    known: dict[str, dict[Any, tuple[OutcomeStats, int]]],
    ema: dict[tuple[str, str], float],
    cache: XminCache,
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """(upsert, rows) of every rollup table: ``delta`` added to the rows read back
    (``current``) or remembered (``known``, merged in place); the merged rows wait in
    ``cache.pending`` for the commit."""
    if not delta:
        return []
    out = [
        (sql, delta.merged(current[which], which, known[which], cache.pending[which]))
        for which, sql in _UPSERT.items()
    ]
    out.append((_EMA_UPSERT, delta.ema_rows(ema)))
    return out
