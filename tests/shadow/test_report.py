"""Calibration report: verdicts on synthetic data, metrics against an independent numpy
implementation, SQL and Python paths agreeing, on every store."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from outcomes._ids import new_id
from outcomes.shadow import (
    MIN_LABELED,
    ShadowConfig,
    ShadowObservation,
    ShadowRecorder,
    _report,
    calibration_report,
    report_json,
)
from outcomes.store import SQLiteStore, Store

from .conftest import NOW


def synthetic(
    n: int,
    *,
    derived_better: bool,
    seed: int = 1,
    namespace: str = "ns",
    source: str = "user",
    labeled_share: float = 1.0,
) -> list[ShadowObservation]:
    """True probability p; the good score is p with small noise, the bad one overconfident."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n)
    y = rng.random(n) < p
    good = np.clip(p + rng.normal(0, 0.03, n), 0, 1)
    bad = np.clip(p + 0.3, 0, 1)
    caller, derived = (bad, good) if derived_better else (good, bad)
    labeled = rng.random(n) < labeled_share
    return [
        ShadowObservation(
            id=new_id(),
            memory_id=f"m{i}",
            namespace=namespace,
            source=source,
            caller_confidence=float(caller[i]),
            derived_confidence=float(derived[i]),
            signals={},
            recall_outcome=None,
            observed_at=NOW + i,
            outcome=bool(y[i]) if labeled[i] else None,
        )
        for i in range(n)
    ]


def _migrated(store: Store) -> Store:
    ShadowRecorder(store, config=ShadowConfig())
    return store


def test_derived_truly_better_gives_switch(store: Store) -> None:
    _migrated(store).write(synthetic(1_500, derived_better=True))
    (group,) = calibration_report(store)
    assert group.verdict == "switch", group.reason
    assert group.brier_diff_interval is not None
    assert group.brier_diff_interval[1] < 0
    assert group.derived_calibration
    assert group.caller_calibration
    assert group.derived_calibration.ece < group.caller_calibration.ece


def test_derived_worse_gives_keep(store: Store) -> None:
    _migrated(store).write(synthetic(1_500, derived_better=False))
    (group,) = calibration_report(store)
    assert group.verdict == "keep"
    assert group.brier_diff_interval is not None
    assert group.brier_diff_interval[0] > 0
    assert "higher" in group.reason


def test_twenty_labeled_rows_give_insufficient_data(store: Store) -> None:
    rows = synthetic(20, derived_better=True)
    _migrated(store).write(rows)
    (group,) = calibration_report(store)
    assert group.labeled == 20
    assert group.verdict == "insufficient_data"
    assert str(MIN_LABELED) in group.reason


def test_unlabeled_rows_count_but_do_not_decide(store: Store) -> None:
    _migrated(store).write(synthetic(600, derived_better=True, labeled_share=0.1))
    (group,) = calibration_report(store)
    assert group.count == 600
    assert group.caller.count == 600
    assert group.labeled < MIN_LABELED
    assert group.verdict == "insufficient_data"


def test_missing_caller_confidence_is_excluded_not_counted_as_one(store: Store) -> None:
    rows = synthetic(400, derived_better=True)
    rows = [
        r if i % 4 else dataclasses.replace(r, caller_confidence=None) for i, r in enumerate(rows)
    ]
    _migrated(store).write(rows)
    (group,) = calibration_report(store)
    assert group.missing_caller == 100
    assert group.caller.count == 300
    assert group.paired == 300
    present = [r.caller_confidence for r in rows if r.caller_confidence is not None]
    assert group.caller.mean == pytest.approx(float(np.mean(present)))


def reference_metrics(rows: list[ShadowObservation], column: str) -> dict[str, object]:
    """An independent numpy implementation of the report's definitions."""
    paired = [r for r in rows if r.outcome is not None and r.caller_confidence is not None]
    s = np.array([getattr(r, column) for r in paired], dtype=float)
    y = np.array([1.0 if r.outcome else 0.0 for r in paired])
    # Bins: quantile bins over score buckets of width 0.001 (a bucket is never split);
    # a boundary follows bucket j when floor(cumulative * 10 / n) increases there.
    fine = np.minimum(np.floor(s * 1000), 999).astype(int)
    uniq, counts = np.unique(fine, return_counts=True)
    reached = np.floor(np.cumsum(counts) * 10 / len(s))
    boundary = np.diff(np.concatenate([[0], reached])) > 0
    bin_of_bucket = np.concatenate([[0], np.cumsum(boundary)[:-1]])
    bin_of_row = bin_of_bucket[np.searchsorted(uniq, fine)]
    bins = [np.flatnonzero(bin_of_row == k) for k in np.unique(bin_of_row)]
    c = np.clip(s, 1e-15, 1 - 1e-15)
    everything = np.array([v for r in rows if (v := getattr(r, column)) is not None])
    hist, _ = np.histogram(everything, bins=np.linspace(0, 1, 11))
    return {
        "brier": float(np.mean((s - y) ** 2)),
        "log_loss": float(-np.mean(y * np.log(c) + (1 - y) * np.log(1 - c))),
        "ece": float(sum(len(b) / len(s) * abs(s[b].mean() - y[b].mean()) for b in bins)),
        "curve": [(len(b), float(s[b].mean()), float(y[b].mean())) for b in bins],
        "median": float(np.median(everything)),
        "mean": float(np.mean(everything)),
        "hist": [int(h) for h in hist],
        "s": s,
        "bins": bins,
    }


def test_metrics_match_an_independent_implementation(store: Store) -> None:
    rows = synthetic(1_003, derived_better=True, seed=5, labeled_share=0.8)
    _migrated(store).write(rows)
    (group,) = calibration_report(store)
    for name, cal, stats in (
        ("caller_confidence", group.caller_calibration, group.caller),
        ("derived_confidence", group.derived_calibration, group.derived),
    ):
        ref = reference_metrics(rows, name)
        assert cal is not None
        assert cal.brier == pytest.approx(ref["brier"], rel=1e-9)
        assert cal.log_loss == pytest.approx(ref["log_loss"], rel=1e-9)
        assert cal.ece == pytest.approx(ref["ece"], rel=1e-9)
        got = [(b.count, b.mean_score, b.observed_rate) for b in cal.reliability]
        curve = ref["curve"]
        assert isinstance(curve, list)
        assert [g[0] for g in got] == [c[0] for c in curve]
        assert [v for g in got for v in g[1:]] == pytest.approx(
            [v for c in curve for v in c[1:]], rel=1e-9
        )
        assert stats.median == pytest.approx(ref["median"], abs=1e-3)
        assert stats.mean == pytest.approx(ref["mean"], rel=1e-9)
        assert list(stats.histogram) == ref["hist"]
    paired = [r for r in rows if r.outcome is not None]
    y = np.array([1.0 if r.outcome else 0.0 for r in paired])
    d = (np.array([r.derived_confidence for r in paired]) - y) ** 2 - (
        np.array([r.caller_confidence for r in paired]) - y
    ) ** 2
    assert group.brier_diff_mean == pytest.approx(float(d.mean()), rel=1e-9)
    # An independent percentile bootstrap with another seed agrees within Monte Carlo noise.
    rng = np.random.default_rng(99)
    means = d[rng.integers(0, len(d), size=(4_000, len(d)))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    assert group.interval_method == "paired_bootstrap"
    assert group.brier_diff_interval is not None
    width = high - low
    assert group.brier_diff_interval[0] == pytest.approx(low, abs=0.08 * width)
    assert group.brier_diff_interval[1] == pytest.approx(high, abs=0.08 * width)


def test_hand_computed_small_group(store: Store) -> None:
    # Two rows: caller (0.8, y=1), (0.4, y=0); derived (0.6, y=1), (0.1, y=0).
    rows = [
        ShadowObservation(new_id(), "a", "ns", "s", 0.8, 0.6, {}, None, NOW, True),
        ShadowObservation(new_id(), "b", "ns", "s", 0.4, 0.1, {}, None, NOW + 1, False),
    ]
    _migrated(store).write(rows)
    (g,) = calibration_report(store, min_labeled=1)
    assert g.caller_calibration
    assert g.derived_calibration
    assert g.caller_calibration.brier == pytest.approx((0.2**2 + 0.4**2) / 2)
    assert g.derived_calibration.brier == pytest.approx((0.4**2 + 0.1**2) / 2)
    assert g.caller_calibration.log_loss == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    # Two rows in different buckets, ten bins: one row per bin; ECE = mean |s - y|.
    assert g.caller_calibration.ece == pytest.approx((0.2 + 0.4) / 2)
    assert g.derived_calibration.ece == pytest.approx((0.4 + 0.1) / 2)
    assert g.caller.median == pytest.approx(0.6)
    assert g.caller.histogram == (0, 0, 0, 0, 1, 0, 0, 0, 1, 0)
    assert g.brier_diff_mean == pytest.approx(((0.16 - 0.04) + (0.01 - 0.16)) / 2)


def test_ece_of_a_perfect_score_matches_bernoulli_simulation(store: Store) -> None:
    rows = synthetic(800, derived_better=True, seed=3)
    _migrated(store).write(rows)
    (group,) = calibration_report(store)
    assert group.derived_calibration is not None
    ref = reference_metrics(rows, "derived_confidence")
    s = ref["s"]
    assert isinstance(s, np.ndarray)
    rng = np.random.default_rng(11)
    sims = []
    for _ in range(1_000):
        y = (rng.random(len(s)) < s).astype(float)
        sims.append(sum(len(b) / len(s) * abs(s[b].mean() - y[b].mean()) for b in ref["bins"]))  # type: ignore[attr-defined]
    assert group.derived_calibration.ece_perfect == pytest.approx(float(np.mean(sims)), rel=0.05)


def test_groups_by_namespace_and_source_and_filters(store: Store) -> None:
    _migrated(store).write(
        synthetic(300, derived_better=True, namespace="a", source="user", seed=1)
        + synthetic(300, derived_better=False, namespace="a", source="tool", seed=2)
        + synthetic(50, derived_better=True, namespace="b", source="user", seed=3)
    )
    groups = calibration_report(store)
    assert [(g.namespace, g.source, g.count) for g in groups] == [
        ("a", "tool", 300),
        ("a", "user", 300),
        ("b", "user", 50),
    ]
    only_b = calibration_report(store, namespace="b")
    assert [(g.namespace, g.source) for g in only_b] == [("b", "user")]
    assert calibration_report(store, namespace="none") == []


def test_report_is_reproducible_and_equal_across_paths(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    store = SQLiteStore(tmp_path / "o.db")
    try:
        _migrated(store).write(synthetic(20_500, derived_better=True, seed=8))
        first = report_json(calibration_report(store))
        assert report_json(calibration_report(store)) == first
        assert first[0]["interval_method"] == "normal"
        assert_paths_agree(store)
    finally:
        store.close()


def assert_paths_agree(store: Store) -> None:
    """The report's SQL and streamed paths find the same groups, counts, sums per fine
    bucket, cross-fitting and bootstrap rows in ``store``."""
    sql = _report._sql_groups(store, None)
    streamed = _report._streamed_groups(store, None)
    assert set(sql) == set(streamed)
    for key, a in sql.items():
        b = streamed[key]
        assert (a.count, a.labeled, a.paired, a.missing_caller) == (
            b.count,
            b.labeled,
            b.paired,
            b.missing_caller,
        )
        assert a.diff_sum == pytest.approx(b.diff_sum, rel=1e-9, abs=1e-12)
        assert (a.crossfit is None) == (b.crossfit is None)
        if a.crossfit is not None and b.crossfit is not None:
            assert a.crossfit.brier == pytest.approx(b.crossfit.brier, rel=1e-9)
            assert a.crossfit.vs_derived_sum == pytest.approx(
                b.crossfit.vs_derived_sum, rel=1e-9, abs=1e-12
            )
        assert (a.rows is None) == (b.rows is None)
        if a.rows is not None and b.rows is not None:
            for column, values in a.rows.items():
                assert list(values) == list(b.rows[column])
        for name in ("caller", "derived"):
            assert sorted(a.fine[name]) == sorted(b.fine[name])
            for k, fa in a.fine[name].items():
                fb = b.fine[name][k]
                assert (fa.count, fa.n) == (fb.count, fb.n)
                assert fa.sum_y == pytest.approx(fb.sum_y)
                assert fa.brier == pytest.approx(fb.brier, rel=1e-9, abs=1e-12)
                assert fa.logl == pytest.approx(fb.logl, rel=1e-9, abs=1e-9)


def test_json_has_the_documented_keys(store: Store) -> None:
    _migrated(store).write(synthetic(300, derived_better=True))
    (doc,) = report_json(calibration_report(store))
    for key in (
        "namespace",
        "source",
        "count",
        "labeled",
        "brier",
        "ece",
        "brier_diff_interval",
        "verdict",
    ):
        assert key in doc
    assert set(doc["brier"]) == {"caller", "derived"}
    assert set(doc["ece"]) == {"caller", "derived"}
    low, high = doc["brier_diff_interval"]
    assert low <= high
    assert len(doc["reliability"]["derived"]) == 10
    # The caller's score is 1.0 on many rows: equal scores share one bin, so fewer bins.
    assert len(doc["reliability"]["caller"]) < 10
    assert sum(b["count"] for b in doc["reliability"]["caller"]) == doc["paired"]
