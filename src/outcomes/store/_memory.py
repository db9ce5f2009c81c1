"""The in-memory store: plain Python structures, for tests and short-lived processes."""

from __future__ import annotations

import operator
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from outcomes._table import Table
from outcomes.records import Receipt
from outcomes.store._aggregates import Aggregate, aggregates_of, registered_aggregates
from outcomes.store._base import (
    Condition,
    Migration,
    MigrationStatus,
    Scan,
    StoreBase,
    StoreKind,
    check_changes,
    check_finite,
    check_where,
)
from outcomes.store._query import Query, Row
from outcomes.store._rollups import (
    ROLLUP_CELLS,
    ROLLUP_DAILY,
    ROLLUP_EMA,
    ROLLUP_HOURLY,
    Delta,
    apply_rows,
)
from outcomes.store._schema import CORE_MIGRATIONS

R = TypeVar("R")

_RECEIPTS = Receipt.__table__
_KIND = _RECEIPTS.column_names.index("kind")

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _matches(row: Sequence[Any], index: Mapping[str, int], where: Sequence[Condition]) -> bool:
    for column, op, value in where:
        current = row[index[column]]
        if op == "is null":
            if current is not None:
                return False
        elif op == "is not null":
            if current is None:
                return False
        elif op == "in":
            if current not in value:
                return False
        elif current is None or value is None:
            # SQL semantics: comparisons with NULL are never true.
            return False
        elif not _COMPARE[op](current, value):
            return False
    return True


def _index(table: Table[Any]) -> dict[str, int]:
    """Column positions of a row with its seq appended (conditions may name ``seq``)."""
    index = {c.name: i for i, c in enumerate(table.columns)}
    index["seq"] = len(table.columns)
    return index


class _TableData:
    __slots__ = ("next_seq", "rows")

    def __init__(self) -> None:
        self.rows: dict[Any, tuple[int, tuple[Any, ...]]] = {}
        self.next_seq = 1


class MemoryStore(StoreBase):
    """A :class:`~outcomes.store.Store` that keeps rows in dictionaries.

    Records are kept as rows (the same conversion the SQL stores apply), so what comes
    back from a memory store is what would come back from a database. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, _TableData] = {}
        self._applied: dict[str, float] = {}
        self.migrate()

    @property
    def kind(self) -> StoreKind:
        return "memory"

    @property
    def url(self) -> str:
        return "memory://"

    def _data(self, table: Table[Any]) -> _TableData:
        data = self._tables.get(table.name)
        if data is None:
            data = self._tables[table.name] = _TableData()
        return data

    def write(self, records: Sequence[Any]) -> int:
        prepared: list[tuple[Table[Any], Any, tuple[Any, ...]]] = []
        for record in records:
            table: Table[Any] = type(record).__table__
            row = table.to_row(record)
            check_finite(table, row)
            prepared.append((table, table.key_of(record), row))
        inserted = 0
        with self._lock:
            fresh: list[tuple[Any, ...]] = []
            added: dict[str, tuple[Table[Any], list[tuple[Any, ...]]]] = {}
            for table, key, row in prepared:
                data = self._data(table)
                if key in data.rows:
                    continue
                data.rows[key] = (data.next_seq, row)
                data.next_seq += 1
                inserted += 1
                if table is _RECEIPTS:
                    fresh.append(row)
                else:
                    added.setdefault(table.name, (table, []))[1].append(row)
            if fresh:
                self._roll(Delta.of(fresh))
            for table, rows in added.values():
                for agg in aggregates_of(table):
                    self._fold_aggregate(agg, rows)
        return inserted

    def _fold_aggregate(
        self, agg: Aggregate, rows: Sequence[tuple[Any, ...]], sign: int = 1
    ) -> None:
        """Fold source ``rows`` into ``agg``'s target (``store/_aggregates.py``);
        ``sign=-1`` takes them back."""
        data = self._data(agg.table)
        groups = {agg.group_of(row) for row in rows}
        current = {k: data.rows[k][1] for k in groups if k in data.rows}
        for key in agg.merge_rows(current, rows, sign):
            old = data.rows.get(key)
            if old is None:
                data.rows[key] = (data.next_seq, current[key])
                data.next_seq += 1
            else:
                data.rows[key] = (old[0], current[key])

    def _rebuild_aggregates(self, table: Table[Any]) -> None:
        for agg in aggregates_of(table):
            self._tables.pop(agg.name, None)
            self._fold_aggregate(agg, [row for _, row in self._data(table).rows.values()])

    def rebuild_aggregates(self, source: Table[Any] | None = None) -> int:
        """Rebuild every registered aggregate (of ``source`` only, when given) from its
        source; returns how many."""
        with self._lock:
            aggs = [a for a in registered_aggregates() if source is None or a.source is source]
            for table in {a.source.name: a.source for a in aggs}.values():
                self._rebuild_aggregates(table)
            return len(aggs)

    def _roll(self, delta: Delta) -> None:
        """Keep the rollups as the SQL stores do (rows keyed by their primary key)."""
        views = []
        rollups = ((ROLLUP_HOURLY, delta.hours), (ROLLUP_DAILY, delta.days),
                   (ROLLUP_CELLS, delta.cells))  # fmt: skip
        for table, keys in rollups:
            rows = self._data(table).rows
            views.append({k: rows[k][1] for k in keys if k in rows})
        ema = self._data(ROLLUP_EMA).rows
        views.append({k: row for k, (_, row) in ema.items() if k[0] in delta.models})
        apply_rows(delta, *views)
        tables = (ROLLUP_HOURLY, ROLLUP_DAILY, ROLLUP_CELLS, ROLLUP_EMA)
        for table, view in zip(tables, views, strict=True):
            data = self._data(table)
            for key, row in view.items():
                old = data.rows.get(key)
                if old is None:
                    data.rows[key] = (data.next_seq, row)
                    data.next_seq += 1
                elif old[1] is not row:
                    data.rows[key] = (old[0], row)

    def rebuild_rollups(self) -> int:
        """Refold every stored receipt into the rollups; returns how many receipts."""
        with self._lock:
            for table in (ROLLUP_HOURLY, ROLLUP_DAILY, ROLLUP_CELLS, ROLLUP_EMA):
                self._tables.pop(table.name, None)
            rows = [row for _, row in self._data(_RECEIPTS).rows.values()]
            delta = Delta.of(rows)
            self._roll(delta)
            return sum(1 for r in rows if r[_KIND] == "inference")

    def _scan(self, table: Table[R], scan: Scan) -> Iterator[R]:
        where, order_by = scan.where, scan.order_by
        index = _index(table)
        low = -1 if scan.after_seq is None else int(scan.after_seq)
        with self._lock:
            items = [
                (seq, row)
                for seq, row in self._data(table).rows.values()
                if seq > low and _matches((*row, seq), index, where)
            ]
        if order_by is not None and order_by != "seq":
            col = index[order_by]
            # NULLs first ascending, like SQLite; ties broken by insertion order.
            items.sort(key=lambda it: (0, it[0]) if it[1][col] is None else (1, it[1][col], it[0]))
        else:
            items.sort(key=lambda it: it[0])
        if scan.descending:
            items.reverse()
        if scan.limit is not None:
            items = items[: max(scan.limit, 0)]
        return (table.from_row(row) for _, row in items)

    def count(self, table: Table[Any], *, where: Sequence[Condition] = ()) -> int:
        check_where(table, where)
        index = _index(table)
        with self._lock:
            return sum(
                1
                for seq, row in self._data(table).rows.values()
                if _matches((*row, seq), index, where)
            )

    def rows(self, table: Table[R]) -> Iterator[tuple[int, R]]:
        """(seq, record) of ``table`` in insertion order: what named queries read here."""
        with self._lock:
            # Keys are never re-inserted, so dict order is insertion (seq) order.
            items = list(self._data(table).rows.values())
        from_row = table.from_row
        return ((seq, from_row(row)) for seq, row in items)

    def query(self, query: Query, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.iter_query(query, params))

    def iter_query(self, query: Query, params: Sequence[Any] = ()) -> Iterator[Row]:
        return iter(query.memory(self, tuple(params)))

    def delete(self, table: Table[Any], *, where: Sequence[Condition] = ()) -> int:
        check_where(table, where)
        index = _index(table)
        with self._lock:
            data = self._data(table)
            doomed = [
                k for k, (seq, row) in data.rows.items() if _matches((*row, seq), index, where)
            ]
            for key in doomed:
                del data.rows[key]
            if doomed:
                self._rebuild_aggregates(table)  # as the SQL stores do (change_rows)
        return len(doomed)

    def update(self, table: Table[Any], key: Any, changes: Mapping[str, Any]) -> bool:
        check_changes(table, changes)
        with self._lock:
            data = self._data(table)
            found = data.rows.get(key)
            if found is None:
                return False
            seq, row = found
            # Round-trip through the record so JSON and bool columns are converted alike.
            record = table.from_row(row)
            values = {c.name: getattr(record, c.name) for c in table.columns}
            values.update(changes)
            new_row = table.to_row(table.record_type(**values))
            check_finite(table, new_row)
            data.rows[key] = (seq, new_row)
            for agg in aggregates_of(table):
                if agg.invertible:
                    self._fold_aggregate(agg, [row], -1)
                    self._fold_aggregate(agg, [new_row])
                else:
                    self._rebuild_aggregates(table)
        return True

    def migrate(self, migrations: Sequence[Migration] = ()) -> list[str]:
        # Memory tables need no DDL; the bookkeeping keeps `db status` truthful.
        done: list[str] = []
        with self._lock:
            for m in (*CORE_MIGRATIONS, *migrations):
                if m.name not in self._applied:
                    self._applied[m.name] = time.time()
                    done.append(m.name)
        return done

    def migration_status(self, known: Sequence[Migration] = ()) -> MigrationStatus:
        names = [m.name for m in (*CORE_MIGRATIONS, *known)]
        with self._lock:
            applied = tuple(sorted(self._applied.items(), key=lambda kv: kv[1]))
        return MigrationStatus(
            applied=applied,
            pending=tuple(n for n in names if n not in self._applied),
            unknown=tuple(n for n, _ in applied if n not in names),
        )

    def close(self) -> None:
        """Nothing to release; data stays readable (a memory store lives as long as it)."""
