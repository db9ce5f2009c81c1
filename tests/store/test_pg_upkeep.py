"""The PostgreSQL writer's upkeep (store/_pg_upkeep.py): on a store that autovacuum never
visited, reads go through their indexes, and the upkeep never holds a write up."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from outcomes.ledger import _queries as ledger_queries
from outcomes.records import Receipt
from outcomes.store import PostgresStore, Query
from outcomes.store import _newest as newest_queries
from outcomes.store._pg_upkeep import month_counts
from tests.conftest import POSTGRES_URL, make_postgres_store

T0 = float(calendar.timegm((2026, 5, 1, 0, 0, 0)))
MONTH = "receipts_p202605"
STEP_S = 10.0  # 20,000 receipts span 2.3 days: one month, one hour holds 360


def _receipts(first: int, n: int) -> list[Receipt]:
    return [
        Receipt(
            receipt_id=f"r{i:07d}",
            trace_id=f"r{i:07d}",
            model_id=f"model-{i % 8}",
            task=("code", "generate", "classify")[i % 3],
            timestamp=T0 + i * STEP_S,
            success=i % 5 != 0,
            latency_ms=100.0 + i % 900,
            input_tokens=400,
            output_tokens=200,
            project_id=f"project-{i % 3}",
            kind="review_finding" if i % 200 == 0 else "inference",
        )
        for i in range(first, first + n)
    ]


@pytest.fixture
def unvacuumed() -> Iterator[PostgresStore]:
    """A store whose month of receipts autovacuum leaves alone (never analyzed, its BRIN
    ranges never summarized but by the store itself)."""
    store = make_postgres_store(durable=False)
    store.create_partitions(T0, T0 + 1)
    store.fetch(f"ALTER TABLE {MONTH} SET (autovacuum_enabled = off)", [])
    try:
        yield store
    finally:
        store.drop_schema()
        store.close()


def _write(store: PostgresStore, first: int, n: int) -> None:
    for i in range(first, first + n, 1000):
        assert store.write(_receipts(i, min(1000, first + n - i))) == min(1000, first + n - i)


def _blocks(store: PostgresStore, query: Query, params: tuple[Any, ...]) -> int:
    """Shared blocks (hit or read) the query's plan touched, from EXPLAIN (ANALYZE)."""
    sql, values = query.render("postgresql", params)
    doc = store.fetch("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, values)[0][0]
    plan = doc[0]["Plan"]
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


def _pages(store: PostgresStore) -> int:
    return int(store.fetch(f"SELECT pg_relation_size('{MONTH}') / 8192", [])[0][0])


@pytest.mark.postgres
def test_reads_of_a_month_autovacuum_never_visited_touch_a_bounded_share_of_it(
    unvacuumed: PostgresStore,
) -> None:
    # Fails without the upkeep: with no statistics `kind <> 'inference'` is guessed at
    # 99.5% of the rows and a BRIN index is costed as returning every range, so each of
    # these reads scans the whole month (and a BRIN scan of unsummarized ranges would too).
    store = unvacuumed
    _write(store, 0, 20_000)
    pages = _pages(store)
    assert pages > 256  # past ANALYZE_MIN_BYTES: the upkeep analyzed it
    # 100 receipts of another kind, each on its own page at most: the index, not the month.
    assert _blocks(store, ledger_queries.OTHER_KIND_ROWS, ()) < pages // 2
    # One hour (360 receipts, about 8 pages) in the middle: its block ranges only.
    hour = T0 + 10_000 * STEP_S
    assert _blocks(store, newest_queries.COUNT_UPTO, (hour, hour + 3600, 10_000)) < pages // 4
    assert _blocks(store, ledger_queries.EXPORT_ROWS, (hour, hour + 3600)) < pages // 4
    # The last hour: the newest ranges, which the upkeep summarized as they filled.
    end = T0 + 20_000 * STEP_S
    assert _blocks(store, newest_queries.COUNT_UPTO, (end - 3600, end, 10_000)) < pages // 4


@pytest.mark.postgres
def test_a_month_locked_by_someone_else_holds_no_write_up_and_is_kept_up_later(
    unvacuumed: PostgresStore,
) -> None:
    # Without the lock timeout the upkeep after the first batch would wait for the lock
    # this test holds (as autovacuum or an ANALYZE would), and the test would hang.
    # (The first batch goes before the lock: the store's first write into a month
    # creates its index if missing, which that lock would rightly hold up.)
    store = unvacuumed
    _write(store, 0, 1000)
    # A hung test must not hold the lock for long: other tests share the server.
    options = f"-c search_path={store.schema} -c idle_in_transaction_session_timeout=60s"
    other = psycopg.connect(POSTGRES_URL, options=options)
    try:
        with other.transaction():
            other.execute(f"LOCK TABLE {MONTH} IN SHARE UPDATE EXCLUSIVE MODE")
            _write(store, 1000, 11_000)
        assert store.fetch(f"SELECT count(*) FROM {MONTH}", [])[0][0] == 12_000
        stats = f"SELECT count(*) FROM pg_stats WHERE tablename = '{MONTH}'"
        assert store.fetch(stats, [])[0][0] == 0  # skipped while locked
        _write(store, 12_000, 8000)  # the next turns: ranges summarized, past 2 MB analyzed
        assert store.fetch(stats, [])[0][0] > 0
    finally:
        other.close()
    hour = T0 + 6_000 * STEP_S
    assert (
        _blocks(store, newest_queries.COUNT_UPTO, (hour, hour + 3600, 10_000)) < _pages(store) // 4
    )


def test_month_counts_name_each_month_partition_and_leave_the_open_ended_ones_out() -> None:
    may, june = T0, float(calendar.timegm((2026, 6, 1, 0, 0, 0)))
    assert month_counts([may, may + 5]) == {"receipts_p202605": 2}
    assert month_counts([may, june, june + 1, -5.0]) == {
        "receipts_p202605": 1,
        "receipts_p202606": 2,
    }
    assert month_counts([-5.0, -1.0]) == {}
    assert month_counts([]) == {}
