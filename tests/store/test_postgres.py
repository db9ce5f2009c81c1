"""PostgreSQL specifics: several processes writing at once, unreachable servers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from outcomes.errors import StoreUnavailableError
from outcomes.records import Receipt
from outcomes.store import PostgresStore
from tests.conftest import POSTGRES_URL, make_postgres_store

_APPENDER = textwrap.dedent(
    """
    import sys
    from outcomes.store import PostgresStore, BackgroundWriter
    from outcomes.config import WriterSettings
    from outcomes.records import Receipt
    url, schema, worker, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = PostgresStore(url, schema=schema)
    w = BackgroundWriter(store, WriterSettings(batch_size=100, flush_interval=0.01))
    for i in range(n):
        w.submit(Receipt(f"{worker}-{i}", "t", "m", "code", float(i)))
    assert w.close(timeout=60)
    st = w.stats()
    assert st.written == n and st.failed == 0, st
    """
)


@pytest.mark.postgres
def test_four_processes_append_to_one_database_without_loss() -> None:
    store = make_postgres_store()
    schema = store.schema
    assert schema is not None
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _APPENDER, POSTGRES_URL, schema, f"w{k}", "1500"],
                stderr=subprocess.PIPE,
                text=True,
            )
            for k in range(4)
        ]
        for p in procs:
            _, err = p.communicate(timeout=180)
            assert p.returncode == 0, err
        ids = {r.receipt_id for r in store.scan(Receipt.__table__)}
        assert ids == {f"w{k}-{i}" for k in range(4) for i in range(1500)}
    finally:
        store.drop_schema()
        store.close()


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailableError, match="cannot connect"):
        PostgresStore("postgresql://nobody@127.0.0.1:1/none", connect_timeout=1)


def test_password_is_hidden_in_the_url() -> None:
    from outcomes.store._postgres import hide_password

    assert hide_password("postgresql://u:hunter2@h/db") == "postgresql://u:***@h/db"


@pytest.mark.postgres
def test_copy_batch_with_redelivered_receipts_counts_each_once() -> None:
    # A batch big enough for COPY goes straight into the table; one that repeats stored
    # receipts (and itself) falls back to the idempotent path, and rollups count once.
    from outcomes.store._postgres import COPY_MIN_ROWS

    n = COPY_MIN_ROWS * 2
    store = make_postgres_store()
    try:
        first = [Receipt(f"r{i}", "t", "m", "code", 1_780_000_000.0 + i) for i in range(n)]
        assert store.write(first) == n
        again = first[n // 2 :] + [
            Receipt(f"r{i}", "t", "m", "code", 1_780_000_000.0 + i) for i in range(n, n + n // 2)
        ]
        assert store.write(again + again[:5]) == n // 2
        assert store.count(Receipt.__table__) == n + n // 2
        assert store.fetch("SELECT receipts, calls FROM rollup_cells") == [(n + n // 2, n + n // 2)]
        assert store.write(first) == 0
        assert store.fetch("SELECT sum(receipts) FROM rollup_hourly") == [(n + n // 2,)]
    finally:
        store.drop_schema()
        store.close()
