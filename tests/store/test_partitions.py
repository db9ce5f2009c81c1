"""PostgreSQL: receipts partitioned by month, retention by dropping partitions, the
migration from the unpartitioned table, idempotence keyed by (receipt_id, timestamp),
and several processes (each with its own OUTCOMES_HOME) writing across months."""

from __future__ import annotations

import os
from typing import Any, ClassVar

import pytest

from outcomes.records import Receipt
from outcomes.store import PostgresStore, id_text
from outcomes.store._base import Migration
from outcomes.store._partitions import month_bounds, month_of
from tests.conftest import POSTGRES_URL, postgres_schema

pytestmark = pytest.mark.postgres

JAN, FEB, MAR = (month_bounds(2026, m)[0] for m in (1, 2, 3))
DAY = 86_400.0


def _receipt(rid: str, ts: float, **kw: Any) -> Receipt:
    return Receipt(rid, f"t-{rid}", "m", "code", ts, success=True, **kw)


def _partitions(store: PostgresStore) -> list[str]:
    rows = store.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'receipts'::regclass ORDER BY c.relname"
    )
    return [str(r[0]) for r in rows]


def _rollup_receipts(store: PostgresStore) -> int:
    return int(store.fetch("SELECT coalesce(sum(receipts), 0) FROM rollup_cells")[0][0])


def test_month_of_and_bounds_are_utc_calendar_months() -> None:
    assert month_of(JAN) == (2026, 1)
    assert month_of(FEB - 0.001) == (2026, 1)
    assert month_of(FEB) == (2026, 2)
    assert month_bounds(2025, 12) == (month_bounds(2025, 12)[0], JAN)
    assert month_of(-1.0) is None
    assert month_of(1e12) is None  # past year 10000: the open-ended partition


def test_writer_creates_the_months_it_needs(pg: PostgresStore) -> None:
    batch = [_receipt(f"a{i}", JAN + i * 20 * DAY) for i in range(5)]  # Jan .. Apr
    batch += [_receipt("old", -5.0), _receipt("far", 1e12)]
    assert pg.write(batch) == 7
    names = _partitions(pg)
    assert {"receipts_p202601", "receipts_p202602", "receipts_p202603"} <= set(names)
    assert {"receipts_past", "receipts_future"} <= set(names)
    assert pg.count(Receipt.__table__) == 7
    # Big batches (COPY) land in the right months as well.
    many = [_receipt(f"b{i}", FEB + i * 600.0) for i in range(500)]
    assert pg.write(many) == 500
    feb = pg.fetch("SELECT count(*) FROM receipts_p202602")[0][0]
    assert feb == 500 + sum(1 for r in batch if month_of(r.timestamp) == (2026, 2))


@pytest.mark.parametrize("size", [3, 300])  # executemany and COPY batches
def test_a_reused_receipt_id_counts_once_whatever_its_timestamp(
    pg: PostgresStore, size: int
) -> None:
    # The unique key (receipt_id, timestamp) cannot see an id stored at another time
    # (a re-processed signal derives the same id later): the writer's look-up does.
    first = [_receipt(f"r{i}", JAN + i) for i in range(size)]
    assert pg.write(first) == size
    moved = [_receipt(f"r{i}", FEB + i) for i in range(size)]  # same ids, next month
    fresh = [_receipt(f"n{i}", FEB + i) for i in range(size)]
    assert pg.write(moved + fresh + first[:2]) == size
    assert pg.count(Receipt.__table__) == 2 * size
    assert _rollup_receipts(pg) == 2 * size
    stored = {r.receipt_id: r.timestamp for r in pg.scan(Receipt.__table__)}
    assert stored["r0"] == JAN  # the first delivery is the one kept


def test_retention_drops_whole_months_and_deletes_the_rest(pg: PostgresStore) -> None:
    from outcomes.ledger._maintenance import prune

    jan = [_receipt(f"j{i}", JAN + i * DAY) for i in range(10)]
    feb = [_receipt(f"f{i}", FEB + i * DAY) for i in range(10)]
    mar = [_receipt(f"m{i}", MAR + i * DAY) for i in range(10)]
    assert pg.write(jan + feb + mar) == 30
    cutoff = FEB + 4.5 * DAY
    assert pg.prune(Receipt.__table__, column="timestamp", before=cutoff) == 15
    assert "receipts_p202601" not in _partitions(pg)
    assert "receipts_p202602" in _partitions(pg)
    left = sorted(r.receipt_id for r in pg.scan(Receipt.__table__))
    assert left == sorted([f"f{i}" for i in range(5, 10)] + [r.receipt_id for r in mar])
    # A late receipt for a dropped month brings its partition back.
    assert pg.write([_receipt("late", JAN + 3.0)]) == 1
    assert "receipts_p202601" in _partitions(pg)
    # The ledger's prune goes the same way (keep the 5 newest).
    assert prune(pg, keep=5) == 16 - 5
    assert pg.count(Receipt.__table__) == 5


def test_another_process_dropping_a_month_is_noticed(pg: PostgresStore) -> None:
    assert pg.write([_receipt("a", JAN + 1.0)]) == 1
    other = PostgresStore(POSTGRES_URL, schema=pg.schema)
    try:
        assert other.prune(Receipt.__table__, column="timestamp", before=FEB) == 1
    finally:
        other.close()
    assert "receipts_p202601" not in _partitions(pg)
    # ``pg`` still believes January exists: the insert fails, it looks again, retries.
    assert pg.write([_receipt("b", JAN + 2.0)]) == 1
    assert [r.receipt_id for r in pg.scan(Receipt.__table__)] == ["b"]


def test_partitions_can_be_created_ahead_of_time(pg: PostgresStore) -> None:
    assert pg.create_partitions(JAN, MAR + DAY) == 3
    assert {"receipts_p202601", "receipts_p202602", "receipts_p202603"} <= set(_partitions(pg))
    assert pg.create_partitions(JAN, FEB) == 1  # idempotent


_ID_TEXT = id_text("receipt_id", "postgresql")  # pg.0002 keeps ids as bytea


class _Unpartitioned(PostgresStore):
    """The store as it was before ``pg.0001``: the core schema only."""

    ENGINE_MIGRATIONS: ClassVar[tuple[Migration, ...]] = ()


def test_migration_converts_an_existing_database_without_losing_a_receipt() -> None:
    schema = postgres_schema()
    old = _Unpartitioned(POSTGRES_URL, schema=schema)
    try:
        assert old.fetch("SELECT relkind FROM pg_class WHERE oid = 'receipts'::regclass") == [
            ("r",)
        ]
        calls = [_receipt(f"c{i}", JAN + i * 3 * DAY, project_id="p") for i in range(30)]
        signal = _receipt(
            "s0", JAN + DAY, supersedes="c0", superseded_success=True, superseded_at=JAN,
            source="signal",
        )  # fmt: skip
        other = Receipt("x0", "tx", "m", "code", FEB, kind="component")
        assert old.write([*calls, signal, other]) == 32
        before = old.fetch("SELECT seq, receipt_id, timestamp FROM receipts ORDER BY seq")
        rollups = old.fetch("SELECT * FROM rollup_cells ORDER BY model_id, task, project_key")
    finally:
        old.close()
    new = PostgresStore(POSTGRES_URL, schema=schema)
    try:
        assert new.fetch("SELECT relkind FROM pg_class WHERE oid = 'receipts'::regclass") == [
            ("p",)
        ]
        after = new.fetch(f"SELECT seq, {_ID_TEXT}, timestamp FROM receipts ORDER BY seq")
        assert after == before
        assert new.fetch("SELECT * FROM rollup_cells ORDER BY model_id, task, project_key") == (
            rollups
        )
        assert {"receipts_p202601", "receipts_p202602", "receipts_p202603"} <= set(_partitions(new))
        # Identity continues after the copied rows; re-delivered receipts count 0.
        assert new.write([*calls[:3], _receipt("d0", MAR)]) == 1
        seqs = new.fetch(f"SELECT seq FROM receipts WHERE {_ID_TEXT} = 'd0'")
        assert seqs[0][0] > max(s for s, _, _ in before)
        assert "pg.0001_receipts_partitioned" in dict(new.migration_status().applied)
    finally:
        new.drop_schema()
        new.close()


def _read_rollups(args: tuple[str, str, str]) -> tuple[int, Any]:
    """Read the profiles from the rollups in a process of its own (own OUTCOMES_HOME)."""
    url, schema, home = args
    os.environ["OUTCOMES_HOME"] = home
    from outcomes.inference import from_rollups

    store = PostgresStore(url, schema=schema)
    try:
        state = from_rollups(store)
        return state.receipts, state.summary()
    finally:
        store.close()


def _write_with_home(args: tuple[str, str | None, int, str]) -> int:
    from tests.store.test_rollups import _write_from_another_process

    url, schema, seed, home = args
    os.environ["OUTCOMES_HOME"] = home
    return _write_from_another_process((url, schema, seed))


@pytest.mark.slow
def test_processes_with_their_own_homes_write_across_months_and_read_the_same(
    pg: PostgresStore, tmp_path: Any
) -> None:
    import multiprocessing

    from outcomes.inference import from_rollups, rebuild
    from tests.store.test_rollups import assert_same_state

    schema = pg.schema
    assert schema is not None
    homes = [str(tmp_path / f"home{k}") for k in range(3)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        written = pool.map(
            _write_with_home, [(POSTGRES_URL, schema, s, homes[s - 1]) for s in (1, 2, 3)]
        )
    assert sum(written) == 3 * (300 + 60 + 40)
    months = [n for n in _partitions(pg) if n.startswith("receipts_p")]
    assert len(months) >= 2  # the writers met at month boundaries
    folded = rebuild(pg)
    assert folded.receipts == 3 * (300 + 60) + 40
    assert_same_state(from_rollups(pg), folded)
    with ctx.Pool(3) as pool:
        reads = pool.map(_read_rollups, [(POSTGRES_URL, schema, h) for h in homes])
    assert all(r == reads[0] for r in reads)
    assert reads[0][0] == folded.receipts
