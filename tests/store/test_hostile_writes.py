"""Writes of values at or past what the stores can keep: each is refused with a clear
error or kept, and never leaves the store unable to take the next write.

Found by an adversarial review of the PostgreSQL store (most checks run on every store).
"""

from __future__ import annotations

import contextlib
import math
import time

import pytest

from outcomes.errors import StoreUnavailableError
from outcomes.inference import from_rollups
from outcomes.records import Receipt
from outcomes.store import PostgresStore, Store
from tests.conftest import POSTGRES_URL
from tests.store.test_conformance import NOTE_MIGRATIONS, Note

MAX_INT64 = 2**63 - 1
T = time.time()


def _receipt(rid: str, **kw: object) -> Receipt:
    fields: dict[str, object] = {
        "receipt_id": rid, "trace_id": rid, "model_id": "m", "task": "code",
        "timestamp": T, "success": True,
    }  # fmt: skip
    fields.update(kw)
    return Receipt(**fields)  # type: ignore[arg-type]


def test_token_sums_past_64_bits_do_not_refuse_the_cells_later_receipts(store: Store) -> None:
    # Each receipt may carry up to 2**63 - 1 tokens (the edges' Count64); the cell's sum
    # past that once made every later write of the cell fail ("bigint out of range",
    # SQLite's OverflowError), so one ingested event refused all later receipts of its
    # model, task and project.
    assert store.write([_receipt("big", input_tokens=MAX_INT64, output_tokens=MAX_INT64)]) == 1
    for k in range(3):
        assert store.write([_receipt(f"next-{k}", input_tokens=1, timestamp=T + k)]) == 1
    assert store.write([_receipt("n-2", input_tokens=1, timestamp=T + 7200)]) == 1
    state = from_rollups(store)
    cell = state.parts[("m", "code", None)]
    assert cell.calls == 5
    assert cell.input_tokens == MAX_INT64  # saturated, not wrapped or refused
    assert cell.output_tokens == MAX_INT64


def test_the_last_month_before_year_10000_takes_receipts(store: Store) -> None:
    # PostgreSQL's month partition of December 9999 ends at year 10000, which
    # ``calendar`` cannot name: the write failed with "year 10000 is out of range".
    last = 253_402_300_799.0  # 9999-12-31T23:59:59Z
    assert store.write([_receipt("last", timestamp=last), _receipt("first", timestamp=0.0)]) == 2
    assert store.count(Receipt.__table__, where=[("timestamp", ">", 1e11)]) == 1
    assert [r.receipt_id for r in store.scan(Receipt.__table__, order_by="timestamp")] == [
        "first", "last",
    ]  # fmt: skip


@pytest.mark.postgres
@pytest.mark.parametrize("rid", ["", "abcdefghijklmnop\x00", "a\x00b"])
def test_postgres_refuses_ids_it_cannot_keep_apart(pg: PostgresStore, rid: str) -> None:
    # An empty id was missed by the writer's look-up (the server split the one-id list
    # into none), so each re-delivery was folded into the rollups again; an id ending in
    # a NUL after 16 characters was stored as the 16-character id is, so the other was
    # then taken for a re-delivery and lost. Both are now refused before anything is sent.
    pg.write([_receipt("abcdefghijklmnop")])
    for _ in range(2):
        with pytest.raises(ValueError, match=r"receipts\.receipt_id: an id must be non-empty"):
            pg.write([_receipt(rid)])
        with pytest.raises(ValueError, match=r"receipts\.trace_id"):
            pg.write([_receipt("fine", trace_id=rid)])
    assert pg.write([_receipt("abcdefghijklmnoq")]) == 1
    assert sorted(r.receipt_id for r in pg.scan(Receipt.__table__)) == [
        "abcdefghijklmnop", "abcdefghijklmnoq",
    ]  # fmt: skip
    assert from_rollups(pg).parts[("m", "code", None)].calls == 2


def test_an_update_passes_the_storage_scrub(store: Store) -> None:
    # Every written row passes the storage scrub (Table.to_row); the SQL stores' update
    # stored its values as given, so a secret put in by an update reached the database.
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0"
    store.write([_receipt("u")])
    assert store.update(Receipt.__table__, "u", {"error": f"failed: {key}", "intent": key})
    (got,) = store.scan(Receipt.__table__)
    assert got.error is not None
    assert "failed: " in got.error
    assert key not in got.error
    assert got.intent is not None
    assert key not in got.intent
    store.migrate(NOTE_MIGRATIONS)
    store.write([Note("n", "t", None, None, [], None)])
    assert store.update(Note.__table__, "n", {"tags": [key], "topic": key})
    (note,) = store.scan(Note.__table__)
    assert note.topic != key
    assert key not in note.tags[0]


def test_a_cutoff_that_is_not_a_time_prunes_nothing(store: Store) -> None:
    # No receipt is older than NaN; on PostgreSQL every month partition was dropped
    # (the test ``end > before`` is false for NaN), emptying the ledger.
    store.write([_receipt(f"old-{k}", timestamp=T - k * 40 * 86_400) for k in range(4)])
    with pytest.raises(ValueError, match="before must be a time"):
        store.prune(Receipt.__table__, column="timestamp", before=math.nan)
    assert store.count(Receipt.__table__) == 4


@pytest.mark.postgres
def test_postgres_connects_again_after_the_server_closed_its_connections(
    pg: PostgresStore,
) -> None:
    # A server restart or a terminated backend left the store's connections closed for
    # good: every later write and read failed with "the connection is closed".
    import psycopg

    assert pg.write([_receipt("before")]) == 1
    assert pg.count(Receipt.__table__) == 1
    pids = [pg._writer().info.backend_pid, pg._reader().info.backend_pid]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(p) FROM unnest(%s::int[]) AS p", [pids])
    with pytest.raises(StoreUnavailableError):  # the statement that meets the loss
        pg.write([_receipt("lost")])
    assert pg.write([_receipt("after")]) == 1
    with contextlib.suppress(StoreUnavailableError):
        pg.count(Receipt.__table__)  # the reader meets its loss here
    assert pg.count(Receipt.__table__) == 2
    assert {r.receipt_id for r in pg.scan(Receipt.__table__)} == {"before", "after"}
