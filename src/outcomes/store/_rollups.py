"""Rollups: the profile fold of the inference receipts, kept by the store as it writes them.

Three tables, maintained by :meth:`Store.write` in the transaction that inserts the
receipts (so a reader sees receipts and rollups change together, and never scans
receipts):

- ``rollup_hourly``: one row per (model, task, project, hour) with the
  :class:`~outcomes.stats._profiles.OutcomeStats` of the receipts of that hour: counts,
  sums, forward-decayed sums (log domain, fixed epoch) and the latency sketch's buckets;
- ``rollup_daily``: the same per (model, task, project, UTC day), the sum of that day's
  hours (long time series and time-range leaderboards read a day as one row);
- ``rollup_cells``: the same per (model, task, project) over all time (what profiles read);
- ``rollup_ema``: the order-dependent ``ema_quality`` per model (task ``''``) and per
  (model, task), folded in the order the writer commits.

A receipt that supersedes another is booked in the hour of the receipt it replaces
(``superseded_at``), so an hour's success rate is that of the calls made in it. Only
receipts the insert actually added are folded (a re-delivered receipt counts once).
Decayed sums use :data:`ROLLUP_HALF_LIFE_S`; a reader with another half-life folds the
receipts instead. ``project_key`` is ``''`` for receipts without a project.

Why writer-maintained rather than triggers: the fold (log-domain decayed sums, the
sketch, supersession's take-back) exists once, in Python, and both engines and the
memory store run that same code; SQL triggers would repeat it twice in two dialects.
Rows are read, merged and written back inside the write transaction: SQLite's
``BEGIN IMMEDIATE`` serializes writers, PostgreSQL locks the rows (``FOR UPDATE``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from outcomes._table import Column, Table
from outcomes.records import Receipt
from outcomes.stats._profiles import OutcomeStats, ProfileState
from outcomes.store._rollup_fold import EmaArgs, fold_columns, hour_keys
from outcomes.store._rollup_rows import (
    CELL_KEY,
    EMA_KEY,
    HOURLY_KEY,
    ROLLUP_HALF_LIFE_S,
    STAT_COLUMNS,
    STAT_NAMES,
    stats_of,
    stats_values,
)

BUCKET_S = 3600
"""Rollup time bucket: one hour."""
DAY_S = 86_400
"""The coarse rollup bucket (``rollup_daily``): one UTC day, 24 hourly buckets."""
INFERENCE = "inference"
_FAR = float(2**52)


def since_hour(since: float) -> tuple[float, int]:
    """``since`` clamped to +-2**52 s, and the first rollup hour at or after it.

    A time beyond +-2**52 s (some 140 million years) is before or after every stored
    receipt; clamping keeps the hour an integer that SQLite and PostgreSQL can bind.
    The reads "since a time" take the whole hours from there and the edge receipts.
    """
    since = min(max(float(since), -_FAR), _FAR)
    return since, int(-(-since // BUCKET_S)) * BUCKET_S


_RECEIPT_COLUMNS = Receipt.__table__.column_names
_ID, _KIND = _RECEIPT_COLUMNS.index("receipt_id"), _RECEIPT_COLUMNS.index("kind")
_CHUNK = 200

DAILY_KEY = ("model_id", "task", "project_key", "day")


def _ddl_columns() -> str:
    out = []
    for name, kind in STAT_COLUMNS:
        if name.startswith(("dw", "ds", "df")):
            out.append(f"{name} {{real}}")
        elif kind == "text":
            out.append(f"{name} TEXT NOT NULL DEFAULT ''")
        else:
            out.append(f"{name} {{{'int' if kind == 'int' else 'real'}}} NOT NULL DEFAULT 0")
    return ",\n    ".join(out)


ROLLUP_DDL: tuple[str, ...] = (
    "CREATE TABLE rollup_hourly (model_id TEXT NOT NULL, task TEXT NOT NULL, "
    "project_key TEXT NOT NULL, hour {int} NOT NULL,\n    "
    + _ddl_columns()
    + ",\n    PRIMARY KEY (model_id, task, project_key, hour))",
    "CREATE INDEX rollup_hourly_hour ON rollup_hourly (hour)",
    "CREATE TABLE rollup_cells (model_id TEXT NOT NULL, task TEXT NOT NULL, "
    "project_key TEXT NOT NULL,\n    "
    + _ddl_columns()
    + ",\n    PRIMARY KEY (model_id, task, project_key))",
    "CREATE TABLE rollup_ema (model_id TEXT NOT NULL, task TEXT NOT NULL, "
    "value {real} NOT NULL, PRIMARY KEY (model_id, task))",
)
"""The rollup tables (``{int}``/``{real}`` expand per dialect, see ``Migration``)."""
DAILY_DDL: tuple[str, ...] = (
    "CREATE TABLE rollup_daily (model_id TEXT NOT NULL, task TEXT NOT NULL, "
    "project_key TEXT NOT NULL, day {int} NOT NULL,\n    "
    + _ddl_columns()
    + ",\n    PRIMARY KEY (model_id, task, project_key, day))",
    "CREATE INDEX rollup_daily_day ON rollup_daily (day)",
)
"""``rollup_daily`` (migration ``core.0004_rollup_daily``)."""


def _table(name: str, names: Sequence[str], types: Sequence[str]) -> Table[Any]:
    row_type = NamedTuple(  # type: ignore[misc]
        f"{name}_row", [(n, object) for n in names]
    )
    columns = tuple(Column(n, t) for n, t in zip(names, types, strict=True))  # type: ignore[arg-type]
    return Table(name=name, record_type=row_type, columns=columns, key=names[0])


_STAT_TYPES = tuple(t for _, t in STAT_COLUMNS)
ROLLUP_HOURLY = _table(
    "rollup_hourly", (*HOURLY_KEY, *STAT_NAMES), ("text", "text", "text", "int", *_STAT_TYPES)
)
ROLLUP_DAILY = _table(
    "rollup_daily", (*DAILY_KEY, *STAT_NAMES), ("text", "text", "text", "int", *_STAT_TYPES)
)
ROLLUP_CELLS = _table(
    "rollup_cells", (*CELL_KEY, *STAT_NAMES), ("text", "text", "text", *_STAT_TYPES)
)
ROLLUP_EMA = _table("rollup_ema", (*EMA_KEY, "value"), ("text", "text", "float"))
"""The rollup tables as :class:`Table` shapes (what the memory store keeps and named
queries' Python implementations read; rows are plain tuples in column order)."""


def days_of(
    hours: Iterable[tuple[tuple[str, str, str, int], tuple[OutcomeStats, int]]],
) -> dict[tuple[str, str, str, int], tuple[OutcomeStats, int]]:
    """Hourly (stats, receipts) merged per (model, task, project, UTC day start): every
    stat merges exactly (sums, maxima, log-add-exp, sketch counts), so a day's row is the
    fold of its receipts."""
    days: dict[tuple[str, str, str, int], tuple[OutcomeStats, int]] = {}
    for (m, t, p, hour), (st, n) in hours:
        key = (m, t, p, hour - hour % DAY_S)
        got = days.get(key)
        if got is None:
            got = (OutcomeStats(), 0)
        got[0].merge(st)
        days[key] = (got[0], got[1] + n)
    return days


def touched_keys(cols: Sequence[Sequence[Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """The keys of the rollup rows (``hours``, ``days``, ``cells``) that receipts given
    by columns fold into, sorted; a superset of a :class:`Delta` of some of them."""
    hours = hour_keys(cols, BUCKET_S)
    return {
        "hours": sorted(hours),
        "days": sorted({(m, t, p, h - h % DAY_S) for m, t, p, h in hours}),
        "cells": sorted({(m, t, p) for m, t, p, _ in hours}),
    }


class Delta:
    """What a batch of new receipt rows adds to the rollups (folded in Python)."""

    __slots__ = ("cells", "days", "ema", "hours", "models")

    def __init__(self) -> None:
        self.hours: dict[tuple[str, str, str, int], tuple[OutcomeStats, int]] = {}
        self.days: dict[tuple[str, str, str, int], tuple[OutcomeStats, int]] = {}
        self.cells: dict[tuple[str, str, str], tuple[OutcomeStats, int]] = {}
        self.ema: list[EmaArgs] = []
        self.models: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.hours)

    @classmethod
    def of(cls, rows: Iterable[Sequence[Any]]) -> Delta:
        """Fold receipt rows (``Receipt.__table__`` column order) of kind ``inference``."""
        return cls.of_columns(list(zip(*rows, strict=True)))

    @classmethod
    def of_columns(cls, cols: Sequence[Sequence[Any]]) -> Delta:
        """:meth:`of` for the same receipts given by columns (one sequence per column)."""
        delta = cls()
        delta.hours, delta.cells, delta.ema = fold_columns(cols, ROLLUP_HALF_LIFE_S, BUCKET_S)
        delta.days = days_of(delta.hours.items())
        delta.models = {k[0] for k in delta.cells}
        return delta

    def merged(
        self,
        current: Mapping[tuple[Any, ...], Sequence[Any]],
        which: str,
        known: Mapping[Any, tuple[OutcomeStats, int]] | None = None,
        out_stats: dict[Any, tuple[OutcomeStats, int]] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Rows (key then stat columns) of ``which`` (``hours``/``cells``) after adding
        this delta to what is stored: ``known`` (key -> decoded stats, a writer's cache:
        merged into in place, so its owner drops it when the transaction fails) or else
        ``current`` (key -> stat columns read back); ``which`` is ``hours``, ``days`` or
        ``cells``. The merged stats are also put in ``out_stats`` when given."""
        mine: dict[Any, tuple[OutcomeStats, int]] = getattr(self, which)
        known = known or {}
        out = []
        for key in sorted(mine):
            st, n = mine[key]
            cached = known.get(key)
            old = None if cached is not None else current.get(key)
            if cached is not None:
                base, m = cached
                base.merge(st)
                st, n = base, n + m
            elif old is not None:
                base, m = stats_of(old)
                base.merge(st)
                st, n = base, n + m
            if out_stats is not None:
                out_stats[key] = (st, n)
            out.append((*key, *stats_values(st, n)))
        return out

    def ema_rows(self, current: Mapping[tuple[str, str], float]) -> list[tuple[str, str, float]]:
        """``rollup_ema`` rows after folding this batch's receipts, in order, onto
        ``current`` ((model, task or '') -> value)."""
        state = ProfileState(half_life=ROLLUP_HALF_LIFE_S)
        for (m, t), v in current.items():
            if t:
                state.task_ema[(m, t)] = v
            else:
                state.ema[m] = v
        for args in self.ema:
            state.fold_ema(*args)
        rows = [(m, "", v) for m, v in state.ema.items()]
        rows += [(m, t, v) for (m, t), v in state.task_ema.items()]
        return sorted(rows)


def unique_rows(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
    """The first row of each receipt id, in order (a batch may repeat a receipt)."""
    ids = [row[_ID] for row in rows]
    if len(set(ids)) == len(ids):
        return list(rows)
    seen: set[str] = set()
    first = []
    for rid, row in zip(ids, rows, strict=True):
        if rid not in seen:
            seen.add(rid)
            first.append(row)
    return first


def new_receipt_rows(
    rows: Sequence[Sequence[Any]], known: Callable[[list[str]], set[str]]
) -> list[Sequence[Any]]:
    """The rows an ``INSERT ... DO NOTHING`` adds: first of each id, minus ``known`` ids
    (``known(ids)`` returns those already stored)."""
    first = unique_rows(rows)
    ids = [r[_ID] for r in first if r[_KIND] == INFERENCE]
    stored: set[str] = set()
    for i in range(0, len(ids), _CHUNK * 4):
        stored |= known(ids[i : i + _CHUNK * 4])
    return [r for r in first if r[_ID] not in stored]


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def upsert_sql(table: Table[Any], key: Sequence[str]) -> str:
    """``INSERT`` of one row (``?`` placeholders) that replaces the stored row of its key."""
    cols = table.column_names
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in key)
    return (
        f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
    )


def select_keys_sql(table: Table[Any], key: Sequence[str], n: int) -> str:
    """``SELECT`` of the rows of ``n`` keys (``?`` placeholders, key values in order)."""
    one = "(" + ", ".join("?" for _ in key) + ")"
    return (
        f"SELECT {', '.join(table.column_names)} FROM {table.name} "
        f"WHERE ({', '.join(key)}) IN (VALUES {', '.join(one for _ in range(n))})"
    )


UPSERTS: dict[str, tuple[Table[Any], tuple[str, ...]]] = {
    "hours": (ROLLUP_HOURLY, HOURLY_KEY),
    "days": (ROLLUP_DAILY, DAILY_KEY),
    "cells": (ROLLUP_CELLS, CELL_KEY),
}


def _current(
    cur: Any, sql: Callable[[str], str], table: Table[Any], key: Sequence[str], keys: list[Any]
) -> dict[tuple[Any, ...], Sequence[Any]]:
    out: dict[tuple[Any, ...], Sequence[Any]] = {}
    width = len(key)
    for part in chunks(keys):
        cur.execute(sql(select_keys_sql(table, key, len(part))), [v for k in part for v in k])
        add_rows(out, cur.fetchall(), width)
    return out


def add_rows(out: dict[tuple[Any, ...], Sequence[Any]], rows: Iterable[Any], width: int) -> None:
    """Put rollup ``rows`` in ``out`` as key (the first ``width`` columns) -> the rest."""
    for row in rows:
        out[tuple(row[:width])] = row[width:]


class RollupCache:
    """The rollup rows one writer connection last committed, decoded: with it a batch
    merges into the rows it already knows instead of reading and decoding them back.

    Only valid while no other connection has written the database since (the SQLite
    store checks ``PRAGMA data_version``, which changes exactly then) and no other
    statement of this connection touched the rollups (the store drops the cache after
    any transaction that is not a write of records). A write merges into the rows it
    knows in place, so the store drops the cache when a transaction fails; ``pending``
    holds the rows it read or wrote anew, which :meth:`commit` makes current once the
    transaction commits.
    """

    __slots__ = ("ema", "ema_models", "pending", "pending_ema", "rows", "version")

    def __init__(self, version: int) -> None:
        self.version = version
        self.rows: dict[str, dict[Any, tuple[OutcomeStats, int]]] = {w: {} for w in UPSERTS}
        self.ema: dict[tuple[str, str], float] = {}
        self.ema_models: set[str] = set()
        self.pending: dict[str, dict[Any, tuple[OutcomeStats, int]]] = {w: {} for w in UPSERTS}
        self.pending_ema: dict[tuple[str, str], float] = {}

    def commit(self, models: Iterable[str]) -> None:
        for which, rows in self.pending.items():
            self.rows[which].update(rows)
            rows.clear()
        self.ema.update(self.pending_ema)
        self.pending_ema.clear()
        self.ema_models.update(models)


def apply_sql(
    cur: Any,
    sql: Callable[[str], str],
    delta: Delta,
    upserts: Mapping[str, tuple[Table[Any], Sequence[str]]] = UPSERTS,
    cache: RollupCache | None = None,
) -> None:
    """Add ``delta`` to the rollup tables through ``cur`` (inside the write transaction,
    with writers serialized); ``sql`` translates ``?`` placeholders for the driver.
    With ``cache``, rows it knows are not read back, and what is written is left in
    ``cache.pending``."""
    if not delta:
        return
    for which, (table, key) in upserts.items():
        known = cache.rows[which] if cache is not None else {}
        missing = [k for k in sorted(getattr(delta, which)) if k not in known]
        current = _current(cur, sql, table, key, missing) if missing else {}
        out_stats = cache.pending[which] if cache is not None else None
        cur.executemany(sql(upsert_sql(table, key)), delta.merged(current, which, known, out_stats))
    ema: dict[tuple[str, str], float] = {}
    models = sorted(delta.models)
    if cache is not None and cache.ema_models.issuperset(models):
        ema = {k: v for k, v in cache.ema.items() if k[0] in delta.models}
        models = []
    for part in chunks(models):
        cur.execute(
            sql(f"SELECT model_id, task, value FROM rollup_ema WHERE model_id IN "
                f"({', '.join('?' for _ in part)})"),
            list(part),
        )  # fmt: skip
        for m, t, v in cur.fetchall():
            ema[(m, t)] = float(v)
    rows = delta.ema_rows(ema)
    cur.executemany(sql(upsert_sql(ROLLUP_EMA, EMA_KEY)), rows)
    if cache is not None:
        cache.pending_ema.update(((m, t), v) for m, t, v in rows)


def rebuild_sql(cur: Any, sql: Callable[[str], str], batch: int = 50_000) -> int:
    """Empty the rollup tables and fold every stored receipt into them again, in
    insertion order, through ``cur`` (one transaction). Returns how many receipts."""
    return _refold(cur, sql, batch, UPSERTS)


def backfill_hourly(cur: Any, sql: Callable[[str], str]) -> int:
    """``core.0002``'s backfill: the tables that migration creates (``rollup_daily``
    comes with ``core.0004``, which fills it from these hours)."""
    return _refold(cur, sql, 50_000, {k: v for k, v in UPSERTS.items() if k != "days"})


def backfill_daily(cur: Any, sql: Callable[[str], str]) -> None:
    """``core.0004``'s backfill: ``rollup_daily`` as the sum of the stored hours (a few
    rows per cell and hour, whatever the number of receipts)."""
    cur.execute(f"DELETE FROM {ROLLUP_DAILY.name}")
    cur.execute(f"SELECT {', '.join(ROLLUP_HOURLY.column_names)} FROM {ROLLUP_HOURLY.name}")
    hours = [(tuple(r[:4]), stats_of(r[4:])) for r in cur.fetchall()]
    days = days_of(hours)
    rows = [(*key, *stats_values(st, n)) for key, (st, n) in sorted(days.items())]
    cur.executemany(sql(upsert_sql(ROLLUP_DAILY, DAILY_KEY)), rows)


def _refold(
    cur: Any,
    sql: Callable[[str], str],
    batch: int,
    upserts: Mapping[str, tuple[Table[Any], Sequence[str]]],
) -> int:
    for table, _ in upserts.values():
        cur.execute(f"DELETE FROM {table.name}")
    cur.execute(f"DELETE FROM {ROLLUP_EMA.name}")
    # The backfill of core.0002 runs before core.0003 adds ttft_ms, which the fold does
    # not read: select the receipt columns up to it (still in the table's column order).
    cols = ", ".join(c for c in _RECEIPT_COLUMNS if c != "ttft_ms")
    # Windows of ``batch`` seq values rather than ``seq > ? ORDER BY seq LIMIT ?``:
    # PostgreSQL indexes seq by block ranges (BRIN, store/_pg_compact.py), which cannot
    # stop after LIMIT rows, so every page would read all later rows; a window reads
    # only its own blocks. (min and max apart: SQLite answers each from the rowid.)
    cur.execute("SELECT min(seq) FROM receipts")
    low = cur.fetchone()[0]
    cur.execute("SELECT max(seq) FROM receipts")
    top = cur.fetchone()[0]
    if low is None or top is None:
        return 0
    last, total = int(low) - 1, 0
    while last < top:
        cur.execute(
            sql(
                f"SELECT seq, {cols} FROM receipts "
                "WHERE kind = ? AND seq > ? AND seq <= ? ORDER BY seq"
            ),
            [INFERENCE, last, last + batch],
        )
        rows = cur.fetchall()
        last += batch
        if rows:
            total += len(rows)
            apply_sql(cur, sql, Delta.of([r[1:] for r in rows]), upserts)
    return total


def apply_rows(
    delta: Delta,
    hourly: dict[tuple[Any, ...], tuple[Any, ...]],
    daily: dict[tuple[Any, ...], tuple[Any, ...]],
    cells: dict[tuple[Any, ...], tuple[Any, ...]],
    ema: dict[tuple[Any, ...], tuple[Any, ...]],
) -> None:
    """Add ``delta`` to rollups kept as dictionaries (key -> full row): the memory store."""
    if not delta:
        return
    for which, rows, width in (("hours", hourly, 4), ("days", daily, 4), ("cells", cells, 3)):
        current = {k: v[width:] for k, v in rows.items() if k in getattr(delta, which)}
        for row in delta.merged(current, which):
            rows[tuple(row[:width])] = row
    values = {k: float(v[2]) for k, v in ema.items() if k[0] in delta.models}
    for row in delta.ema_rows(values):
        ema[(row[0], row[1])] = row
