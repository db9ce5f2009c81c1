"""PostgreSQL keeps receipt ids as bytea in a compact layout (store/_pg_compact.py,
migration pg.0002): ids of every shape go in and come out as the same text, look-ups by
trace find every receipt of the trace, and a database of the previous schema is
converted without losing or changing a receipt."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes._ids import new_id
from outcomes.inference._feedback_schema import MIGRATIONS as FEEDBACK_MIGRATIONS
from outcomes.inference._feedback_schema import TraceTag
from outcomes.inference._queries import FOLD_ROWS_TAGGED
from outcomes.ledger._queries import EXPORT_ROWS
from outcomes.records import Receipt
from outcomes.server.dashboard._queries import OUTCOMES, RECENT, outcomes_params, recent_params
from outcomes.store import PostgresStore, SQLiteStore, id_stored, id_text, rebuild_rollups
from outcomes.store._ids import decode_id, encode_id, encode_id_bytes, encode_ids_bytes
from outcomes.store._pg_compact import INDEXES, PG_MIGRATIONS
from outcomes.store._rollups import rebuild_sql
from outcomes.store._sql import SqlStore
from outcomes.testing import receipts
from tests.conftest import POSTGRES_URL, make_postgres_store, postgres_schema
from tests.store.test_compact_ids import UPPER, _mixed, _receipt

SIXTEEN = "exactly16bytes!!"  # a text id as long as a UUID's bytes
TABLE = Receipt.__table__


def _shapes() -> list[Receipt]:
    """``_mixed`` (own ids, users' ids, an upper-case UUID, a late signal) and text ids
    whose UTF-8 is 16 bytes long, as a UUID's bytes are."""
    return [
        *_mixed(),
        _receipt(7, SIXTEEN, SIXTEEN),
        _receipt(8, "é" * 8, SIXTEEN),
        _receipt(9, new_id(), "é" * 8, success=False, error="HTTP 500"),
    ]


_TEXT_IDS = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@given(st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), _TEXT_IDS))
def test_bytes_encoding_round_trips_and_is_16_bytes_only_for_uuids(value: str) -> None:
    stored = encode_id_bytes(value)
    assert type(stored) is bytes
    assert decode_id(stored) == value
    assert (len(stored) == 16) == (encode_id(value) != value)


@given(st.lists(st.one_of(st.uuids().map(str), _TEXT_IDS)), st.integers(0, 20))
def test_the_batch_encoding_is_the_one_by_one(ids: list[str], own: int) -> None:
    # Batches of own ids only take the batch path; mixed ones the per-id one.
    for batch in (ids, [new_id() for _ in range(own)]):
        assert encode_ids_bytes(batch) == [encode_id_bytes(v) for v in batch]


def test_the_sql_forms_agree_with_python(pg: PostgresStore) -> None:
    values = [new_id(), "req-42", UPPER, SIXTEEN, "é" * 8, "x" * 17, new_id().replace("-", "")]
    rows = pg.fetch(
        f"SELECT v, {id_stored('v')}, {id_text(id_stored('v'), 'postgresql')} "
        "FROM unnest(?::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
        [values],
    )
    assert rows == [(v, encode_id_bytes(v), v) for v in values]
    with pytest.raises(ValueError, match="sqlite"):
        id_stored("v", "sqlite")


def test_ids_of_every_shape_are_stored_as_bytes_and_read_back_as_text(
    pg: PostgresStore,
) -> None:
    written = _shapes()
    assert pg.write(written) == len(written)
    assert receipts(pg) == written
    lengths = pg.fetch(
        "SELECT octet_length(receipt_id), octet_length(trace_id) FROM receipts ORDER BY seq"
    )
    assert lengths == [(16, 16), (6, 7), (36, 16), (16, 7), (16, 16), (16, 16), (17, 17),
                       (17, 17), (16, 17)]  # fmt: skip
    # Look-ups by trace find first receipts (receipt id = trace id) and the others.
    for trace in {r.trace_id for r in written}:
        found = list(pg.scan(TABLE, where=[("trace_id", "=", trace)]))
        assert found == [r for r in written if r.trace_id == trace]
    traces = [written[0].trace_id, "trace-a", SIXTEEN, "missing"]
    assert pg.count(TABLE, where=[("trace_id", "in", traces)]) == 6
    assert pg.count(TABLE, where=[("trace_id", "in", [])]) == 0
    ids = [written[0].receipt_id, "req-42", UPPER, SIXTEEN, "missing"]
    assert pg.count(TABLE, where=[("receipt_id", "in", ids)]) == 4
    assert pg.update(TABLE, "req-42", {"trace_id": SIXTEEN})
    moved = [r.receipt_id for r in pg.scan(TABLE, where=[("trace_id", "=", SIXTEEN)])]
    assert moved == ["req-42", SIXTEEN, "é" * 8]
    # A re-delivery, small and by COPY, adds only what is new.
    extra = _receipt(10, new_id(), new_id())
    assert pg.write([*written, extra]) == 1
    assert pg.write(written * 8) == 0
    assert pg.delete(TABLE, where=[("receipt_id", "=", extra.receipt_id)]) == 1


def test_named_queries_return_ids_as_text(pg: PostgresStore) -> None:
    pg.migrate(FEEDBACK_MIGRATIONS)
    written = _shapes()
    tags = [
        TraceTag(tag_id=new_id(), trace_id=written[0].trace_id, tag="t", timestamp=1.0),
        TraceTag(tag_id=new_id(), trace_id=SIXTEEN, tag="t", timestamp=1.0),
    ]
    pg.write([*written, *tags])
    exported = pg.query(EXPORT_ROWS, (0.0, 2e9))
    assert [(r[0], r[1]) for r in exported] == [(r.receipt_id, r.trace_id) for r in written]
    tagged = pg.query(FOLD_ROWS_TAGGED, ("inference", "t"))
    assert [row[-1] for row in tagged] == [1, 6, 7, 8]  # seqs of the tagged traces' receipts
    recent = pg.query(RECENT, recent_params(0.0, 2e9, 100, "", "", "", limit=10))
    assert [row[1] for row in recent] == ["é" * 8]
    walked = pg.query(OUTCOMES, outcomes_params(0.0, 2e9, 100, "", ""))
    firsts = [r for r in written if r.supersedes is None]
    assert sorted(row[4] for row in walked) == sorted(r.trace_id for r in firsts)


# The store as it was before pg.0002: partitioned, ids as text.
_Partitioned = type("_Partitioned", (PostgresStore,), {"ENGINE_MIGRATIONS": PG_MIGRATIONS[:1]})


def _rollups(store: SqlStore) -> list[tuple[Any, ...]]:
    return store.fetch("SELECT * FROM rollup_cells ORDER BY model_id, task, project_key")


_COUNTS = "SELECT model_id, task, receipts, calls, successes, failures, inconclusive FROM "


def test_migration_converts_a_database_of_the_previous_schema() -> None:
    schema = postgres_schema()
    old = _Partitioned(POSTGRES_URL, schema=schema)
    many = [_receipt(20 + i, new_id(), new_id(), timestamp=1.6e9 + i * 9e5) for i in range(40)]
    written = [*_shapes(), *many, Receipt("x0", "tx", "m", "code", 1.7e9, kind="component")]
    try:
        assert old.write(written) == len(written)
        assert old.fetch("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                         "WHERE attrelid = 'receipts'::regclass AND attname = 'receipt_id'") == [
            ("text",)
        ]  # fmt: skip
        before = receipts(old)
        seqs = old.fetch("SELECT seq FROM receipts ORDER BY seq")
        rollups = _rollups(old)
        parts = old.fetch("SELECT count(*) FROM pg_inherits WHERE inhparent = 'receipts'::regclass")
    finally:
        old.close()
    new = PostgresStore(POSTGRES_URL, schema=schema)
    try:
        assert "pg.0002_compact_receipts" in dict(new.migration_status().applied)
        assert receipts(new) == before == written
        assert new.fetch("SELECT seq FROM receipts ORDER BY seq") == seqs
        assert _rollups(new) == rollups
        assert (
            new.fetch("SELECT count(*) FROM pg_inherits WHERE inhparent = 'receipts'::regclass")
            == parts
        )
        types = dict(new.fetch(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = 'receipts'::regclass AND attnum > 0 AND NOT attisdropped"
        ))  # fmt: skip
        assert types["receipt_id"] == types["trace_id"] == "bytea"
        assert set(types) == {"seq", *TABLE.column_names}
        # pg.0004 then replaces the table's unique index by one per partition.
        names = {s.split()[s.split().index("INDEX") + 1] for s in INDEXES} - {"receipts_id"}
        indexes = new.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'receipts' "
                            "AND schemaname = current_schema()")  # fmt: skip
        assert {r[0] for r in indexes} == names
        # Re-delivery is still a no-op; new receipts continue the sequence.
        assert new.write(written) == 0
        late = _receipt(99, new_id(), SIXTEEN)
        assert new.write([late]) == 1
        assert new.fetch("SELECT max(seq) FROM receipts")[0][0] > seqs[-1][0]
        assert [r.receipt_id for r in new.scan(TABLE, where=[("trace_id", "=", SIXTEEN)])] == [
            SIXTEEN, "é" * 8, late.receipt_id,
        ]  # fmt: skip
        counts = new.fetch(_COUNTS + "rollup_cells ORDER BY 1, 2")
        rebuild_rollups(new)
        assert new.fetch(_COUNTS + "rollup_cells ORDER BY 1, 2") == counts
    finally:
        new.drop_schema()
        new.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_rebuild_reads_seq_windows_across_gaps(kind: str, tmp_path: Any) -> None:
    store: SqlStore = SQLiteStore(tmp_path / "w.db") if kind == "sqlite" else make_postgres_store()
    try:
        written = [_receipt(i, new_id(), new_id(), model_id=f"m{i % 3}") for i in range(60)]
        store.write(written)
        gone = [r.receipt_id for r in written[10:35]]  # a gap wider than the windows
        store.delete(TABLE, where=[("receipt_id", "in", gone)])
        rebuild_rollups(store)
        whole = _rollups(store)
        folded = store._run_write(lambda cur: rebuild_sql(cur, store._sql, batch=4))
        assert folded == 35
        # Equal but for float sums added in another grouping.
        assert _rollups(store) == [
            tuple(pytest.approx(v) if isinstance(v, float) else v for v in row) for row in whole
        ]
    finally:
        if isinstance(store, PostgresStore):
            store.drop_schema()
        store.close()


def test_conditions_on_ids_use_the_uuid_bytes(pg: PostgresStore) -> None:
    own = new_id()
    pg.write([_receipt(1, own, own)])
    stored = pg.fetch("SELECT receipt_id FROM receipts")[0][0]
    assert stored == uuid.UUID(own).bytes
