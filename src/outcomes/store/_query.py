"""Named queries: the read side's vocabulary of aggregates, declared by the wings.

A wing that needs more than :meth:`Store.scan` and :meth:`Store.count` (a streamed fold, a
``GROUP BY``) declares a :class:`Query` in its ``_queries.py``: portable SQL text with
``?`` placeholders that SQLite and PostgreSQL run (with a per-dialect override where the
dialects differ), and a pure-Python implementation over the same records that the memory
store runs. Every store executes it through :meth:`Store.query` / :meth:`Store.iter_query`;
no wing holds a connection or tests which store it has. The conformance suite runs every
registered query on all three stores over the same data and asserts equal answers.

Parameters are positional. A parameter that is a list, tuple, set or frozenset expands
its ``?`` into one placeholder per element (``x IN (?)`` with ``["a", "b"]`` runs
``x IN (?, ?)``; an empty sequence becomes ``NULL``, which matches nothing). Values are
always bound, never formatted into the SQL text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from outcomes._table import Table

R = TypeVar("R")

Row = tuple[Any, ...]
"""One answer row: plain values (strings, numbers, None; booleans may read back as 0/1)."""


class MemoryTables(Protocol):
    """What a query's Python implementation reads: a table's records with their sequence."""

    def rows(self, table: Table[R]) -> Iterator[tuple[int, R]]:
        """(insertion sequence, record) pairs of ``table``, in insertion order (a snapshot)."""
        ...


MemoryImpl = Callable[[MemoryTables, Row], Iterable[Row]]
"""``memory(tables, params) -> rows``: the query answered in Python."""

_SEQUENCES = (list, tuple, set, frozenset)


@dataclass(frozen=True, slots=True)
class Query:
    """One named read query (see the module docstring).

    ``name`` is ``<wing>.<what>`` and unique. ``sql`` is the portable text; ``dialects``
    maps a store kind (``sqlite``, ``postgresql``) to text that replaces it there.
    ``memory`` answers the same question in Python over :class:`MemoryTables`. ``ordered``
    says whether the answer's order is part of the contract (an ``ORDER BY`` on a unique
    key); otherwise consumers and the conformance suite treat it as a multiset.
    """

    name: str
    sql: str
    memory: MemoryImpl
    dialects: Mapping[str, str] = field(default_factory=dict)
    ordered: bool = True
    ids: tuple[int, ...] = ()

    def sql_for(self, dialect: str) -> str:
        return self.dialects.get(dialect, self.sql)

    def render(self, dialect: str, params: Iterable[Any]) -> tuple[str, list[Any]]:
        """SQL text for ``dialect`` (``?`` placeholders) and flat parameters, with sequence
        parameters expanded."""
        values = list(params)
        if not any(isinstance(v, _SEQUENCES) for v in values):
            return self.sql_for(dialect), values
        parts = self.sql_for(dialect).split("?")
        if len(parts) - 1 != len(values):
            raise ValueError(
                f"query {self.name}: {len(parts) - 1} placeholders, {len(values)} parameters"
            )
        out = [parts[0]]
        flat: list[Any] = []
        for value, rest in zip(values, parts[1:], strict=True):
            if isinstance(value, _SEQUENCES):
                items = list(value)
                out.append(", ".join("?" for _ in items) if items else "NULL")
                flat.extend(items)
            else:
                out.append("?")
                flat.append(value)
            out.append(rest)
        return "".join(out), flat


_REGISTRY: dict[str, Query] = {}


def register_query(query: Query) -> Query:
    """Add ``query`` to the registry the conformance suite runs; returns it.

    Raises ``ValueError`` when another query already has its name.
    """
    existing = _REGISTRY.get(query.name)
    if existing is not None and existing is not query:
        raise ValueError(f"a query named {query.name!r} is already registered")
    _REGISTRY[query.name] = query
    return query


def registered_queries() -> list[Query]:
    """Every registered query, by name (wings register theirs when imported)."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]
