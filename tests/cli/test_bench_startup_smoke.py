from __future__ import annotations

from benchmarks import bench_startup
from benchmarks._harness import Context


def test_the_startup_benchmark_runs_and_reports_ratios() -> None:
    ctx = Context(quick=True)
    ctx.current = "startup"
    bench_startup.run(ctx)
    assert len(ctx.results) == 7
    assert all(r.ratio is not None and r.ratio > 0 for r in ctx.results)
