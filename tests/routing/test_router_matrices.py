"""The development matrices are what their names say (generated, never stored)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from benchmarks.router_matrices import DRIFT_DROP, NEWCOMER_EDGE, family, rb_close, rb_no_top2

from outcomes.routing._matrix import Matrix, load_matrix
from tests.conftest import require_datasets


def _q(m: Matrix) -> np.ndarray:
    return np.asarray([r.quality for r in m.rows])


def test_synthetic_matrices_have_the_promised_shape(tmp_path: Path) -> None:
    fam = family(3, quick=True, routerbench=tmp_path / "absent.jsonl.gz")
    assert set(fam) == {"gaps", "gaps-close", "drift", "newcomer", "long", "blind"}
    gaps = fam["gaps"]()
    assert (len(gaps.models), len(gaps.tasks), len(gaps.rows)) == (7, 10, 20_000)
    assert not gaps.ordered
    drift = fam["drift"]()
    assert drift.ordered
    q = _q(drift)
    half = len(q) // 2
    tasks = np.asarray([r.task for r in drift.rows])
    for t in drift.tasks:
        first = q[:half][tasks[:half] == t].mean(axis=0)
        second = q[half:][tasks[half:] == t].mean(axis=0)
        best = int(np.argmax(first))
        assert first[best] - second[best] > DRIFT_DROP - 0.05  # the best got worse
        assert np.argmax(second) != best  # and lost the lead
    new = fam["newcomer"]()
    avail = np.asarray([r.available for r in new.rows])
    assert not avail[: len(avail) // 2, -1].any()
    assert avail[len(avail) // 2 :, -1].all()
    late = _q(new)[len(avail) // 2 :]
    assert late[:, -1].mean() > late[:, :-1].mean(axis=0).max() + NEWCOMER_EDGE / 2
    assert len(fam["long"]().rows) == 20_000


def test_routerbench_derived_matrices() -> None:
    rb = load_matrix(require_datasets() / "routerbench" / "routerbench_0shot.jsonl.gz")
    acc = _q(rb).mean(axis=0)
    top2 = {rb.models[i] for i in np.argsort(-acc)[:2]}
    sub = rb_no_top2(rb)
    assert len(sub.models) == len(rb.models) - 2
    assert not top2 & set(sub.models)
    close = rb_close(rb)
    spread = np.ptp(_q(close).mean(axis=0))
    assert len(close.models) == 4
    assert spread <= np.ptp(np.sort(acc)[:4]) + 1e-12  # closer than e.g. the 4 weakest
    fam = family(0)
    assert {"rb-no-top2", "rb-close", "rb-mbpp", "rb-arc_challenge", "rb-winogrande"} <= set(fam)
    assert {r.task for r in fam["rb-mbpp"]().rows} == {"mbpp"}


@pytest.mark.slow
def test_replay_benchmark_quick_run_reports_against_reading_the_file() -> None:
    from benchmarks import bench_replay
    from benchmarks._harness import Context

    require_datasets()
    ctx = Context(quick=True, current="replay")
    bench_replay.run(ctx)
    result, cpu = ctx.results
    assert result.unit == "s"
    assert result.reference_value is not None
    assert 0 < result.reference_value < result.value
    assert cpu.unit == "s"
    assert cpu.value > 0
