"""``Receipt.ttft_ms``: migration core.0003 adds the column to databases made before it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from outcomes.records import Receipt
from outcomes.store import PostgresStore, SQLiteStore
from outcomes.store._sql import SqlStore
from outcomes.testing import receipts
from tests.conftest import POSTGRES_URL, make_postgres_store


def _receipt(n: int, ttft_ms: float | None = None) -> Receipt:
    return Receipt(
        receipt_id=f"r{n}", trace_id=f"t{n}", model_id="m", task="code",
        timestamp=1_700_000_000.0 + n, success=True, latency_ms=80.0, output_tokens=3,
        ttft_ms=ttft_ms,
    )  # fmt: skip


def _sqlite(tmp_path: Path) -> tuple[SqlStore, Callable[[], SqlStore]]:
    path = tmp_path / "old.db"
    return SQLiteStore(path), lambda: SQLiteStore(path)


def _postgres(tmp_path: Path) -> tuple[SqlStore, Callable[[], SqlStore]]:
    store = make_postgres_store()
    return store, lambda: PostgresStore(POSTGRES_URL, schema=store.schema)


@pytest.mark.parametrize("opener", [_sqlite, _postgres], ids=["sqlite", "postgresql"])
def test_an_old_database_gains_the_column_and_its_rows_read_back_with_none(
    tmp_path: Path, opener: Callable[[Path], tuple[SqlStore, Callable[[], SqlStore]]]
) -> None:
    store, reopen = opener(tmp_path)
    store.write([_receipt(1, ttft_ms=5.0), _receipt(2)])
    # Make it look like a database written before core.0003 existed.
    store.execute("ALTER TABLE receipts DROP COLUMN ttft_ms")
    store.execute("DELETE FROM outcomes_migrations WHERE name = 'core.0003_receipts_ttft'")
    store.close()
    reopened = reopen()
    try:
        assert "core.0003_receipts_ttft" in dict(reopened.migration_status().applied)
        old = receipts(reopened)
        assert [(r.receipt_id, r.ttft_ms, r.latency_ms) for r in old] == [
            ("r1", None, 80.0),
            ("r2", None, 80.0),
        ]
        reopened.write([_receipt(3, ttft_ms=12.5)])
        assert [r.ttft_ms for r in receipts(reopened)] == [None, None, 12.5]
    finally:
        if isinstance(reopened, PostgresStore):
            reopened.drop_schema()
        reopened.close()
