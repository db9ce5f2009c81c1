"""The inference benchmark's raw fill matches the receipts table (timings are not asserted)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from benchmarks import bench_inference


@pytest.mark.slow
def test_inference_benchmark_fill_writes_every_row(tmp_path: Path) -> None:
    path = tmp_path / "fill.db"
    bench_inference._fill(path, 1_000)
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("SELECT count(*) FROM receipts").fetchone()
        signal_rows = "SELECT count(*) FROM receipts WHERE source = 'signal'"
        (signals,) = conn.execute(signal_rows).fetchone()
    assert count == 1_000
    assert signals == 200
