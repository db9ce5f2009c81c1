"""The PostgreSQL half of ``bench_scale`` (see its docstring); skipped without a server."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

from benchmarks._harness import Context, cpu_seconds
from benchmarks.bench_store import _receipts
from outcomes.records import Receipt
from outcomes.store import PostgresStore, id_stored, id_text, rebuild_rollups
from outcomes.store._ids import encode_ids_bytes, encode_rows
from outcomes.store._pg_write import copy_types

DB = os.environ.get("OUTCOMES_BENCH_POSTGRES_DB", "outcomes_bench_scale")
"""The database the run creates and drops (another name lets two runs share a server)."""
T0 = 1_780_000_000
SPAN_S = 30 * 86_400
# Ids as outcomes makes them: time-ordered UUIDs (store/_ids.py stores them as 16 bytes),
# a call's receipt id being its trace id; a late signal's receipt id is a hash.
_UUID7 = (
    "substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || substr(m, 1, 3) || '-' || "
    "substr('89ab', (i %% 4)::int + 1, 1) || substr(m, 4, 3) || '-' || substr(m, 7, 12)"
)
_GENERATE = f"""
INSERT INTO receipts (receipt_id, trace_id, model_id, task, timestamp, success, quality,
    latency_ms, input_tokens, output_tokens, cost_usd, routing_reason, project_id, kind,
    source)
SELECT rid, rid, 'model-' || (i %% 8),
    CASE i %% 3 WHEN 0 THEN 'generate' WHEN 1 THEN 'code' ELSE 'classify' END, ts,
    CASE WHEN i %% 11 = 0 THEN NULL WHEN (i * 7 + i / 8) %% 10 < 2 THEN false ELSE true END,
    CASE WHEN i %% 2 = 0 THEN ((i * 37) %% 100) / 100.0 END,
    80.0 + (i * 7919) %% 2000 + ((i * 104729) %% 97) * ((i * 104729) %% 97),
    200 + (i * 31) %% 800, 100 + (i * 17) %% 600, 0.0004 + ((i * 13) %% 50) / 100000.0, '',
    'project-' || (i %% 3), 'inference', 'complete'
FROM (SELECT i, ts, {id_stored(_UUID7)} AS rid
      FROM (SELECT i, ts, lpad(to_hex((ts * 1000)::bigint), 12, '0') AS h, md5(i::text) AS m
            FROM (SELECT i, %(t0)s + i * %(step)s AS ts
                  FROM generate_series(0::bigint, %(n)s - 1) AS i) AS a) AS b) AS c
"""
_SUPERSEDE = f"""
INSERT INTO receipts (receipt_id, trace_id, model_id, task, timestamp, success, quality,
    latency_ms, input_tokens, output_tokens, routing_reason, project_id, kind, source,
    supersedes, superseded_success, superseded_quality, superseded_at)
SELECT decode(md5(encode(receipt_id, 'hex')), 'hex'), trace_id, model_id, task,
    timestamp + 3600, NOT coalesce(success, false), 0.9, 0, 0, 0, '', project_id, kind,
    'signal', {id_text("receipt_id", "postgresql")}, success, quality, timestamp
FROM receipts WHERE seq %% 20 = 0 AND supersedes IS NULL
"""


def _url() -> str | None:
    return os.environ.get("OUTCOMES_BENCH_POSTGRES_URL") or os.environ.get(
        "OUTCOMES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )


def _with_db(url: str, db: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def run_postgres(
    ctx: Context,
    sizes: list[int],
    n_writes: int,
    env: dict[str, str],
    version: tuple[float, float],
    reads: Callable[..., list[tuple[float, ...]]],
    sizes_apart: Callable[..., None],
) -> None:
    """The PostgreSQL measures; ``reads`` and ``sizes_apart`` are ``bench_scale``'s
    (``models --json`` and ``ledger stats --json`` against ``--version`` in wall and CPU
    time, and the largest N against the smallest)."""
    base = _url()
    try:
        import psycopg

        with psycopg.connect(base, connect_timeout=3):
            pass
    except Exception as exc:
        ctx.report("postgresql", 0, "", notes=f"skipped: {exc}")
        return
    url = _with_db(base, DB)
    per_size: dict[int, list[tuple[float, ...]]] = {}
    try:
        for n in sizes:
            _admin(base, f"DROP DATABASE IF EXISTS {DB}")
            _admin(base, f"CREATE DATABASE {DB}")
            store = PostgresStore(url)  # the schema, and the months the rows fall in
            store.create_partitions(T0, T0 + SPAN_S + 2 * 3600)
            store.close()
            t = time.perf_counter()
            with psycopg.connect(url) as conn:
                conn.execute(_GENERATE, {"t0": T0, "step": SPAN_S / n, "n": n})
                conn.execute(_SUPERSEDE, {})
            ctx.report(f"pg generate {n:,} by SQL", time.perf_counter() - t, "s")
            _bytes(ctx, url, n)
            store = PostgresStore(url, durable=False)
            t = time.perf_counter()
            rebuild_rollups(store)
            ctx.report(f"pg rebuild rollups {n:,}", n / (time.perf_counter() - t), "receipts/s")
            store.close()
            per_size[n] = reads(ctx, url, n, env, version, prefix="pg ")
        sizes_apart(ctx, per_size, prefix="pg ")
        _admin(base, f"DROP DATABASE IF EXISTS {DB}")
        _admin(base, f"CREATE DATABASE {DB}")
        _writes(ctx, url, n_writes)
    finally:
        _admin(base, f"DROP DATABASE IF EXISTS {DB}")


_RECEIPTS_BYTES = (
    "SELECT sum(pg_total_relation_size(inhrelid)), sum(pg_table_size(inhrelid)) "
    "FROM pg_inherits WHERE inhparent = 'receipts'::regclass"
)
_INDEX_BYTES = (
    # Each index of the partitioned table: the sum of its partitions' indexes.
    "SELECT p.relname, sum(pg_relation_size(h.inhrelid)) FROM pg_class AS p "
    "JOIN pg_index AS x ON x.indexrelid = p.oid JOIN pg_inherits AS h ON h.inhparent = p.oid "
    "WHERE x.indrelid = 'receipts'::regclass GROUP BY p.relname "
    # Indexes a partition has of its own (pg.0004's unique ids), summed by name suffix.
    "UNION ALL SELECT 'partitions_' || substring(c.relname FROM '[^_]+$'), "
    "sum(pg_relation_size(c.oid)) FROM pg_index AS x JOIN pg_class AS c "
    "ON c.oid = x.indexrelid JOIN pg_inherits AS t ON t.inhrelid = x.indrelid "
    "WHERE t.inhparent = 'receipts'::regclass AND NOT EXISTS "
    "(SELECT 1 FROM pg_inherits AS h WHERE h.inhrelid = x.indexrelid) GROUP BY 1 ORDER BY 2 DESC"
)


def _plain_bytes(conn: Any, cols: str) -> int:
    conn.execute(f"CREATE TABLE plain_receipts AS SELECT {cols} FROM receipts")
    conn.execute("VACUUM ANALYZE plain_receipts")
    size = int(conn.execute("SELECT pg_total_relation_size('plain_receipts')").fetchone()[0])
    conn.execute("DROP TABLE plain_receipts")
    return size


def _bytes(ctx: Context, url: str, n: int, what: str = "", schema: str | None = None) -> None:
    """Bytes per receipt on disk (every partition, indexes included) against a plain
    table of the same columns (in the order ``Receipt`` declares them) and rows without
    any index; the notes split ours into heap and indexes and give the plain table in
    the store's column order too."""
    import psycopg

    options = {"options": f"-c search_path={schema}"} if schema else {}
    cols = ", ".join(Receipt.__table__.column_names)
    with psycopg.connect(url, autocommit=True, **options) as conn:
        conn.execute("VACUUM ANALYZE receipts")
        ours, heap = map(int, conn.execute(_RECEIPTS_BYTES).fetchone())  # type: ignore[arg-type]
        rows = int(conn.execute("SELECT count(*) FROM receipts").fetchone()[0])  # type: ignore[index]
        indexes = conn.execute(_INDEX_BYTES).fetchall()
        plain = _plain_bytes(conn, cols)
        stored = conn.execute(
            "SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = 'receipts'::regclass AND attnum > 0 AND NOT attisdropped "
            "AND attname <> 'seq'"
        ).fetchone()[0]  # type: ignore[index]
        plain_ordered = _plain_bytes(conn, stored)
    split = ", ".join(f"{name} {size / rows:.1f}" for name, size in indexes)
    ctx.report(
        f"pg bytes/receipt{what} @{n:,}", ours / rows, "B", reference_name="plain table, no index",
        reference_value=plain / rows, target="<= 1.3x", passed=ours <= 1.3 * plain,
        notes=f"heap {heap / rows:.1f}; {split}; plain in the store's column order "
        f"{plain_ordered / rows:.1f} ({ours / plain_ordered:.2f}x)",
    )  # fmt: skip


def _writes(ctx: Context, url: str, n: int) -> None:
    """``Store.write`` against psycopg 3 ``executemany`` (pipeline mode) of the same rows
    into the same table: a store-made schema (partitioned, same indexes, its months
    created ahead), ``ON CONFLICT DO NOTHING``. The reference
    neither converts records nor maintains rollups nor looks up stored ids."""
    receipts = _receipts(n)
    # As the table stores them: ids as bytea since pg.0002 (store/_ids.py).
    rows = encode_rows([Receipt.__table__.to_row(r) for r in receipts], encode_ids_bytes)
    span = (receipts[0].timestamp, receipts[-1].timestamp + 1)
    store_s, raw_s, copy_s, binary_s = [], [], [], []
    store_cpu, raw_cpu, copy_cpu, binary_cpu = [], [], [], []
    for k in range(3):
        store = PostgresStore(url, schema=f"w{k}", durable=False)
        backend = _local_backend(store._writer())  # the writer connection's server process
        t, cpu = time.perf_counter(), time.process_time() + cpu_seconds(backend)
        for i in range(0, n, 1000):
            store.write(receipts[i : i + 1000])
        store_s.append(time.perf_counter() - t)
        store_cpu.append(time.process_time() + cpu_seconds(backend) - cpu if backend else 0.0)
        if k == 0:  # the ids outcomes makes (36 characters), not the generator's short ones
            _bytes(ctx, url, n, " (Store.write, own trace ids)", store.schema)
            _call_shaped_bytes(ctx, url, n, receipts)
        store.drop_schema()
        store.close()
        took, cpu = _raw(url, f"raw{k}", span, rows, copy=False)
        raw_s.append(took)
        raw_cpu.append(cpu)
        took, cpu = _raw(url, f"raw{k}", span, rows, copy=True)
        copy_s.append(took)
        copy_cpu.append(cpu)
        took, cpu = _raw(url, f"raw{k}", span, rows, copy=True, binary=True)
        binary_s.append(took)
        binary_cpu.append(cpu)
    ours, raw = n / statistics.median(store_s), n / statistics.median(raw_s)
    spread = ", ".join(f"{b / a:.2f}x" for a, b in zip(store_s, raw_s, strict=True))
    ctx.report(
        f"pg Store.write (COPY, rollups) ({n:,})", ours, "receipts/s",
        reference_name="psycopg 3 executemany, same table", reference_value=raw,
        target=">= 3x", passed=ours >= 3 * raw, notes=f"runs: {spread}",
    )  # fmt: skip
    if all(store_cpu) and all(raw_cpu):
        # On a shared machine wall time follows the load; the CPU both sides spend (this
        # process and the connection's server process) does much less.
        # (Own names: the raw COPY line below compares with the wall-time rate.)
        ours_cpu, raw_cpu_rate = n / statistics.median(store_cpu), n / statistics.median(raw_cpu)
        ctx.report(
            f"pg Store.write CPU, client + server ({n:,})", ours_cpu, "receipts/CPU-s",
            reference_name="psycopg 3 executemany, same table", reference_value=raw_cpu_rate,
            target=">= 3x", passed=ours_cpu >= 3 * raw_cpu_rate, notes="runs: " + ", ".join(
                f"{b / a:.2f}x" for a, b in zip(store_cpu, raw_cpu, strict=True)),
        )  # fmt: skip
    # The ceiling: raw COPY of the converted rows into the same table, no rollups.
    ctx.report(
        f"pg raw COPY, same table ({n:,})", n / statistics.median(copy_s), "receipts/s",
        reference_name="psycopg 3 executemany, same table", reference_value=raw,
        notes="runs: " + ", ".join(f"{b / a:.2f}x" for a, b in zip(copy_s, raw_s, strict=True)),
    )  # fmt: skip
    if all(copy_cpu) and all(raw_cpu):  # the ceiling in CPU: what 3x leaves the store
        ctx.report(
            f"pg raw COPY CPU, client + server ({n:,})", n / statistics.median(copy_cpu),
            "receipts/CPU-s", reference_name="psycopg 3 executemany, same table",
            reference_value=n / statistics.median(raw_cpu), notes="runs: " + ", ".join(
                f"{b / a:.2f}x" for a, b in zip(copy_cpu, raw_cpu, strict=True)),
        )  # fmt: skip
    # The same ceiling in the store's own format (binary, as store/_pg_write.py sends
    # it): text costs the client more and the server less (docs/scaling.md).
    ctx.report(
        f"pg raw binary COPY, same table ({n:,})", n / statistics.median(binary_s),
        "receipts/s", reference_name="psycopg 3 executemany, same table", reference_value=raw,
        notes="runs: " + ", ".join(f"{b / a:.2f}x" for a, b in zip(binary_s, raw_s, strict=True)),
    )  # fmt: skip
    if all(binary_cpu) and all(raw_cpu):
        ctx.report(
            f"pg raw binary COPY CPU, client + server ({n:,})",
            n / statistics.median(binary_cpu), "receipts/CPU-s",
            reference_name="psycopg 3 executemany, same table",
            reference_value=n / statistics.median(raw_cpu), notes="runs: " + ", ".join(
                f"{b / a:.2f}x" for a, b in zip(binary_cpu, raw_cpu, strict=True)),
        )  # fmt: skip


def _call_shaped_bytes(ctx: Context, url: str, n: int, receipts: list[Receipt]) -> None:
    """Bytes per receipt of the same receipts written as the tracker writes a call's
    receipt: its receipt id is its trace id (inference/_lifecycle.py), so the partial
    trace index leaves it out (store/_pg_compact.py). ``_receipts`` gives each receipt
    a trace id of its own, as imports and other writers of ``Store.write`` may: the
    line above, the trace index's worst case."""
    shaped = [msgspec.structs.replace(r, trace_id=r.receipt_id) for r in receipts]
    store = PostgresStore(url, schema="calls", durable=False)
    for i in range(0, n, 1000):
        store.write(shaped[i : i + 1000])
    _bytes(ctx, url, n, " (Store.write, trace = receipt id)", store.schema)
    store.drop_schema()
    store.close()


def _local_backend(conn: Any) -> int:
    """The pid of ``conn``'s server process when it runs on this machine (its CPU is
    then read from ``/proc``), else 0."""
    pid = int(conn.pgconn.backend_pid)
    try:
        local = Path(f"/proc/{pid}/comm").read_text().startswith("postgres")
    except OSError:
        local = False
    return pid if local else 0


def raw_target(
    url: str, schema: str, span: tuple[float, float], width: int, *, binary: bool
) -> tuple[Any, str, str]:
    """A fresh store-made ``schema`` (its months over ``span`` created) for rows inserted
    by hand: the column types of the store's binary ``COPY`` (``None`` unless
    ``binary``), the column list and the ``INSERT`` of ``width`` values."""
    store = PostgresStore(url, schema=schema, durable=False)
    store.create_partitions(*span)
    with store._writer().cursor() as cur:
        types = copy_types(cur) if binary else None
    store.close()
    cols = ", ".join(Receipt.__table__.column_names)
    sql = (
        f"INSERT INTO {schema}.receipts ({cols}) VALUES ({', '.join(['%s'] * width)}) "
        # No conflict target: the unique indexes are the partitions' own (pg.0004).
        "ON CONFLICT DO NOTHING"
    )
    return types, cols, sql


def _raw(
    url: str,
    schema: str,
    span: tuple[float, float],
    rows: list[Any],
    *,
    copy: bool,
    binary: bool = False,
) -> tuple[float, float]:
    """Seconds to insert ``rows`` by hand into a fresh store-made ``schema`` (batches of
    1000, one transaction each): psycopg 3 ``executemany`` or ``COPY`` (as text, or
    ``binary`` with the column types the store's ``COPY`` sets); and the CPU seconds
    this process and the server process spent (0 when the server is remote)."""
    import psycopg

    types, cols, sql = raw_target(url, schema, span, len(rows[0]), binary=binary)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        backend = _local_backend(conn)
        t, cpu = time.perf_counter(), time.process_time() + cpu_seconds(backend)
        for i in range(0, len(rows), 1000):
            with conn.transaction(), conn.cursor() as cur:
                if not copy:
                    cur.executemany(sql, rows[i : i + 1000])
                    continue
                form = " (FORMAT BINARY)" if types else ""
                with cur.copy(f"COPY {schema}.receipts ({cols}) FROM STDIN{form}") as out:
                    if types:
                        out.set_types(types)
                    for row in rows[i : i + 1000]:
                        out.write_row(row)
        took = time.perf_counter() - t
        cpu = time.process_time() + cpu_seconds(backend) - cpu if backend else 0.0
        conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return took, cpu
