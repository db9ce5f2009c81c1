"""SQLite keeps UUID-shaped receipt ids as 16 bytes (store/_ids.py, migration sqlite.0001).

Ids go in and come out as text whatever their shape; only the canonical lowercase UUID
form is stored compactly, and a database made by the schema before sqlite.0001 is
converted without losing or changing a receipt.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from outcomes._ids import new_id
from outcomes.inference._feedback_schema import MIGRATIONS as FEEDBACK_MIGRATIONS
from outcomes.inference._feedback_schema import TraceTag
from outcomes.inference._queries import FOLD_ROWS_TAGGED
from outcomes.ledger._queries import EXPORT_ROWS
from outcomes.records import Receipt
from outcomes.server.dashboard._queries import RECENT, recent_params
from outcomes.store import SQLiteStore
from outcomes.store._ids import decode_id, encode_id, encode_ids, id_text
from outcomes.store._schema import CORE_MIGRATIONS, MIGRATIONS_TABLE
from outcomes.testing import receipts

UPPER = str(uuid.uuid4()).upper()


def _receipt(n: int, receipt_id: str, trace_id: str, **kw: object) -> Receipt:
    fields: dict[str, object] = {
        "receipt_id": receipt_id, "trace_id": trace_id, "model_id": f"m{n % 2}",
        "task": "code", "timestamp": 1_780_000_000.0 + n * 60, "success": n % 3 != 0,
        "quality": 0.5 + n / 100, "latency_ms": 100.0 + n, "output_tokens": n,
        "project_id": "p",
    }  # fmt: skip
    fields.update(kw)
    return Receipt(**fields)  # type: ignore[arg-type]


def _mixed() -> list[Receipt]:
    """Own ids, users' ids of other shapes, and a superseding receipt."""
    out = [
        _receipt(1, new_id(), new_id()),
        _receipt(2, "req-42", "trace-a"),
        _receipt(3, UPPER, new_id()),
        _receipt(4, new_id(), "trace-a"),
        _receipt(5, str(uuid.uuid4()), str(uuid.uuid4())),
    ]
    first = out[0]
    # A late signal on the first call: what it replaces is named by its receipt id.
    replaced = {"success": "superseded_success", "quality": "superseded_quality"}
    taken = {v: getattr(first, k) for k, v in replaced.items()}
    late = {"supersedes": first.receipt_id, "superseded_at": first.timestamp, **taken}
    out.append(_receipt(6, new_id(), first.trace_id, success=False, source="signal", **late))
    return out


def _storage(path: Path) -> list[tuple[str, str, int, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT typeof(receipt_id), typeof(trace_id), length(receipt_id), "
            "length(trace_id) FROM receipts ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def test_encoding_round_trips_and_leaves_other_ids_as_text() -> None:
    own = new_id()
    assert encode_id(own) == uuid.UUID(own).bytes
    assert decode_id(encode_id(own)) == own
    for other in ("req-42", UPPER, own + " ", own.replace("-", ""), "", None, 7):
        assert encode_id(other) == other
        assert decode_id(other) == other


def test_a_batch_of_ids_encodes_as_each_id_alone() -> None:
    own = [new_id() for _ in range(5)]
    odd = [
        "req-42", UPPER, own[0] + " ", own[0].replace("-", ""), "", own[0][:35],
        own[1] + "a", own[0][:10] + "g" + own[0][11:], own[0].replace("-", "\n"),
        own[0] + "\n" + own[1], own[0][:9] + "-" + own[0][10:], "é" * 36,
    ]  # fmt: skip
    batches = [own, [], own[:1], *([*own[:2], x, own[2]] for x in odd), [own[0], ""], odd]
    for batch in batches:
        assert encode_ids(batch) == [encode_id(x) for x in batch], batch
        assert encode_ids(batch, bytearray) == [
            bytearray(e) if isinstance(e, bytes) else e for e in map(encode_id, batch)
        ]
    assert encode_ids([1, None]) == [1, None]


def test_uuid_ids_are_stored_as_16_bytes_and_read_back_as_text(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    written = _mixed()
    try:
        assert store.write(written) == len(written)
        assert receipts(store) == written
        assert _storage(path) == [
            ("blob", "blob", 16, 16),
            ("text", "text", 6, 7),
            ("text", "blob", 36, 16),
            ("blob", "text", 16, 7),
            ("blob", "blob", 16, 16),
            ("blob", "blob", 16, 16),
        ]
        # Conditions on the id columns find either form.
        table = Receipt.__table__
        by_trace = list(store.scan(table, where=[("trace_id", "=", written[0].trace_id)]))
        assert by_trace == [written[0], written[5]]
        assert [r.receipt_id for r in store.scan(table, where=[("trace_id", "=", "trace-a")])] == [
            "req-42",
            written[3].receipt_id,
        ]
        ids = [written[0].receipt_id, "req-42", UPPER, "missing"]
        assert store.count(table, where=[("receipt_id", "in", ids)]) == 3
        assert store.update(table, written[4].receipt_id, {"error": "late"})
        assert store.update(table, "req-42", {"trace_id": written[4].trace_id})
        moved = list(store.scan(table, where=[("trace_id", "=", written[4].trace_id)]))
        assert [(r.receipt_id, r.error) for r in moved] == [
            ("req-42", None),
            (written[4].receipt_id, "late"),
        ]
        # A re-delivery, mixed with one new receipt, adds only the new one.
        extra = _receipt(7, new_id(), new_id())
        assert store.write([*written, extra]) == 1
        assert store.delete(table, where=[("receipt_id", "=", extra.receipt_id)]) == 1
    finally:
        store.close()


def test_named_queries_return_ids_as_text(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "q.db")
    written = _mixed()
    try:
        store.migrate(FEEDBACK_MIGRATIONS)
        tag = TraceTag(tag_id=new_id(), trace_id=written[0].trace_id, tag="t", timestamp=1.0)
        store.write([*written, tag])
        exported = store.query(EXPORT_ROWS, (0.0, 2e9))
        assert [(r[0], r[1]) for r in exported] == [(r.receipt_id, r.trace_id) for r in written]
        tagged = store.query(FOLD_ROWS_TAGGED, ("inference", "t"))
        assert [row[-1] for row in tagged] == [1, 6]  # the first call and its signal, by seq
        rows = store.fetch(f"SELECT {id_text('trace_id')} FROM receipts ORDER BY seq")
        assert [r[0] for r in rows] == [r.trace_id for r in written]
        failed = [r for r in written if r.success is False]
        store.update(Receipt.__table__, failed[0].receipt_id, {"error": "HTTP 500"})
        recent = store.query(RECENT, recent_params(0.0, 2e9, 100, "", "", "", limit=10))
        assert [row[1] for row in recent] == [failed[0].trace_id]
    finally:
        store.close()


def _old_database(path: Path, old: list[Receipt]) -> None:
    """A database made by the schema before sqlite.0001, receipts written with text ids
    (before the rollups existed, which core.0002 then folded, as on a real upgrade)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"CREATE TABLE {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at REAL)")
    table = Receipt.__table__
    # The columns core.0001 knew (ttft_ms came with core.0003).
    cols = [c for c in table.column_names if c != "ttft_ms"]
    for m in CORE_MIGRATIONS:  # every core migration, none of the SQLite store's own
        for statement in m.render(SQLiteStore.TYPES):
            conn.execute(statement)
        if m.name == "core.0001_receipts":
            rows = [tuple(getattr(r, c) for c in cols) for r in old]
            conn.executemany(
                f"INSERT INTO receipts ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                rows,
            )
        if m.run is not None:
            m.run(conn.cursor(), lambda s: s)
        conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES (?, 0)", [m.name])
    conn.close()


def _rollups(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM rollup_cells ORDER BY 1, 2, 3").fetchall()
    finally:
        conn.close()


def test_migration_converts_a_database_of_the_previous_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = _mixed()
    _old_database(path, old)
    assert {s[:2] for s in _storage(path)} == {("text", "text")}
    before = _rollups(path)
    store = SQLiteStore(path)
    try:
        assert "sqlite.0001_compact_receipts" in dict(store.migration_status().applied)
        assert receipts(store) == old
        assert [s[:2] for s in _storage(path)] == [
            ("blob", "blob"),
            ("text", "text"),
            ("text", "blob"),
            ("blob", "text"),
            ("blob", "blob"),
            ("blob", "blob"),
        ]
        assert _rollups(path) == before
        indexes = {r[0] for r in store.fetch("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "receipts_model_task" not in indexes
        assert {"receipts_timestamp", "receipts_trace"} <= indexes
        # Receipts converted by the migration still make re-delivery a no-op.
        assert store.write(old) == 0
        assert store.verify() == []
    finally:
        store.close()


@pytest.mark.parametrize("n", [1, 250])
def test_a_batch_partly_stored_folds_only_its_new_receipts(tmp_path: Path, n: int) -> None:
    store = SQLiteStore(tmp_path / "p.db")
    batch = [_receipt(i, new_id(), new_id()) for i in range(n + 3)]
    try:
        store.write(batch[:n])
        once = store.fetch("SELECT calls, receipts FROM rollup_cells ORDER BY 1")
        assert sum(r[0] for r in once) == n
        # Stored ones first, repeats inside the batch, then new ones.
        assert store.write([*batch[:n], batch[n], batch[n], *batch[n + 1 :]]) == 3
        twice = store.fetch("SELECT calls, receipts FROM rollup_cells ORDER BY 1")
        assert sum(r[0] for r in twice) == n + 3
        assert sum(r[1] for r in twice) == n + 3
    finally:
        store.close()
