"""PostgreSQL: smaller receipt rows (migration ``pg.0002_compact_receipts``).

Measured at 1M receipts of the ids ``outcomes`` makes (docs/scaling.md, "Smaller rows on
PostgreSQL"), a receipt cost 380 bytes against 218 for a plain table of the same
columns: 156 of heap were ids as 36-character text, 151 were four row-level indexes.
This migration rebuilds ``receipts`` so that:

- ``receipt_id`` and ``trace_id`` are ``bytea``: 16 bytes for a canonical UUID, the
  UTF-8 text for any other id (store/_ids.py); ids still go in and come out as text;
- the columns are laid out by alignment (8-byte values first, then booleans, then the
  variable-length ones), so no row carries padding between columns;
- ``seq`` has a BRIN index instead of a B-tree: rows are appended in ``seq`` order, so
  each block range holds a narrow band of it; ``seq > ?`` (incremental folds) and
  ``seq`` ranges (the rollup rebuild) read only the blocks that can match;
- the trace index holds only the receipts whose ``trace_id`` differs from their
  ``receipt_id``: a call's first receipt takes its trace id as its receipt id, so the
  unique ``(receipt_id, timestamp)`` index already finds it; look-ups by trace are
  rendered as the two probes (:func:`trace_condition`);
- the B-trees fed in increasing key order (ids minted time-ordered, timestamps) are
  filled to 100%: receipts are never updated in place, so the 10% kept free for
  updates by default would stay empty.

The migration copies every row (in ``seq`` order, keeping ``seq``) into a new
partitioned table with the same partitions, drops the old one and builds the indexes
once, at the end, holding the rollup lock. Columns are read from the catalog, so a
column added by a later core migration is carried over too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from outcomes.store._base import Migration
from outcomes.store._ids import ID_COLUMNS, id_stored
from outcomes.store._partitions import ROLLUP_LOCK_KEY, partition_receipts, refill, unique_ids
from outcomes.store._schema import RECEIPTS_FAILURES_INDEX, RECEIPTS_SIGNAL_INDEXES

TRACE_INDEX_WHERE = "trace_id <> receipt_id"
"""The predicate of the partial trace index; :func:`trace_condition` repeats it."""

INDEXES: tuple[str, ...] = (
    # Idempotence (store/_partitions.py) and look-ups by id, and by trace for a call's
    # first receipt (its receipt id is its trace id).
    "CREATE UNIQUE INDEX receipts_id ON receipts (receipt_id, timestamp) WITH (fillfactor = 100)",
    # Insertion order (seq > ?, seq ranges): a block range summary, a few bytes per
    # 32 pages instead of 22 bytes per row.
    "CREATE INDEX receipts_seq ON receipts USING brin (seq) "
    "WITH (pages_per_range = 32, autosummarize = on)",
    # The other receipts of a trace: late signals' receipts, imported ids (a few %).
    f"CREATE INDEX receipts_trace ON receipts (trace_id) WHERE {TRACE_INDEX_WHERE}",
    # The dashboard's bounded walk of a range's newest receipts (ORDER BY timestamp
    # DESC ... LIMIT), retention's remainder and `keep`.
    "CREATE INDEX receipts_timestamp ON receipts (timestamp)",
    "CREATE INDEX receipts_other_kinds ON receipts (kind) WHERE kind <> 'inference'",
    RECEIPTS_FAILURES_INDEX,
    *RECEIPTS_SIGNAL_INDEXES,
)
"""The receipts indexes after ``pg.0002``, each serving a query (docs/scaling.md)."""


def is_compact(cur: Any) -> bool:
    """Whether ``receipts`` keeps its ids as ``bytea`` (``pg.0002`` applied)."""
    cur.execute(
        "SELECT atttypid = 'bytea'::regtype FROM pg_attribute "
        "WHERE attrelid = to_regclass('receipts') AND attname = 'receipt_id'"
    )
    row = cur.fetchone()
    return bool(row and row[0])


def trace_condition(op: str, marks: str) -> str:
    """SQL for ``trace_id <op> <marks>`` (``=`` with one placeholder, ``IN`` with a
    list) that the indexes serve: the receipts whose receipt id matches (a call's first
    receipt) and those in the partial trace index. Takes the parameters three times."""
    test = f"{op} {marks}"
    return f"((receipt_id {test} AND trace_id {test}) OR (trace_id {test} AND {TRACE_INDEX_WHERE}))"


_ORDER = (
    # typlen 8 first, then 4, 2, 1 (booleans), then variable length: no padding
    # between columns whatever is NULL. Ties keep the table's order.
    "CASE WHEN t.typlen > 0 THEN -t.typlen ELSE 1 END, a.attnum"
)


def _columns(cur: Any, table: str) -> list[tuple[str, str, bool, str | None, str]]:
    """(name, type, not null, default, identity) of ``table``'s columns, in the
    order the compact table lays them out."""
    cur.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), a.attidentity "
        "FROM pg_attribute AS a JOIN pg_type AS t ON t.oid = a.atttypid "
        "LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        f"ORDER BY {_ORDER}",
        [table],
    )
    return [(str(n), str(t), bool(nn), d, str(i)) for n, t, nn, d, i in cur.fetchall()]


def _definition(name: str, type_: str, not_null: bool, default: str | None, identity: str) -> str:
    if name in ID_COLUMNS:
        type_ = "bytea"
    out = f"{name} {type_}"
    if identity in ("a", "d"):
        out += f" GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY"
    elif default is not None:
        out += f" DEFAULT {default}"
    return out + (" NOT NULL" if not_null else "")


def _partitions(cur: Any, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits AS i "
        "JOIN pg_class AS c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        [table],
    )
    return [(str(n), str(b)) for n, b in cur.fetchall()]


def compact_receipts(cur: Any, sql: Callable[[str], str]) -> None:
    """Rebuild the partitioned ``receipts`` in the compact layout (module docstring),
    keeping every row and its ``seq``. Does nothing when it already is."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK_KEY])
    if is_compact(cur):
        return
    columns = _columns(cur, "receipts")
    parts = _partitions(cur, "receipts")
    cur.execute("ALTER TABLE receipts RENAME TO receipts_text")
    for name, _ in parts:
        cur.execute(f"ALTER TABLE {name} RENAME TO {name}_text")
    body = ", ".join(_definition(*c) for c in columns)
    cur.execute(f"CREATE TABLE receipts ({body}) PARTITION BY RANGE (timestamp)")
    for name, bound in parts:
        cur.execute(f"CREATE TABLE {name} PARTITION OF receipts {bound}")
    # In seq order (refill), so that each block holds a narrow band of seq (BRIN).
    refill(
        cur,
        "receipts_text",
        INDEXES,
        [(c[0], id_stored(c[0]) if c[0] in ID_COLUMNS else c[0]) for c in columns],
    )


TIMESTAMP_BRIN: tuple[str, ...] = (
    # pg.0003: the receipts' times by block ranges (a few bytes per 32 pages) instead of
    # a B-tree (21.4 bytes per receipt, a tenth of a row): receipts arrive about in time
    # order, so a range holds a narrow band of times and a time window reads only its
    # blocks. The walks of a range's newest receipts that wanted the B-tree's order
    # first find where those start (store/_newest.py), then read that window.
    "DROP INDEX IF EXISTS receipts_timestamp",
    "CREATE INDEX receipts_timestamp ON receipts USING brin (timestamp) "
    "WITH (pages_per_range = 32, autosummarize = on)",
)


def unique_ids_by_partition(cur: Any, sql: Callable[[str], str]) -> None:
    """``pg.0004``: each partition's own unique index on ``receipt_id`` instead of the
    table's on ``(receipt_id, timestamp)``.

    A unique index of a partitioned table must hold the partition key, so the table's
    kept an 8-byte timestamp beside each 17-byte id: 40 bytes an index tuple with its
    alignment, 36 without (44.9 against 36.7 bytes per receipt built at 1M, docs/scaling.md).
    One index per partition guards the same rows (a partition is a range of
    timestamps) and more strictly: an id is unique in its month, whatever its time. An
    id reused in another month is still the writer's look-up's to catch, as before.
    ``INSERT ... ON CONFLICT DO NOTHING`` (no conflict target) arbitrates on the
    partition's unique index; new months get theirs when created (``_partitions.py``).
    """
    cur.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK_KEY])
    for name, _ in _partitions(cur, "receipts"):
        cur.execute(unique_ids(name))
    cur.execute("DROP INDEX IF EXISTS receipts_id")


PG_MIGRATIONS: tuple[Migration, ...] = (
    Migration("pg.0001_receipts_partitioned", (), run=partition_receipts),
    Migration("pg.0002_compact_receipts", (), run=compact_receipts),
    Migration("pg.0003_timestamp_brin", TIMESTAMP_BRIN),
    Migration("pg.0004_unique_ids_by_partition", (), run=unique_ids_by_partition),
)
"""Migrations only the PostgreSQL store applies, after the core ones."""
