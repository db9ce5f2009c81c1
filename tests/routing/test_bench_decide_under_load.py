"""The decide-under-load benchmark runs end to end at its quick size (timings are not
asserted: they depend on the machine; the attribution of slow decisions is)."""

from __future__ import annotations

import pytest
from benchmarks import bench_decide_under_load
from benchmarks._harness import Context


@pytest.mark.slow
def test_decide_under_load_quick_run_reports_each_measure_with_its_reference() -> None:
    ctx = Context(quick=True, current="decide_under_load")
    bench_decide_under_load.run(ctx)
    assert len(ctx.results) == 5
    assert all(r.reference_value for r in ctx.results)
    loaded = ctx.results[0]
    assert "recorder" in loaded.notes
    assert "snapshot pickups" in loaded.notes
