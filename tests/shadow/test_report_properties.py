"""Invariants of the calibration report on arbitrary data, and SQL == streamed."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes._ids import new_id
from outcomes.shadow import (
    ShadowConfig,
    ShadowObservation,
    ShadowRecorder,
    calibration_report,
)
from outcomes.store import MemoryStore, SQLiteStore

from .test_report import assert_paths_agree

Row = tuple[str, str, float | None, float, bool | None]
score = st.one_of(st.sampled_from([0.0, 1.0, 0.5, 0.1, 0.9]), st.floats(0, 1))
row = st.tuples(
    st.sampled_from(["a", "b"]),
    st.sampled_from(["x", "y"]),
    st.one_of(st.none(), score),
    score,
    st.one_of(st.none(), st.booleans()),
)


def _records(
    rows: list[Row],
) -> list[ShadowObservation]:
    return [
        ShadowObservation(new_id(), f"m{i}", ns, src, c, d, {}, None, 1.0 + i, o)
        for i, (ns, src, c, d, o) in enumerate(rows)
    ]


@settings(max_examples=80, deadline=None)
@given(rows=st.lists(row, max_size=120))
def test_report_invariants(rows: list[Row]) -> None:
    store = MemoryStore()
    ShadowRecorder(store, config=ShadowConfig())
    store.write(_records(rows))
    groups = calibration_report(store, min_labeled=5)
    assert sum(g.count for g in groups) == len(rows)
    for g in groups:
        assert g.paired <= g.labeled <= g.count
        assert sum(g.derived.histogram) == g.derived.count == g.count
        assert sum(g.caller.histogram) == g.caller.count == g.count - g.missing_caller
        for cal in (g.caller_calibration, g.derived_calibration):
            if g.paired == 0:
                assert cal is None
                continue
            assert cal is not None
            assert 0.0 <= cal.brier <= 1.0
            assert 0.0 <= cal.ece <= 1.0
            assert cal.log_loss >= 0.0
            assert sum(b.count for b in cal.reliability) == g.paired
        if g.paired < 5:
            assert g.verdict == "insufficient_data"
        else:
            assert g.verdict in {"switch", "keep", "recalibrate"}
            assert g.brier_diff_interval is not None
            assert g.brier_diff_interval[0] <= g.brier_diff_interval[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=80))
def test_sql_and_streamed_paths_agree(
    rows: list[Row],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "p.db")
        try:
            ShadowRecorder(store, config=ShadowConfig())
            store.write(_records(rows))
            assert_paths_agree(store)
        finally:
            store.close()
