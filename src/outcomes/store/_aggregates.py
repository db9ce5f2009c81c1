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
- A delete of source rows (retention), or an update of one, takes their contribution
  back in the same transaction when the aggregate is *invertible* (below); an
  aggregate with a ``min``/``max`` is rebuilt from the source instead (exact without a
  per-row inverse; such tables are rarely changed).

Values are ``count``, ``sum``, ``min`` and ``max`` of source columns or of an
:class:`Expr` (SQL over the source's columns, with the same in Python for the memory
store), which merge exactly in any order and any split, so the target always equals a
``GROUP BY`` of the source (the conformance tests check it on every store). Group
columns and the columns of ``min``/``max`` must be ``NOT NULL`` in the source; a ``sum``
of nothing but ``NULL`` is 0. An aggregate of counts and sums only is *invertible*: an
update of one source row by key (a reward arriving later) takes the row's old
contribution back and adds its new one, and a delete takes the deleted rows' back and
drops the groups left with no row (counted by its first ``count``), instead of a rebuild
(sums then agree with a fresh ``GROUP BY`` up to float rounding).

The target table is created by the wing's migration (:meth:`Aggregate.ddl`, backfilled
by :meth:`Aggregate.backfill`); while a store lacks it (a database not migrated yet),
writes leave it to that backfill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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
class Expr:
    """A value computed from one source row: ``sql`` over the source's columns, and
    ``python``, the same from the row as a mapping of column name to value."""

    sql: str
    python: Callable[[Mapping[str, Any]], Any]
    type: ColumnType = "float"


Source = str | Expr


@dataclass(frozen=True, slots=True)
class Aggregate:
    """The table ``name``: per distinct ``group`` of ``source``'s columns, ``values``.

    ``values`` are ``(column, op, of)``; ``op`` is ``count`` (``of`` is ``""``), ``sum``,
    ``min`` or ``max`` of ``of``, a source column or an :class:`Expr`. Raises
    ``ValueError`` when a column is unknown.
    """

    name: str
    source: Table[Any]
    group: tuple[str, ...]
    values: tuple[tuple[str, Op, Source], ...]

    def __post_init__(self) -> None:
        for column in self.group:
            if not self.source.has_column(column):
                raise ValueError(f"{self.name}: {self.source.name} has no column {column!r}")
        for column, op, of in self.values:
            if op not in ("count", "sum", "min", "max"):
                raise ValueError(f"{self.name}.{column}: unknown op {op!r}")
            named = of if isinstance(of, str) else ""
            if (op == "count") != (of == "") or (named and not self.source.has_column(named)):
                raise ValueError(f"{self.name}.{column}: bad source column {of!r}")

    @property
    def invertible(self) -> bool:
        """Whether a row's contribution can be taken back (counts and sums only)."""
        return all(op in ("count", "sum") for _, op, _ in self.values)

    @property
    def _counter(self) -> int | None:
        """The position in a target row of its first ``count`` value, if any."""
        for k, (_, op, _) in enumerate(self.values):
            if op == "count":
                return len(self.group) + k
        return None

    def purge_sql(self) -> str | None:
        """Delete the groups whose rows were all taken back (their count is 0); ``None``
        without a ``count`` value (such groups then stay, with zero sums)."""
        at = self._counter
        return None if at is None else f"DELETE FROM {self.name} WHERE {self.column_names[at]} = 0"

    def is_empty(self, row: Sequence[Any]) -> bool:
        """Whether target ``row`` counts no source row any more (see :meth:`purge_sql`)."""
        at = self._counter
        return at is not None and row[at] == 0

    def _type(self, op: Op, of: Source) -> ColumnType:
        if op == "count":
            return "int"
        if isinstance(of, Expr):
            return of.type
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

    def _select(self, sign: int = 1, source: str = "") -> str:
        minus = "-" if sign < 0 else ""
        parts = list(self.group)
        for _, op, of in self.values:
            sql = of.sql if isinstance(of, Expr) else of
            if op == "count":
                parts.append(f"{minus}COUNT(*)")
            elif op == "sum":
                parts.append(f"{minus}COALESCE(SUM({sql}), 0)")
            else:
                parts.append(f"{op.upper()}({sql})")
        return f"SELECT {', '.join(parts)} FROM {source or self.source.name}"

    def rebuild_sql(self) -> tuple[str, str]:
        """Statements that empty the target and fill it again from the whole source."""
        group = ", ".join(self.group)
        return (
            f"DELETE FROM {self.name}",
            f"INSERT INTO {self.name} ({', '.join(self.column_names)}) "
            f"{self._select()} GROUP BY {group}",
        )

    def fold_sql(self, dialect: str, where: str | None = None, sign: int = 1) -> str:
        """Merge the source rows matching ``where`` into the target, one statement;
        ``sign=-1`` takes them back (invertible aggregates). Without ``where``: the rows
        a write added, params ``(seq before the insert, rows added)``."""
        scalar = _SCALAR[dialect]
        sets = []
        for column, op, _ in self.values:
            old, new = f"{self.name}.{column}", f"excluded.{column}"
            if op in ("count", "sum"):
                sets.append(f"{column} = {old} + {new}")
            else:
                sets.append(f"{column} = {scalar[op]}({old}, {new})")
        source = ""
        if where is None:
            # The added rows by the key's order with their count as the limit: both
            # planners then read that range of the key, never the whole table (without
            # statistics, SQLite would read a grouping column's index whole to save the
            # sort, PostgreSQL the table).
            source = (
                f"(SELECT * FROM {self.source.name} WHERE seq > ? ORDER BY seq LIMIT ?) AS added"
            )
            where = "1 = 1"
        group = ", ".join(self.group)
        return (
            f"INSERT INTO {self.name} ({', '.join(self.column_names)}) "
            f"{self._select(sign, source)} WHERE {where} GROUP BY {group} "
            f"ON CONFLICT ({group}) DO UPDATE SET {', '.join(sets)}"
        )

    def backfill(self, cur: Any, sql: Callable[[str], str]) -> None:
        """A :class:`Migration` ``run`` step: fill the new target from the stored source."""
        for statement in self.rebuild_sql():
            cur.execute(statement)

    def group_of(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """The group of a source row (source column order)."""
        names = self.source.column_names
        return tuple(row[names.index(g)] for g in self.group)

    def _value(self, op: Op, of: Source, row: Sequence[Any], sign: int) -> Any:
        if op == "count":
            return sign
        if isinstance(of, Expr):
            value = of.python(dict(zip(self.source.column_names, row, strict=True)))
        else:
            value = row[self.source.column_names.index(of)]
        if op == "sum":
            return 0 if value is None else sign * value
        return value

    def merge_rows(
        self,
        current: dict[tuple[Any, ...], tuple[Any, ...]],
        rows: Iterable[Sequence[Any]],
        sign: int = 1,
    ) -> set[tuple[Any, ...]]:
        """Fold source ``rows`` (source column order) into ``current`` (group -> target
        row), in Python (``sign=-1`` takes them back); returns the groups it changed."""
        width = len(self.group)
        changed = set()
        for row in rows:
            key = self.group_of(row)
            old = current.get(key)
            values: list[Any] = []
            for k, (_, op, of) in enumerate(self.values):
                value = self._value(op, of, row, sign)
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


Statement = tuple[str, Sequence[Any]]


def change_rows(
    cur: Any,
    sql: Callable[[str], str],
    dialect: str,
    aggs: Sequence[Aggregate],
    change: Statement,
    rows: Statement,
    update: bool,
) -> int:
    """Run ``change`` (a delete, or an update: ``update``) of the source rows ``rows``
    selects (a condition and its params) through ``cur``, keeping ``aggs``: the rows'
    contribution is taken back before (and added again after an update) when every
    aggregate is invertible, groups left empty dropped after a delete; otherwise the
    aggregates are rebuilt when anything changed. ``sql`` translates ``?`` placeholders.
    Returns the change's rowcount."""
    inverse = all(a.invertible for a in aggs)
    where, values = rows
    if inverse:
        for agg in aggs:
            cur.execute(sql(agg.fold_sql(dialect, where, -1)), list(values))
    cur.execute(sql(change[0]), list(change[1]))
    changed = int(cur.rowcount)
    for agg in aggs:
        purge = agg.purge_sql()
        if inverse and update:
            cur.execute(sql(agg.fold_sql(dialect, where)), list(values))
        elif inverse and purge is not None:
            cur.execute(purge)
        elif not inverse and changed > 0:
            for statement in agg.rebuild_sql():
                cur.execute(statement)
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
