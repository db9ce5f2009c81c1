"""Aggregates: tables a store keeps from the rows written to another, in the same transaction.

A wing whose reads would otherwise group a whole table (the components report, per
component and outcome) declares an :class:`Aggregate` of that table next to its schema
and registers it (:func:`register_aggregate`). Every store then maintains it, with no
import of the wing:

- :meth:`Store.write` folds the rows the write *added* into the target table, in the
  transaction that inserts them (a re-delivered row, skipped by the insert, is not
  counted twice). The SQL stores take the rows above the table's insertion sequence
  before the insert, with writers of the table serialized (SQLite's ``BEGIN IMMEDIATE``,
  a PostgreSQL advisory lock per table), and merge them with one ``INSERT ... SELECT ...
  GROUP BY ... ON CONFLICT DO UPDATE``; the memory store folds them in Python.
- A delete or an update of the source table (retention) rebuilds the target from the
  source in the same transaction: rare, and then exact without a per-row inverse.

Values are ``count``, ``sum``, ``min`` and ``max`` of source columns, which merge exactly
in any order and any split, so the target always equals a ``GROUP BY`` of the source
(the conformance tests check it on every store). Group columns and the columns of
``min``/``max`` must be ``NOT NULL`` in the source. The target table is created by the
wing's migration (:meth:`Aggregate.ddl`, backfilled by :meth:`Aggregate.backfill`);
while a store lacks it (a database not migrated yet), writes leave it to that backfill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from outcomes._table import Column, ColumnType, Table

Op = Literal["count", "sum", "min", "max"]
_SQL_TYPES = {"text": "TEXT", "int": "{int}", "float": "{real}", "bool": "{bool}", "json": "TEXT"}
_SCALAR = {
    "sqlite": {"min": "min", "max": "max"},
    "postgresql": {"min": "LEAST", "max": "GREATEST"},
}


@dataclass(frozen=True, slots=True)
class Aggregate:
    """The table ``name``: per distinct ``group`` of ``source``'s columns, ``values``.

    ``values`` are ``(column, op, source column)``; ``op`` is ``count`` (source column
    ``""``), ``sum``, ``min`` or ``max``. Raises ``ValueError`` when a column is unknown.
    """

    name: str
    source: Table[Any]
    group: tuple[str, ...]
    values: tuple[tuple[str, Op, str], ...]

    def __post_init__(self) -> None:
        for column in self.group:
            if not self.source.has_column(column):
                raise ValueError(f"{self.name}: {self.source.name} has no column {column!r}")
        for column, op, of in self.values:
            if op not in ("count", "sum", "min", "max"):
                raise ValueError(f"{self.name}.{column}: unknown op {op!r}")
            if (op == "count") != (of == "") or (of and not self.source.has_column(of)):
                raise ValueError(f"{self.name}.{column}: bad source column {of!r}")

    def _type(self, op: Op, of: str) -> ColumnType:
        if op == "count":
            return "int"
        return next(c.type for c in self.source.columns if c.name == of)

    @property
    def column_names(self) -> tuple[str, ...]:
        return (*self.group, *(v[0] for v in self.values))

    @property
    def table(self) -> Table[Any]:
        """The target as a :class:`Table` (rows are named tuples in column order)."""
        table = _TABLES.get(self.name)
        if table is None or table.column_names != self.column_names:
            table = _TABLES[self.name] = self._make_table()
        return table

    def _make_table(self) -> Table[Any]:
        names = self.column_names
        types = [next(c.type for c in self.source.columns if c.name == g) for g in self.group]
        types += [self._type(op, of) for _, op, of in self.values]
        row_type = NamedTuple(  # type: ignore[misc]
            f"{self.name}_row", [(n, object) for n in names]
        )
        columns = tuple(Column(n, t) for n, t in zip(names, types, strict=True))
        return Table(name=self.name, record_type=row_type, columns=columns, key=names[0])

    def ddl(self) -> tuple[str, ...]:
        """The ``CREATE TABLE`` of the target (a :class:`Migration` template)."""
        cols = [f"{c.name} {_SQL_TYPES[c.type]} NOT NULL" for c in self.table.columns]
        return (
            f"CREATE TABLE {self.name} ({', '.join(cols)}, PRIMARY KEY ({', '.join(self.group)}))",
        )

    def _select(self) -> str:
        parts = list(self.group)
        for _, op, of in self.values:
            parts.append("COUNT(*)" if op == "count" else f"{op.upper()}({of})")
        return f"SELECT {', '.join(parts)} FROM {self.source.name}"

    def rebuild_sql(self) -> tuple[str, str]:
        """Statements that empty the target and fill it again from the whole source."""
        group = ", ".join(self.group)
        return (
            f"DELETE FROM {self.name}",
            f"INSERT INTO {self.name} ({', '.join(self.column_names)}) "
            f"{self._select()} GROUP BY {group}",
        )

    def fold_sql(self, dialect: str) -> str:
        """Merge the source rows with ``seq > ?`` into the target (one statement)."""
        scalar = _SCALAR[dialect]
        sets = []
        for column, op, _ in self.values:
            old, new = f"{self.name}.{column}", f"excluded.{column}"
            if op in ("count", "sum"):
                sets.append(f"{column} = {old} + {new}")
            else:
                sets.append(f"{column} = {scalar[op]}({old}, {new})")
        group = ", ".join(self.group)
        return (
            f"INSERT INTO {self.name} ({', '.join(self.column_names)}) {self._select()} "
            f"WHERE seq > ? GROUP BY {group} ON CONFLICT ({group}) DO UPDATE SET {', '.join(sets)}"
        )

    def backfill(self, cur: Any, sql: Callable[[str], str]) -> None:
        """A :class:`Migration` ``run`` step: fill the new target from the stored source."""
        for statement in self.rebuild_sql():
            cur.execute(statement)

    def group_of(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """The group of a source row (source column order)."""
        names = self.source.column_names
        return tuple(row[names.index(g)] for g in self.group)

    def merge_rows(
        self,
        current: dict[tuple[Any, ...], tuple[Any, ...]],
        rows: Iterable[Sequence[Any]],
    ) -> set[tuple[Any, ...]]:
        """Fold source ``rows`` (source column order) into ``current`` (group -> target
        row), in Python; returns the groups it changed."""
        names = self.source.column_names
        keys = [names.index(g) for g in self.group]
        sources = [names.index(of) if of else -1 for _, _, of in self.values]
        ops = [op for _, op, _ in self.values]
        width = len(self.group)
        changed = set()
        for row in rows:
            key = tuple(row[i] for i in keys)
            old = current.get(key)
            values: list[Any] = []
            for k, (op, i) in enumerate(zip(ops, sources, strict=True)):
                value = 1 if op == "count" else row[i]
                if old is not None:
                    was = old[width + k]
                    if op in ("count", "sum"):
                        value = was + value
                    elif op == "min":
                        value = min(was, value)
                    else:
                        value = max(was, value)
                values.append(value)
            current[key] = (*key, *values)
            changed.add(key)
        return changed


_AGGREGATES: dict[str, list[Aggregate]] = {}
_TABLES: dict[str, Table[Any]] = {}


def register_aggregate(aggregate: Aggregate) -> Aggregate:
    """Have every store maintain ``aggregate`` (see the module docstring); returns it.

    Raises ``ValueError`` when another aggregate already has its name.
    """
    for existing in _AGGREGATES.values():
        for other in existing:
            if other.name == aggregate.name and other != aggregate:
                raise ValueError(f"an aggregate named {aggregate.name!r} is already registered")
    mine = _AGGREGATES.setdefault(aggregate.source.name, [])
    if aggregate not in mine:
        mine.append(aggregate)
    return aggregate


def aggregates_of(table: Table[Any]) -> list[Aggregate]:
    """The registered aggregates whose source is ``table``."""
    return _AGGREGATES.get(table.name, [])


def registered_aggregates() -> list[Aggregate]:
    """Every registered aggregate, by name."""
    return sorted((a for aggs in _AGGREGATES.values() for a in aggs), key=lambda a: a.name)
