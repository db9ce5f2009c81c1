"""A PostgreSQL store written at an older schema, then opened (and migrated) by the
current one: what the migration tests of the ``pg.*`` steps share."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from outcomes.store import PostgresStore
from outcomes.store._pg_compact import PG_MIGRATIONS
from tests.conftest import POSTGRES_URL, postgres_schema

T = TypeVar("T")


@contextmanager
def migrated(
    steps: int, written: Sequence[Any], before: Callable[[PostgresStore], T]
) -> Iterator[tuple[PostgresStore, T]]:
    """Write ``written`` to a store that knows only the first ``steps`` PostgreSQL
    migrations, keep what ``before`` reads from it, and yield the store reopened at
    the current schema with that; the schema is dropped after."""
    schema = postgres_schema()
    older = type("_Older", (PostgresStore,), {"ENGINE_MIGRATIONS": PG_MIGRATIONS[:steps]})
    old = older(POSTGRES_URL, schema=schema)
    try:
        assert old.write(list(written)) == len(written)
        kept = before(old)
    finally:
        old.close()
    new = PostgresStore(POSTGRES_URL, schema=schema)
    try:
        yield new, kept
    finally:
        new.drop_schema()
        new.close()
