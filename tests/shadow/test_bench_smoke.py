"""The shadow benchmark runs end to end at its quick size (timings are not asserted)."""

from __future__ import annotations

import pytest
from benchmarks import bench_shadow
from benchmarks._harness import Context


@pytest.mark.slow
def test_shadow_benchmark_quick_run_reports_every_target() -> None:
    ctx = Context(quick=True, current="shadow")
    bench_shadow.run(ctx)
    names = [r.name for r in ctx.results]
    assert len(names) == 4
    assert all(r.reference_value for r in ctx.results)
    assert all(r.target for r in ctx.results)
