"""Durable receipts through the background writer vs raw ``sqlite3.executemany``; JSONL rates.

Targets (DESIGN "Performance targets"): >= 100k receipts/s into SQLite through the
background writer, within 2x of a raw ``executemany`` of the same rows in the same run.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from benchmarks._harness import Context
from outcomes._ids import new_id
from outcomes.config import WriterSettings
from outcomes.ledger import export_jsonl, import_jsonl
from outcomes.records import Receipt
from outcomes.store import BackgroundWriter, MemoryStore, SQLiteStore
from outcomes.store._schema import CORE_MIGRATIONS


def _receipts(n: int) -> list[Receipt]:
    models = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b")
    return [
        Receipt(
            receipt_id=new_id(),
            trace_id=new_id(),
            model_id=models[i % 4],
            task="code" if i % 3 else "generate",
            timestamp=1_790_000_000.0 + i * 0.01,
            success=i % 7 != 0,
            quality=None if i % 2 else 0.8,
            latency_ms=100.0 + i % 900,
            input_tokens=400 + i % 300,
            output_tokens=200 + i % 500,
            cost_usd=0.0012,
            routing_reason="router: thompson (code)",
            project_id="bench",
        )
        for i in range(n)
    ]


_RECEIPT_TABLE_MIGRATIONS = frozenset({"core.0001_receipts", "core.0003_receipts_ttft"})


def _raw_executemany(path: Path, rows: list[tuple[object, ...]]) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    # The receipts table as it stands (its columns and first indexes), without the
    # rollups and the later indexes that the store maintains on top of it.
    for migration in CORE_MIGRATIONS:
        if migration.name in _RECEIPT_TABLE_MIGRATIONS:
            for statement in migration.render(SQLiteStore.TYPES):
                conn.execute(statement)
    cols = Receipt.__table__.column_names
    sql = (
        f"INSERT OR IGNORE INTO receipts ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    )
    batch = WriterSettings().batch_size
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows[i : i + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def _writer(path: Path, receipts: list[Receipt]) -> float:
    store = SQLiteStore(path)
    writer = BackgroundWriter(store, WriterSettings(queue_size=len(receipts) + 1))
    start = time.perf_counter()
    submit = writer.submit
    for r in receipts:
        submit(r)
    ok = writer.flush(timeout=600)
    elapsed = time.perf_counter() - start
    assert ok, "flush timed out"
    assert writer.stats().written == len(receipts), writer.stats()
    writer.close()
    store.close()
    return elapsed


def run(ctx: Context) -> None:
    n = 20_000 if ctx.quick else 300_000
    receipts = _receipts(n)
    rows = [Receipt.__table__.to_row(r) for r in receipts]
    with tempfile.TemporaryDirectory() as tmp:
        raw_times, writer_times = [], []
        for k in range(1 if ctx.quick else 3):
            raw_times.append(_raw_executemany(Path(tmp) / f"raw{k}.db", rows))
            writer_times.append(_writer(Path(tmp) / f"w{k}.db", receipts))
        raw, wr = min(raw_times), min(writer_times)
        rate, raw_rate = n / wr, n / raw
        ctx.report(
            "writer -> SQLite receipts/s",
            rate,
            "rows/s",
            reference_name="raw executemany",
            reference_value=raw_rate,
            target=">= 100k/s and >= 0.5x raw",
            passed=rate >= 100_000 and rate >= 0.5 * raw_rate,
            notes=f"{n} receipts, best of {len(raw_times)}",
        )

    store = MemoryStore()
    store.write(receipts)
    buf = io.StringIO()
    start = time.perf_counter()
    export_jsonl(store, buf)
    export_s = time.perf_counter() - start
    dicts = [r.to_json() for r in receipts]
    start = time.perf_counter()
    for d in dicts:
        json.dumps(d, separators=(",", ":"))
    dumps_s = time.perf_counter() - start
    ctx.report(
        "ledger export receipts/s",
        n / export_s,
        "rows/s",
        reference_name="json.dumps alone",
        reference_value=n / dumps_s,
    )
    data = buf.getvalue().encode()
    target = MemoryStore()
    start = time.perf_counter()
    report = import_jsonl(target, io.BytesIO(data))
    import_s = time.perf_counter() - start
    assert report.imported == n
    start = time.perf_counter()
    for line in data.splitlines():
        json.loads(line)
    loads_s = time.perf_counter() - start
    ctx.report(
        "ledger import receipts/s (validated)",
        n / import_s,
        "rows/s",
        reference_name="json.loads alone",
        reference_value=n / loads_s,
    )
