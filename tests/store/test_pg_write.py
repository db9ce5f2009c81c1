"""PostgreSQL's pipelined write path (store/_pg_write.py): COPY batches keep rollups exact."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from outcomes._ids import derived_id
from outcomes.records import Receipt
from outcomes.store import PostgresStore, _pg_ids, _pg_write, id_text
from outcomes.store._ids import encode_ids_bytes
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


def _uuid7(ms: int, n: int) -> str:
    h = f"{ms:012x}7{n:03x}8{n:015x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def test_runs_split_time_ordered_ids_at_gaps_and_leave_the_rest_to_probe() -> None:
    gap = _pg_ids.RUN_GAP_MS
    t = 1_780_000_000_000
    ids = [_uuid7(t + 5, 1), "req-42", _uuid7(t, 2), _uuid7(t + 10 * gap, 3),
           _uuid7(t + 12 * gap, 4), _uuid7(t + 12 * gap + 1, 5), _uuid7(t + gap, 6)]  # fmt: skip
    stored = encode_ids_bytes(ids)
    runs, rest = _pg_ids.runs(stored)
    assert runs == [sorted([stored[2], stored[0], stored[6]]), [stored[4], stored[5]]]
    assert sorted(rest) == [1, 3]  # a text id, and an id with no neighbour in time
    one = encode_ids_bytes([_uuid7(t + k * gap, k) for k in range(3)])
    assert _pg_ids.runs(one) == ([one], [])  # gaps of exactly RUN_GAP_MS: one run


@pytest.mark.parametrize("stored", [30, 200])
def test_ids_reused_inside_a_run_are_found_however_full_the_range(
    pg: PostgresStore, stored: int
) -> None:
    # A run's key range holds other stored ids: a few are matched in Python; more than
    # RANGE_CAP per id send the run to the probe id by id. Either way a reused id (at
    # another timestamp, which the unique key cannot see) counts once, a new one once.
    reset(pg)
    t = 1_780_000_000_000
    old = [_receipt(_uuid7(t + 2 * k, k), T0 + k) for k in range(stored)]
    assert pg.write(old) == stored
    again = [_receipt(r.receipt_id, T0 + 86_400 * 40 + k) for k, r in enumerate(old[:3])]
    fresh = [_receipt(_uuid7(t + 20 * k + 1, 1000 + k), T0 + k) for k in range(20)]
    signals = [_receipt(derived_id("s", str(k)), T0 + k) for k in range(10)]
    batch = again + fresh + signals
    probed: list[int] = []
    send = _pg_ids.send_stored_ids
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            _pg_ids, "send_stored_ids", lambda c, ids: probed.append(len(ids)) or send(c, ids)
        )
        assert pg.write(batch) == 30
    # The signals' ids are probed one by one; the run's too when its range is too full.
    assert probed == ([10, 23] if stored > _pg_ids.RANGE_CAP * 23 else [10])
    assert pg.write(batch) == 0
    assert pg.count(Receipt.__table__) == stored + 30
    assert pg.fetch("SELECT sum(receipts) FROM rollup_cells") == [(stored + 30,)]


@pytest.mark.parametrize("size", [3, 200])  # executemany and COPY batches
def test_ids_that_are_not_uuids_are_scrubbed_before_they_are_stored_as_bytes(
    pg: PostgresStore, size: int
) -> None:
    # A UUID becomes its 16 bytes before the scrub (nothing to find in it); any other id
    # is still text then, and a secret in it never reaches the table.
    reset(pg)
    token = "ghp_" + "a1B2c3D4e5" * 4
    mine = [_uuid7(1_780_000_000_000 + k, k) for k in range(size)]
    batch = [_receipt(f"req-{k}-{token}", T0 + k) for k in range(size)]
    batch += [_receipt(rid, T0 + k) for k, rid in enumerate(mine)]
    assert pg.write(batch) == 2 * size
    receipt_id = id_text("receipt_id", "postgresql")
    stored = {r[0] for r in pg.fetch(f"SELECT {receipt_id} FROM receipts")}
    assert stored == {f"req-{k}-[REDACTED]" for k in range(size)} | set(mine)
    assert pg.fetch("SELECT count(*) FROM receipts WHERE octet_length(receipt_id) = 16") == [
        (size,)
    ]
