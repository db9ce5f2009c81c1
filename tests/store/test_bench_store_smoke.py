"""The store benchmark runs end to end at its quick size (timings are not asserted)."""

from __future__ import annotations

import pytest
from benchmarks import bench_store
from benchmarks._harness import Context


@pytest.mark.slow
def test_store_benchmark_quick_run_reports_the_writer_against_raw_executemany() -> None:
    ctx = Context(quick=True, current="store")
    bench_store.run(ctx)
    by_name = {r.name: r for r in ctx.results}
    writer = by_name["writer -> SQLite receipts/s"]
    assert writer.value > 0
    assert writer.reference_value is not None
    assert writer.reference_value > 0
    assert "ledger export receipts/s" in by_name
