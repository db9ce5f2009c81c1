"""pg.0004: each receipts partition has its own unique index on ``receipt_id`` instead
of the table's on ``(receipt_id, timestamp)`` (store/_pg_compact.py). Re-delivery stays
a no-op on both insert paths, the database itself refuses a repeated id in a month, new
months get their index, and a store of the previous schema is converted."""

from __future__ import annotations

import psycopg
import pytest

from outcomes._ids import new_id
from outcomes.records import Receipt
from outcomes.store import PostgresStore
from outcomes.testing import receipts
from tests.conftest import POSTGRES_URL
from tests.store._migrated import migrated

JAN, APR = 1_767_225_600.0, 1_775_001_600.0  # 2026-01-01, 2026-04-01 UTC
_UNIQUE = (
    "SELECT c.relname, i.indexrelid::regclass::text, "
    "pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
    "JOIN pg_class AS c ON c.oid = i.indrelid "
    "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
    "WHERE i.indisunique AND n.nspname = current_schema() AND c.relname LIKE 'receipts%%' "
    "ORDER BY 1"
)


def _receipt(receipt_id: str, ts: float) -> Receipt:
    return Receipt(receipt_id, receipt_id, "m", "code", ts, success=True)


def _keys(store: PostgresStore) -> dict[str, str]:
    return {table: definition for table, _, definition in store.fetch(_UNIQUE)}


def _partitions(store: PostgresStore) -> set[str]:
    rows = store.fetch(
        "SELECT c.relname FROM pg_inherits AS h JOIN pg_class AS c ON c.oid = h.inhrelid "
        "WHERE h.inhparent = 'receipts'::regclass"
    )
    return {r[0] for r in rows}


def _only_partition_keys(store: PostgresStore) -> None:
    keys = _keys(store)
    assert "receipts" not in keys  # no index on the table, one per partition
    assert set(keys) == _partitions(store)
    assert all(d.endswith("(receipt_id) WITH (fillfactor='100')") for d in keys.values()), keys


@pytest.mark.parametrize("size", [3, 300])  # executemany and COPY batches
def test_redelivery_is_a_no_op_and_months_get_their_key(pg: PostgresStore, size: int) -> None:
    batch = [_receipt(new_id(), JAN + i) for i in range(size)]
    assert pg.write(batch) == size
    assert pg.write(batch) == 0
    # The same ids at another time, in the same month and in a month created now.
    assert pg.write([_receipt(r.receipt_id, JAN + 3600 + i) for i, r in enumerate(batch)]) == 0
    assert pg.write([_receipt(r.receipt_id, APR + i) for i, r in enumerate(batch)]) == 0
    later = [_receipt(new_id(), APR + i) for i in range(size)]
    assert pg.write(later) == size
    assert pg.count(Receipt.__table__) == 2 * size
    assert "receipts_p202604" in _partitions(pg)
    _only_partition_keys(pg)


def test_the_database_refuses_a_repeated_id_in_a_month(pg: PostgresStore) -> None:
    own = new_id()
    pg.write([_receipt(own, JAN)])
    stored = pg.fetch("SELECT receipt_id FROM receipts")[0][0]
    with psycopg.connect(POSTGRES_URL) as conn:
        conn.execute(f"SET search_path TO {pg.fetch('SELECT current_schema()')[0][0]}")
        insert = (
            "INSERT INTO receipts (receipt_id, trace_id, model_id, task, timestamp) "
            "VALUES (%s, %s, 'm', 'code', %s)"
        )
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, [stored, stored, JAN + 60])
        conn.rollback()
        conn.execute(f"SET search_path TO {pg.fetch('SELECT current_schema()')[0][0]}")
        skipped = conn.execute(insert + " ON CONFLICT DO NOTHING", [stored, stored, JAN + 60])
        assert skipped.rowcount == 0


def test_pg_0004_converts_a_store_of_the_previous_schema() -> None:
    written = [_receipt(new_id(), JAN + i * 86_400.0) for i in range(70)]  # three months
    written.append(_receipt("req-42", JAN + 5))

    def before(old: PostgresStore) -> object:
        assert '(receipt_id, "timestamp")' in _keys(old)["receipts"]
        return old.fetch("SELECT seq FROM receipts ORDER BY seq")

    with migrated(3, written, before) as (new, seqs):
        assert "pg.0004_unique_ids_by_partition" in dict(new.migration_status().applied)
        _only_partition_keys(new)
        assert sorted(receipts(new), key=lambda r: r.receipt_id) == sorted(
            written, key=lambda r: r.receipt_id
        )
        assert new.fetch("SELECT seq FROM receipts ORDER BY seq") == seqs
        assert new.write(written) == 0
        assert new.write([_receipt(new_id(), APR)]) == 1
        _only_partition_keys(new)
