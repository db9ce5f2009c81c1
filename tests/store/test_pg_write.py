"""PostgreSQL's pipelined write path (store/_pg_write.py): COPY batches keep rollups exact."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from outcomes.records import Receipt
from outcomes.store import PostgresStore, _pg_write, id_text
from outcomes.store._pg_compact import PG_MIGRATIONS
from tests.conftest import POSTGRES_URL, postgres_schema
from tests.store.test_rollups import (
    check_rollups,
    receipts_of,
    reset,
    stream_settings,
    streams,
    write_in_batches,
)

pytestmark = pytest.mark.postgres

T0 = 1_780_000_000.0


@stream_settings
@given(stream=streams)
def test_copy_batches_keep_rollups_equal_to_the_fold_of_the_receipts(
    pg: PostgresStore, stream: Any
) -> None:
    # The stream property of test_rollups.py with every batch going by COPY (its batches
    # are smaller than COPY_MIN_ROWS), re-deliveries and superseding receipts included.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_pg_write, "COPY_MIN_ROWS", 1)
        reset(pg)
        receipts = receipts_of(stream)
        write_in_batches(pg, receipts, stream[2])
        if stream[3]:
            assert pg.write(receipts) == 0
        assert pg.write(receipts[:3] + receipts[-3:]) == 0  # all stored: nothing to COPY
    check_rollups(pg)


def _receipt(rid: str, ts: float) -> Receipt:
    return Receipt(rid, "t", "m", "code", ts, success=True, latency_ms=120.0)


# The store as it was before pg.0002: partitioned, ids as text (the look-up sends them
# joined by newlines; compact ids go as hex).
_TextIds = type("_TextIds", (PostgresStore,), {"ENGINE_MIGRATIONS": PG_MIGRATIONS[:1]})


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("size", [3, 200])  # executemany and COPY batches
def test_ids_holding_the_look_up_separator_are_found_stored(compact: bool, size: int) -> None:
    # An id that holds a newline must neither go unseen (stored twice) nor make the ids
    # it contains look stored, however the look-up sends the batch's ids.
    store = (PostgresStore if compact else _TextIds)(POSTGRES_URL, schema=postgres_schema())
    try:
        tricky = [_receipt(f"x{i}\ny{i}", T0 + i) for i in range(size)]
        assert store.write(tricky) == size
        parts = [_receipt(f"x{i}", T0 + i) for i in range(size)]
        parts += [_receipt(f"y{i}", T0 + i) for i in range(size)]
        moved = [_receipt(r.receipt_id, T0 + 86_400 * 40 + i) for i, r in enumerate(tricky)]
        assert store.write(parts + moved) == 2 * size
        assert store.count(Receipt.__table__) == 3 * size
        assert store.fetch("SELECT sum(receipts) FROM rollup_cells") == [(3 * size,)]
        assert ({r.receipt_id for r in store.scan(Receipt.__table__)} ==
                {r.receipt_id for r in tricky + parts})  # fmt: skip
    finally:
        store.drop_schema()
        store.close()


@pytest.mark.parametrize("size", [3, 200])
def test_ids_stored_before_1970_or_after_9999_are_found(pg: PostgresStore, size: int) -> None:
    # The open-ended partitions are probed only once they hold a row: ids stored there
    # and reused at a month's timestamp count once.
    reset(pg)
    ends = [_receipt(f"p{i}", -5.0 - i) for i in range(size)]
    ends += [_receipt(f"f{i}", 1e12 + i) for i in range(size)]
    assert pg.write(ends) == 2 * size
    again = [_receipt(r.receipt_id, T0 + i) for i, r in enumerate(ends)]
    assert pg.write(again + [_receipt(f"n{i}", T0 + i) for i in range(size)]) == size
    assert pg.count(Receipt.__table__) == 3 * size
    assert pg.fetch("SELECT sum(receipts) FROM rollup_cells") == [(3 * size,)]


def test_copy_as_text_when_a_column_has_another_type(pg: PostgresStore) -> None:
    # A binary COPY needs each column's type; without them (a column type psycopg
    # would not make from the stored value) the rows go as text, to the same effect.
    reset(pg)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pg, "_copy_types", ())
        assert pg.write([_receipt(f"t{i}", T0 + i) for i in range(100)]) == 100
    assert pg.write([_receipt(f"b{i}", T0 + i) for i in range(100)]) == 100
    receipt_id = id_text("receipt_id", "postgresql")  # stored as bytea (pg.0002)
    rows = pg.fetch(f"SELECT {receipt_id}, timestamp, success, latency_ms FROM receipts")
    assert sorted(rows) == sorted(
        [(f"t{i}", T0 + i, True, 120.0) for i in range(100)]
        + [(f"b{i}", T0 + i, True, 120.0) for i in range(100)]
    )
