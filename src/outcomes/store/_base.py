"""The storage interface every backend implements, and the shapes it speaks."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol, TypeVar, runtime_checkable

from outcomes._table import Table
from outcomes.store._query import Query, Row

R = TypeVar("R")

Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "is null", "is not null"]
Condition = tuple[str, Op, Any]
"""A filter ``(column, operator, value)``; a ``where`` sequence is ANDed.
For ``in`` the value is a sequence; for ``is null``/``is not null`` it is ignored."""

OPS: frozenset[str] = frozenset({"=", "!=", "<", "<=", ">", ">=", "in", "is null", "is not null"})

StoreKind = Literal["memory", "sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One named, ordered schema step.

    ``statements`` are SQL templates; ``{pk}``, ``{int}``, ``{real}``, ``{bool}`` and
    ``{json}`` expand to the dialect's auto-increment primary key, 64-bit integer, double,
    boolean and JSON-text types. Each migration runs in one transaction together with the
    row that records it. Names are ``<namespace>.<NNNN>_<what>`` and never change once
    released. ``run`` (optional) is a data step run after the statements in the same
    transaction, given the cursor and the function that translates ``?`` placeholders
    for the driver (a backfill of a derived table, for instance); the memory store, which
    starts empty, skips it.
    """

    name: str
    statements: tuple[str, ...]
    run: Callable[[Any, Callable[[str], str]], object] | None = None

    def render(self, types: Mapping[str, str]) -> list[str]:
        return [s.format_map(types) for s in self.statements]


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """What ``outcomes db status`` reports."""

    applied: tuple[tuple[str, float], ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def schema_version(self) -> str | None:
        return self.applied[-1][0] if self.applied else None


class WriteSide(Protocol):
    """Typed records in: batches, updates by key, deletes by condition."""

    def write(self, records: Sequence[Any]) -> int:
        """Insert records (of any mix of stored types) in one transaction.

        A record whose key already exists is skipped, which makes delivery idempotent.
        Returns how many records were new. Raises :class:`~outcomes.errors.StoreError`.
        """
        ...

    def update(self, table: Table[Any], key: Any, changes: Mapping[str, Any]) -> bool:
        """Set columns of the record with ``key``; returns whether it existed."""
        ...

    def delete(self, table: Table[Any], *, where: Sequence[Condition] = ()) -> int:
        """Delete matching records; returns how many. An empty ``where`` deletes all."""
        ...


class ReadSide(Protocol):
    """Records and answers out: cursored scans, counts and named queries."""

    def scan(
        self,
        table: Table[R],
        *,
        where: Sequence[Condition] = (),
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        after_seq: int | None = None,
    ) -> Iterator[R]:
        """Stream matching records, by ``order_by`` (default: insertion order).

        ``after_seq`` keeps only records inserted after that insertion sequence (the
        ``seq`` a named query can return), so a reader can follow a table.
        """
        ...

    def count(self, table: Table[Any], *, where: Sequence[Condition] = ()) -> int:
        """Count matching records."""
        ...

    def query(self, query: Query, params: Sequence[Any] = ()) -> list[Row]:
        """Run a named query (see :class:`~outcomes.store.Query`); all rows at once."""
        ...

    def iter_query(self, query: Query, params: Sequence[Any] = ()) -> Iterator[Row]:
        """Run a named query, streaming its rows with bounded memory."""
        ...


class AdminSide(Protocol):
    """The store itself: where it is, its schema, its health, retention, its connections."""

    @property
    def kind(self) -> StoreKind:
        """``memory``, ``sqlite`` or ``postgresql``."""
        ...

    @property
    def url(self) -> str:
        """Where the store is, with any password hidden."""
        ...

    def migrate(self, migrations: Sequence[Migration] = ()) -> list[str]:
        """Apply the core migrations and ``migrations`` not yet applied; returns their names."""
        ...

    def migration_status(self, known: Sequence[Migration] = ()) -> MigrationStatus:
        """Applied, pending and unknown migrations (``known`` adds to the core list)."""
        ...

    def verify(self) -> list[str]:
        """Problems the storage engine finds in itself (SQLite's ``integrity_check``);
        empty when healthy. Record-level checks belong to the wings (``ledger verify``)."""
        ...

    def prune(self, table: Table[Any], *, column: str, before: float) -> int:
        """Retention: delete the records whose ``column`` (a time) is below ``before``;
        returns how many. The one place old data leaves a table in bulk."""
        ...

    def close(self) -> None:
        """Release connections. Idempotent."""
        ...


@runtime_checkable
class Store(WriteSide, ReadSide, AdminSide, Protocol):
    """A place where records live. Three implementations: memory, SQLite, PostgreSQL.

    Three small sides: :class:`WriteSide` (typed batches), :class:`ReadSide` (cursored
    scans, counts, named queries) and :class:`AdminSide` (schema, health, retention).
    Every operation is generic over a :class:`~outcomes._table.Table`; SQL lives in the
    stores and in the wings' named queries, never in a wing's code path. The
    conformance suite in ``tests/store`` runs each behaviour against every implementation.
    """


class Scan(NamedTuple):
    """A checked :meth:`ReadSide.scan` request, as a backend answers it."""

    where: Sequence[Condition]
    order_by: str | None
    descending: bool
    limit: int | None
    after_seq: int | None


class StoreBase:
    """What the memory and SQL stores do alike around their own storage: argument checks
    of every read and change, retention by ``delete``, and the default health check."""

    def scan(
        self,
        table: Table[R],
        *,
        where: Sequence[Condition] = (),
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        after_seq: int | None = None,
    ) -> Iterator[R]:
        check_where(table, where)
        check_column(table, order_by)
        return self._scan(table, Scan(where, order_by, descending, limit, after_seq))

    def _scan(self, table: Table[R], scan: Scan) -> Iterator[R]:
        raise NotImplementedError

    def delete(self, table: Table[Any], *, where: Sequence[Condition] = ()) -> int:
        raise NotImplementedError

    def prune(self, table: Table[Any], *, column: str, before: float) -> int:
        check_column(table, column)
        check_cutoff(before)
        return self.delete(table, where=[(column, "<", before)])

    def verify(self) -> list[str]:
        return []


def check_where(table: Table[Any], where: Sequence[Condition]) -> None:
    """Raise ``ValueError`` unless every condition names a column and a known operator."""
    for cond in where:
        if len(cond) != 3:
            raise ValueError(f"condition must be (column, op, value), got {cond!r}")
        column, op, value = cond
        if column != "seq" and not table.has_column(column):
            raise ValueError(f"table {table.name} has no column {column!r}")
        if op not in OPS:
            raise ValueError(f"unknown operator {op!r}; use one of {sorted(OPS)}")
        if op == "in" and isinstance(value, str | bytes):
            raise ValueError("'in' needs a sequence of values, not a string")


def check_column(table: Table[Any], column: str | None) -> None:
    if column is not None and column != "seq" and not table.has_column(column):
        raise ValueError(f"table {table.name} has no column {column!r}")


def check_cutoff(before: float) -> None:
    """Raise ``ValueError`` for a retention cutoff that is not a time (NaN): no row is
    older than it, yet PostgreSQL's month test (``end > before``, false) dropped every
    month partition."""
    if math.isnan(before):
        raise ValueError(f"prune: before must be a time (Unix seconds), got {before!r}")


def check_finite(table: Table[Any], row: Sequence[Any]) -> None:
    """Reject NaN and infinities in float columns before they reach a database."""
    bad = table.first_non_finite(row)
    if bad is not None:
        value = row[table.column_names.index(bad)]
        raise ValueError(f"{table.name}.{bad} must be finite, got {value!r}")


def check_finite_columns(table: Table[Any], cols: Sequence[Sequence[Any]]) -> None:
    """:func:`check_finite` of every row of a batch given by columns: one sum per float
    column (NaN and infinities survive a sum; a sum that overflows is checked again row
    by row, which raises only for a value that is not finite)."""
    for i, column in enumerate(table.columns):
        if column.type != "float":
            continue
        try:
            finite = math.isfinite(sum(filter(None, cols[i])))
        except TypeError:
            finite = False
        if not finite:
            for row in zip(*cols, strict=True):
                check_finite(table, row)
            return


def check_changes(table: Table[Any], changes: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless ``changes`` name columns of ``table`` other than its key."""
    for name in changes:
        if not table.has_column(name):
            raise ValueError(f"table {table.name} has no column {name!r}")
        if name == table.key:
            raise ValueError(f"cannot change the key column {name!r}")
