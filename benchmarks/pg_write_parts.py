"""Where a PostgreSQL write's time goes: client CPU, server CPU and wall per batch.

``python -m benchmarks.pg_write_parts DB_URL [N [REPEATS]]`` writes N receipts
(default 20,000; ``benchmarks.bench_store._receipts``) in batches of 1000, REPEATS times
(default 5) each way, into fresh store-made schemas of DB_URL (a database of its own:
the schemas are dropped at the end):

- ``Store.write`` (``COPY``, the stored-id look-up, rollups in the same transaction);
- psycopg 3 ``executemany`` of the converted rows, ``ON CONFLICT DO NOTHING`` (the
  issue's reference);
- a bare binary ``COPY`` of the converted rows (the ceiling: no conversion, no look-up,
  no rollups);
- the same bare ``COPY`` with 5 ms of client work after its rows and before its end, and
  before it: whether the server takes the rows while the client works (if it does, the
  first adds less than 5 ms of wall time).

It prints the medians per batch of 1000: the client's CPU (``process_time``), the server
backend's (``/proc/<pid>/schedstat``; 0 when the server is not on this machine) and the
wall time, and each writer's wall and CPU ratio to ``executemany``. Interleaved per
repeat, so that a busy spell of a shared machine slows every writer alike.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from benchmarks._scale_pg import _local_backend, raw_target
from benchmarks.bench_store import _receipts
from outcomes.records import Receipt
from outcomes.store import PostgresStore
from outcomes.store._ids import encode_ids_bytes, encode_rows

BATCH = 1000
BINARY = "(FORMAT BINARY)"


def _server_ms(pid: int) -> float:
    if not pid:
        return 0.0
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e6


def _busy(ms: float) -> None:
    end = time.perf_counter() + ms / 1000.0
    while time.perf_counter() < end:
        pass


def _timed(pid: int, write: Callable[[], None]) -> tuple[float, float, float]:
    c, s, w = time.process_time(), _server_ms(pid), time.perf_counter()
    write()
    return (
        (time.process_time() - c) * 1000.0,
        _server_ms(pid) - s,
        (time.perf_counter() - w) * 1000.0,
    )


def _store(url: str, schema: str, receipts: list[Receipt]) -> tuple[float, float, float]:
    store = PostgresStore(url, schema=schema, durable=False)
    try:

        def write() -> None:
            for i in range(0, len(receipts), BATCH):
                store.write(receipts[i : i + BATCH])

        return _timed(_local_backend(store._writer()), write)
    finally:
        store.drop_schema()
        store.close()


def _by_hand(
    url: str, schema: str, span: tuple[float, float], rows: list[Any], how: str
) -> tuple[float, float, float]:
    types, cols, insert = raw_target(url, schema, span, len(rows[0]), binary=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")

        def write() -> None:
            for i in range(0, len(rows), BATCH):
                with conn.transaction(), conn.cursor() as cur:
                    if how == "executemany":
                        cur.executemany(insert, rows[i : i + BATCH])
                        continue
                    if how == "busy before":
                        _busy(5.0)
                    with cur.copy(
                        f"COPY {schema}.receipts ({cols}) FROM STDIN (FORMAT BINARY)"
                    ) as out:
                        out.set_types(types)
                        for row in rows[i : i + BATCH]:
                            out.write_row(row)
                        if how == "busy inside":
                            _busy(5.0)

        try:
            return _timed(_local_backend(conn), write)
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    url = argv[0]
    n = int(argv[1]) if len(argv) > 1 else 20_000
    repeats = int(argv[2]) if len(argv) > 2 else 5
    receipts = _receipts(n)
    rows = encode_rows([Receipt.__table__.to_row(r) for r in receipts], encode_ids_bytes)
    span = (receipts[0].timestamp, receipts[-1].timestamp + 1)
    ways = ["Store.write", "executemany", "bare COPY", "busy inside", "busy before"]
    got: dict[str, list[tuple[float, float, float]]] = {w: [] for w in ways}
    for k in range(repeats):
        got["Store.write"].append(_store(url, f"parts_store{k}", receipts))
        for how in ways[1:]:
            schema = f"parts_{how.replace(' ', '_').lower()}{k}"
            got[how].append(_by_hand(url, schema, span, rows, how))
    batches = n / BATCH
    med = {
        w: tuple(statistics.median(x[i] for x in v) / batches for i in range(3))
        for w, v in got.items()
    }
    ref_cpu = med["executemany"][0] + med["executemany"][1]
    print(f"per batch of {BATCH} (medians of {repeats}), ms: client CPU / server CPU / wall")
    for w, (client, server, wall) in med.items():
        print(
            f"  {w:12s} {client:6.1f} / {server:6.1f} / {wall:6.1f}   executemany's wall "
            f"{med['executemany'][2] / wall:.2f}x, CPU {ref_cpu / (client + server):.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
