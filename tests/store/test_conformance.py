"""Every store behaviour, run against memory, SQLite and PostgreSQL alike."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from outcomes._ids import new_id
from outcomes._table import Table
from outcomes.records import Receipt
from outcomes.store import Migration, Store


@dataclass(frozen=True, slots=True)
class Note:
    """A record type local to these tests, with JSON and bool columns."""

    note_id: str
    topic: str
    score: float | None
    flagged: bool | None
    tags: list[str]
    meta: dict[str, int] | None

    __table__: ClassVar[Table[Note]]


Note.__table__ = Table.of(
    "test_notes", Note, key="note_id", score="float", flagged="bool", tags="json", meta="json"
)

NOTE_MIGRATIONS = (
    Migration(
        "testnotes.0001_notes",
        (
            "CREATE TABLE test_notes (seq {pk}, note_id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL,"
            " score {real}, flagged {bool}, tags {json} NOT NULL, meta {json})",
        ),
    ),
)


def receipt(**kw: object) -> Receipt:
    base: dict[str, object] = {
        "receipt_id": new_id(),
        "trace_id": new_id(),
        "model_id": "m1",
        "task": "code",
        "timestamp": 1_700_000_000.0,
        "success": True,
        "quality": 0.8,
        "latency_ms": 120.5,
        "input_tokens": 10,
        "output_tokens": 20,
    }
    base.update(kw)
    return Receipt(**base)  # type: ignore[arg-type]


def test_write_then_scan_returns_equal_records_in_insertion_order(store: Store) -> None:
    rs = [receipt(timestamp=1_700_000_000.0 - i) for i in range(5)]
    assert store.write(rs) == 5
    assert list(store.scan(Receipt.__table__)) == rs


def test_writing_an_existing_key_is_ignored(store: Store) -> None:
    r = receipt()
    assert store.write([r]) == 1
    assert store.write([r, replace(r, model_id="other")]) == 0
    assert list(store.scan(Receipt.__table__)) == [r]


def test_where_operators(store: Store) -> None:
    rs = [
        receipt(model_id="a", quality=0.1, success=True),
        receipt(model_id="b", quality=0.5, success=False),
        receipt(model_id="c", quality=None, success=None),
    ]
    store.write(rs)
    t = Receipt.__table__

    def ids(where: list[tuple[str, str, object]]) -> list[str]:
        return [r.model_id for r in store.scan(t, where=where)]  # type: ignore[arg-type]

    assert ids([("model_id", "=", "b")]) == ["b"]
    assert ids([("model_id", "!=", "b")]) == ["a", "c"]
    assert ids([("quality", ">", 0.2)]) == ["b"]
    assert ids([("quality", "<=", 0.5)]) == ["a", "b"]
    assert ids([("quality", "is null", None)]) == ["c"]
    assert ids([("quality", "is not null", None)]) == ["a", "b"]
    assert ids([("model_id", "in", ["a", "c"])]) == ["a", "c"]
    assert ids([("model_id", "in", [])]) == []
    assert ids([("success", "=", False)]) == ["b"]
    assert ids([("quality", ">=", 0.1), ("model_id", "!=", "a")]) == ["b"]
    assert store.count(t, where=[("success", "is null", None)]) == 1


def test_order_by_limit_and_descending(store: Store) -> None:
    rs = [receipt(model_id=m, timestamp=ts) for m, ts in [("x", 3.0), ("y", 1.0), ("z", 2.0)]]
    store.write(rs)
    t = Receipt.__table__
    assert [r.model_id for r in store.scan(t, order_by="timestamp")] == ["y", "z", "x"]
    assert [r.model_id for r in store.scan(t, order_by="timestamp", descending=True, limit=2)] == [
        "x",
        "z",
    ]
    assert [r.model_id for r in store.scan(t, descending=True)] == ["z", "y", "x"]
    assert [r.model_id for r in store.scan(t, limit=0)] == []


def test_nulls_sort_first_ascending_and_last_descending(store: Store) -> None:
    store.write([receipt(model_id="q", quality=0.5), receipt(model_id="n", quality=None)])
    t = Receipt.__table__
    assert [r.model_id for r in store.scan(t, order_by="quality")] == ["n", "q"]
    assert [r.model_id for r in store.scan(t, order_by="quality", descending=True)] == ["q", "n"]


def test_delete_and_count(store: Store) -> None:
    store.write([receipt(timestamp=float(i)) for i in range(10)])
    t = Receipt.__table__
    assert store.delete(t, where=[("timestamp", "<", 4.0)]) == 4
    assert store.count(t) == 6
    assert store.delete(t) == 6
    assert store.count(t) == 0


def test_update_changes_columns_of_one_record(store: Store) -> None:
    a, b = receipt(), receipt()
    store.write([a, b])
    t = Receipt.__table__
    assert store.update(t, a.receipt_id, {"quality": 0.25, "success": False})
    assert not store.update(t, "missing", {"quality": 0.1})
    got = {r.receipt_id: r for r in store.scan(t)}
    assert got[a.receipt_id] == replace(a, quality=0.25, success=False)
    assert got[b.receipt_id] == b
    with pytest.raises(ValueError, match="no column"):
        store.update(t, a.receipt_id, {"nope": 1})
    with pytest.raises(ValueError, match="key column"):
        store.update(t, a.receipt_id, {"receipt_id": "x"})


def test_json_and_bool_columns_round_trip(store: Store) -> None:
    store.migrate(NOTE_MIGRATIONS)
    notes = [
        Note("n1", "t", 1.5, True, ["a", "ü"], {"k": 1}),
        Note("n2", "t", None, None, [], None),
        Note("n3", "u", -2.0, False, ["x"], {}),
    ]
    assert store.write(notes) == 3
    assert list(store.scan(Note.__table__)) == notes
    assert [n.note_id for n in store.scan(Note.__table__, where=[("flagged", "=", False)])] == [
        "n3"
    ]
    assert store.update(Note.__table__, "n2", {"tags": ["late"], "flagged": True})
    got = {n.note_id: n for n in store.scan(Note.__table__)}
    assert got["n2"].tags == ["late"]
    assert got["n2"].flagged is True


def test_mixed_record_types_in_one_write(store: Store) -> None:
    store.migrate(NOTE_MIGRATIONS)
    assert store.write([receipt(), Note("n", "t", None, None, [], None), receipt()]) == 3
    assert store.count(Receipt.__table__) == 2
    assert store.count(Note.__table__) == 1


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_rejected_and_nothing_is_written(store: Store, bad: float) -> None:
    good = receipt()
    with pytest.raises(ValueError, match="finite"):
        store.write([good, receipt(quality=bad)])
    assert store.count(Receipt.__table__) == 0


def test_huge_finite_floats_whose_sum_overflows_are_stored(store: Store) -> None:
    # A batch's finite check may sum a column: an overflowing sum is not a bad value.
    big = [receipt(latency_ms=1.7e308), receipt(latency_ms=1.7e308)]
    assert store.write(big) == 2
    assert [r.latency_ms for r in store.scan(Receipt.__table__)] == [1.7e308, 1.7e308]


def test_a_batch_stores_each_receipt_as_written_whatever_it_leaves_empty(store: Store) -> None:
    # Columns that every receipt of a batch leaves NULL may be left out of its insert.
    sparse = receipt(quality=None, cost_usd=None, project_id=None, success=None)
    full = receipt(
        error="HTTP 500", intent="chat", signal_id="sig-1", propensity=0.25, ttft_ms=12.5,
        supersedes="r-old", superseded_success=False, superseded_quality=0.5,
        superseded_at=1_700_000_000.0, success=True,
    )  # fmt: skip
    for batch in ([sparse], [full], [sparse, full]):
        store.delete(Receipt.__table__)
        assert store.write(batch) == len(batch)
        assert list(store.scan(Receipt.__table__)) == batch


def test_unknown_column_in_where_is_an_error(store: Store) -> None:
    with pytest.raises(ValueError, match="no column"):
        list(store.scan(Receipt.__table__, where=[("nope", "=", 1)]))
    with pytest.raises(ValueError, match="operator"):
        list(store.scan(Receipt.__table__, where=[("model_id", "LIKE", "x")]))  # type: ignore[list-item]


def test_migrations_are_recorded_and_idempotent(store: Store) -> None:
    status = store.migration_status(NOTE_MIGRATIONS)
    assert "core.0001_receipts" in [n for n, _ in status.applied]
    assert status.pending == ("testnotes.0001_notes",)
    assert store.migrate(NOTE_MIGRATIONS) == ["testnotes.0001_notes"]
    assert store.migrate(NOTE_MIGRATIONS) == []
    status = store.migration_status(NOTE_MIGRATIONS)
    assert status.pending == ()
    assert status.schema_version == "testnotes.0001_notes"
    # A list that no longer names a migration reports it as unknown, not as missing.
    assert store.migration_status().unknown == ("testnotes.0001_notes",)


def test_scan_streams_more_rows_than_one_batch(store: Store) -> None:
    rs = [receipt(timestamp=float(i)) for i in range(4_500)]
    store.write(rs)
    seen = 0
    for i, r in enumerate(store.scan(Receipt.__table__)):
        assert r.timestamp == float(i)
        seen += 1
    assert seen == 4_500


def test_free_text_is_redacted_before_storage(store: Store) -> None:
    key = "sk-proj-" + "A1b2C3d4" * 4
    store.write([receipt(error=f"401 invalid key {key} " + "x" * 5000, routing_reason="r" * 300)])
    (got,) = store.scan(Receipt.__table__)
    assert key not in (got.error or "")
    assert "[REDACTED]" in (got.error or "")
    assert len(got.error or "") == 257
    assert (got.error or "").endswith("…")
    assert len(got.routing_reason) == 257


_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    return Receipt(
        receipt_id=new_id(),
        trace_id=draw(_text.filter(bool)),
        model_id=draw(_text.filter(bool)),
        task=draw(st.sampled_from(["generate", "code", "x.y"])),
        timestamp=draw(_finite),
        success=draw(st.none() | st.booleans()),
        quality=draw(st.none() | st.floats(0, 1)),
        latency_ms=draw(st.floats(0, 1e9)),
        input_tokens=draw(st.integers(0, 2**53)),
        output_tokens=draw(st.integers(0, 2**53)),
        cost_usd=draw(st.none() | st.floats(0, 1e6)),
        error=draw(st.none() | _text),
        routing_reason=draw(_text),
        project_id=draw(st.none() | _text),
        intent=draw(st.none() | _text),
        propensity=draw(st.none() | st.floats(0, 1)),
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(receipts(), max_size=8))
def test_round_trip_of_arbitrary_receipts(store: Store, batch: list[Receipt]) -> None:
    store.delete(Receipt.__table__)
    store.write(batch)
    assert list(store.scan(Receipt.__table__)) == batch
