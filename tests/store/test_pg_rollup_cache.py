"""The PostgreSQL writer merges batches into the rollup rows it remembers (XminCache).

A remembered row is used only while the row the server holds is the version this
writer's transaction wrote (its ``xmin``): another store's commit, a rebuild through any
connection and a failed transaction each make it read the row again. Every test compares
the rollups with the fold of the stored receipts.
"""

from __future__ import annotations

import collections
from typing import Any

import pytest

from outcomes.errors import StoreError
from outcomes.inference import from_rollups
from outcomes.records import Receipt
from outcomes.store import PostgresStore, _pg_rollup_reads, _pg_write, rebuild_rollups
from tests.conftest import POSTGRES_URL, make_postgres_store
from tests.store.test_rollups import receipts_of
from tests.store.test_sqlite_rollup_cache import STREAM, _batches, _check

pytestmark = pytest.mark.postgres


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> collections.Counter[str]:
    """How many touched rows were read whole and how many were remembered."""
    seen: collections.Counter[str] = collections.Counter()
    real = _pg_rollup_reads.RollupReads.collect

    def collect(self: Any) -> Any:
        current, known = real(self)
        seen["whole"] += sum(map(len, current.values()))
        seen["remembered"] += sum(map(len, known.values()))
        return current, known

    monkeypatch.setattr(_pg_rollup_reads.RollupReads, "collect", collect)
    return seen


def test_one_writer_merges_into_what_it_remembers(
    pg: PostgresStore, reads: collections.Counter[str]
) -> None:
    for batch in _batches(receipts_of(STREAM)):
        pg.write(batch)
    _check(pg)
    assert reads["remembered"] > 0
    assert reads["whole"] == 0  # each row was first written by this writer


def test_two_writers_on_one_schema_each_see_the_others_commits(
    pg: PostgresStore, reads: collections.Counter[str]
) -> None:
    other = PostgresStore(POSTGRES_URL, schema=pg.schema)
    try:
        for k, batch in enumerate(_batches(receipts_of(STREAM))):
            (pg if k % 3 else other).write(batch)
        _check(pg)
        assert reads["whole"] > 0
        assert reads["remembered"] > 0
    finally:
        other.close()


@pytest.mark.parametrize("through", ["same", "other"])
def test_a_rebuild_through_any_connection_is_seen(pg: PostgresStore, through: str) -> None:
    batches = _batches(receipts_of(STREAM))
    other = pg if through == "same" else PostgresStore(POSTGRES_URL, schema=pg.schema)
    try:
        for batch in batches[:4]:
            pg.write(batch)
        # Drop half of those receipts and rebuild: the rows come back smaller (and
        # new); a merge into the remembered rows would count the dropped ones again.
        written = sorted(r.timestamp for b in batches[:4] for r in b)
        other.delete(Receipt.__table__, where=[("timestamp", "<", written[len(written) // 2])])
        rebuild_rollups(other)
        kept = pg.count(Receipt.__table__)
        for batch in batches[4:]:
            pg.write(batch)
        _check(pg)
        assert from_rollups(pg).receipts == kept + sum(len(b) for b in batches[4:])
    finally:
        if other is not pg:
            other.close()


def test_a_failed_write_leaves_nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_postgres_store()
    batches = _batches(receipts_of(STREAM))
    real = _pg_write._merged

    def fails_after_merging(*args: Any) -> Any:
        real(*args)
        raise store._psycopg.errors.DataError("simulated")

    try:
        store.write(batches[0])
        monkeypatch.setattr(_pg_write, "_merged", fails_after_merging)
        with pytest.raises(StoreError, match="simulated"):
            store.write(batches[0][:2] + batches[1])  # merges into remembered rows
        monkeypatch.setattr(_pg_write, "_merged", real)
        for batch in batches[1:]:
            store.write(batch)
        _check(store)
        assert from_rollups(store).receipts == sum(len(b) for b in batches)
    finally:
        store.drop_schema()
        store.close()


@pytest.mark.parametrize("fails", ["lock", "upsert"])
def test_a_write_failing_in_either_pipeline_stores_nothing_and_the_next_commits(
    monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    # After the first write, a batch of receipts alone sends BEGIN with its first pipeline
    # and COMMIT with its last: a statement failing in either must roll back the whole
    # batch (receipts and rollups) and leave the connection ready for the next.
    store = make_postgres_store()
    batches = _batches(receipts_of(STREAM))
    real_lock, real_ema = store._lock_for_rollups, _pg_write._EMA_UPSERT

    def bad_lock(cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(1 / 0)")

    try:
        store.write(batches[0])
        if fails == "lock":
            monkeypatch.setattr(store, "_lock_for_rollups", bad_lock)
        else:  # after the COPY, in the pipeline that ends with COMMIT
            monkeypatch.setattr(_pg_write, "_EMA_UPSERT", "INSERT INTO no_such_table VALUES (1)")
        with pytest.raises(StoreError):
            store.write(batches[1])
        assert store.count(Receipt.__table__) == len(batches[0])
        assert from_rollups(store).receipts == len(batches[0])
        monkeypatch.setattr(store, "_lock_for_rollups", real_lock)
        monkeypatch.setattr(_pg_write, "_EMA_UPSERT", real_ema)
        for batch in batches[1:]:
            store.write(batch)
        _check(store)
        assert from_rollups(store).receipts == sum(len(b) for b in batches)
        assert store._writer().pgconn.transaction_status == 0  # nothing left open
    finally:
        store.drop_schema()
        store.close()


def test_a_cache_reset_for_its_age_keeps_the_rows_it_was_asked_about(pg: PostgresStore) -> None:
    # The cache is dropped whole once MAX_AGE transactions old, when the transaction id
    # is known, which is after the touched rows were asked for as remembered: dropping
    # it before taking them lost them (KeyError, the batch refused).
    batches = _batches(receipts_of(STREAM))
    pg.write(batches[0])
    cache = pg._rollup_cache
    assert cache is not None
    assert cache.rows["cells"]
    (xid,) = pg.fetch("SELECT txid_current()")[0]
    cache.version = int(xid) - _pg_rollup_reads.MAX_AGE - 1  # as if written long ago
    for batch in batches[1:]:
        pg.write(batch)
    _check(pg)
    assert pg._rollup_cache is cache
    assert cache.version > int(xid)  # reset once, at its age
