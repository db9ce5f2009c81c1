"""Verdicts that see discrimination: the base-rate trap, recalibration, AUC and the Brier
decomposition against independent implementations, on every store."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from benchmarks.eval_calibration import base_rate_trap, observations, shifted_trap
from scipy.optimize import isotonic_regression
from scipy.special import expit, logit

from outcomes.shadow import (
    Recalibration,
    ShadowConfig,
    ShadowObservation,
    ShadowRecorder,
    _report,
    calibration_report,
    report_json,
)
from outcomes.store import MemoryStore, SQLiteStore, Store

from .test_report import reference_metrics, synthetic


def _write(store: Store, rows: list[ShadowObservation]) -> Store:
    ShadowRecorder(store, config=ShadowConfig())
    store.write(rows)
    return store


@pytest.mark.parametrize("seed", range(10))
def test_a_constant_at_the_base_rate_never_wins_against_a_caller_that_ranks(seed: int) -> None:
    (group,) = calibration_report(_write(MemoryStore(), base_rate_trap(600, seed)))
    assert group.brier_diff_interval is not None
    assert group.brier_diff_interval[1] < 0  # the constant has the lower Brier score
    assert group.derived_calibration is not None
    assert group.derived_calibration.auc is not None
    assert group.derived_calibration.auc.value == 0.5
    assert group.verdict == "recalibrate", group.reason
    assert group.recalibration is not None
    assert group.recalibration.brier < 0.02


@pytest.mark.parametrize("seed", range(10))
def test_base_rate_trap_with_random_outcomes_never_gives_switch(seed: int) -> None:
    (small,) = calibration_report(_write(MemoryStore(), shifted_trap(300, seed)))
    assert small.verdict != "switch", small.reason
    (large,) = calibration_report(_write(MemoryStore(), shifted_trap(4_000, 100 + seed)))
    assert large.verdict == "recalibrate", large.reason


def test_without_ranking_power_a_lower_brier_keeps_the_caller_and_says_why() -> None:
    # Neither score ranks: the caller is noise around 0.7, derived a constant at the
    # base rate 0.3. The constant's Brier is lower, by the base rate alone.
    rng = np.random.default_rng(4)
    y = rng.random(1_000) < 0.3
    caller = np.clip(0.7 + rng.normal(0, 0.05, 1_000), 0, 1)
    (group,) = calibration_report(
        _write(MemoryStore(), observations(caller, np.full(1_000, 0.3), y))
    )
    assert group.verdict == "keep"
    assert "does not rank" in group.reason
    assert "base rate" in group.reason


def test_equally_good_scores_give_keep() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.95, 1_500)
    y = rng.random(1_500) < p
    caller = np.clip(p + rng.normal(0, 0.03, 1_500), 0, 1)
    derived = np.clip(p + rng.normal(0, 0.03, 1_500), 0, 1)
    (group,) = calibration_report(_write(MemoryStore(), observations(caller, derived, y)))
    assert group.verdict == "keep"
    assert "no evidence" in group.reason


def test_a_well_ranked_overconfident_caller_is_recalibrated_even_against_a_good_derived() -> None:
    # Derived is the true probability with noise (ranks and is calibrated); the caller is
    # the true probability pushed to the extremes, so only its calibration is wrong.
    rng = np.random.default_rng(11)
    p = rng.uniform(0.02, 0.98, 6_000)
    y = rng.random(6_000) < p
    caller = expit(3 * logit(p))
    derived = np.clip(p + rng.normal(0, 0.15, 6_000), 0, 1)
    (group,) = calibration_report(_write(MemoryStore(), observations(caller, derived, y)))
    assert group.verdict == "recalibrate", group.reason
    r = group.recalibration
    assert r is not None
    assert r.vs_caller_interval[1] < 0
    assert r.vs_derived_interval[1] < 0
    # The calibration learned the inverse of the distortion: caller 0.9 means about 0.68.
    assert r.apply(float(expit(3 * logit(0.68)))) == pytest.approx(0.68, abs=0.06)


@pytest.mark.parametrize("derived_better", [True, False])
def test_the_existing_verdicts_hold(store: Store, derived_better: bool) -> None:
    (group,) = calibration_report(_write(store, synthetic(1_500, derived_better=derived_better)))
    assert group.verdict == ("switch" if derived_better else "keep")


def _ref_auc(s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """AUC and DeLong variance from midranks (Sun & Xu), on scores resolved to 0.001."""
    from scipy.stats import rankdata

    s = np.minimum(np.floor(s * 1000), 999)
    pos, neg = s[y == 1], s[y == 0]
    m, n = len(pos), len(neg)
    r_all = rankdata(np.concatenate([pos, neg]))
    r_pos, r_neg = rankdata(pos), rankdata(neg)
    auc = (r_all[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (r_all[:m] - r_pos) / n
    v01 = 1 - (r_all[m:] - r_neg) / m
    var = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n
    return float(auc), float(var)


def test_auc_and_decomposition_match_independent_implementations(store: Store) -> None:
    rows = synthetic(1_003, derived_better=True, seed=5, labeled_share=0.8)
    (group,) = calibration_report(_write(store, rows))
    paired = [r for r in rows if r.outcome is not None and r.caller_confidence is not None]
    y = np.array([1.0 if r.outcome else 0.0 for r in paired])
    for name, cal in (
        ("caller_confidence", group.caller_calibration),
        ("derived_confidence", group.derived_calibration),
    ):
        assert cal is not None
        assert cal.auc is not None
        assert cal.decomposition is not None
        s = np.array([getattr(r, name) for r in paired])
        value, var = _ref_auc(s, y)
        assert cal.auc.value == pytest.approx(value, rel=1e-9)
        half = 1.959963984540054 * np.sqrt(var)
        assert cal.auc.interval == pytest.approx((value - half, min(1.0, value + half)))
        bins = reference_metrics(rows, name)["bins"]
        base = y.mean()
        rel = sum(len(b) * (s[b].mean() - y[b].mean()) ** 2 for b in bins) / len(y)  # type: ignore[attr-defined]
        res = sum(len(b) * (y[b].mean() - base) ** 2 for b in bins) / len(y)  # type: ignore[attr-defined]
        assert cal.decomposition.reliability == pytest.approx(rel, rel=1e-9)
        assert cal.decomposition.resolution == pytest.approx(res, rel=1e-9)
        assert cal.decomposition.uncertainty == pytest.approx(base * (1 - base))
        # Murphy's identity, up to the scores' spread within bins (small).
        assert cal.brier == pytest.approx(rel - res + base * (1 - base), abs=0.01)


def reference_cross_fit(rows: list[ShadowObservation]) -> dict[str, np.ndarray]:
    """Per-row recalibrated caller scores: isotonic fits (scipy) on the other folds'
    bucket means, folds by CRC-32 of the id, evaluated at the row's fold-bucket mean."""
    paired = sorted(
        (r for r in rows if r.outcome is not None and r.caller_confidence is not None),
        key=lambda r: r.id,
    )
    c = np.array([r.caller_confidence for r in paired], dtype=float)
    d = np.array([r.derived_confidence for r in paired])
    y = np.array([1.0 if r.outcome else 0.0 for r in paired])
    fold = np.array([zlib.crc32(r.id.encode()) % 5 for r in paired])
    bucket = np.minimum((c * 1000).astype(int), 999)
    m = np.empty(len(c))
    for f in range(5):
        train = fold != f
        keys = np.unique(bucket[train])
        w = np.array([train[bucket == b].sum() for b in keys], dtype=float)
        x = np.array([c[train & (bucket == b)].mean() for b in keys])
        yy = np.array([y[train & (bucket == b)].mean() for b in keys])
        fitted = isotonic_regression(yy, weights=w).x
        for b in np.unique(bucket[fold == f]):
            here = (fold == f) & (bucket == b)
            m[here] = np.interp(c[here].mean(), x, fitted)
    return {"m": m, "c": c, "d": d, "y": y}


def test_recalibration_matches_an_independent_cross_fit(store: Store) -> None:
    rows = shifted_trap(900, 3)
    (group,) = calibration_report(_write(store, rows), min_labeled=10)
    ref = reference_cross_fit(rows)
    m, c, d, y = ref["m"], ref["c"], ref["d"], ref["y"]
    r = group.recalibration
    assert r is not None
    assert r.brier == pytest.approx(float(np.mean((m - y) ** 2)), rel=1e-9)
    assert r.vs_caller_mean == pytest.approx(float(np.mean((m - y) ** 2 - (c - y) ** 2)))
    assert r.vs_derived_mean == pytest.approx(float(np.mean((m - y) ** 2 - (d - y) ** 2)))
    assert group.interval_method == "paired_bootstrap"
    low, high = r.vs_caller_interval
    assert low <= r.vs_caller_mean <= high


def test_large_groups_use_normal_intervals_from_the_sums(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    rows = shifted_trap(_report.BOOTSTRAP_MAX_ROWS + 500, 21)
    store = SQLiteStore(tmp_path / "o.db")
    try:
        (group,) = calibration_report(_write(store, rows))
    finally:
        store.close()
    ref = reference_cross_fit(rows)
    m, c, y = ref["m"], ref["c"], ref["y"]
    assert group.interval_method == "normal"
    r = group.recalibration
    assert r is not None
    per_row = (m - y) ** 2 - (c - y) ** 2
    assert r.vs_caller_mean == pytest.approx(float(per_row.mean()), rel=1e-9)
    half = 1.959963984540054 * per_row.std(ddof=1) / np.sqrt(len(per_row))
    assert r.vs_caller_interval == pytest.approx(
        (per_row.mean() - half, per_row.mean() + half), rel=1e-6
    )


def test_sql_and_streamed_paths_give_the_same_cross_fit(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    store = SQLiteStore(tmp_path / "o.db")
    try:
        _write(store, shifted_trap(700, 5) + synthetic(12_000, derived_better=True, seed=2))
        sql = _report._sql_groups(store, None)
        streamed = _report._streamed_groups(store, None)
        assert set(sql) == set(streamed)
        for key, a in sql.items():
            b = streamed[key]
            assert a.crossfit is not None
            assert b.crossfit is not None
            assert a.crossfit.brier == pytest.approx(b.crossfit.brier, rel=1e-12)
            assert np.allclose(a.crossfit.knots, b.crossfit.knots, rtol=1e-12, atol=0)
            assert (a.rows is None) == (b.rows is None)
            if a.rows is not None and b.rows is not None:
                for column in ("fold", "bucket", "caller", "derived", "y"):
                    assert np.array_equal(a.rows[column], b.rows[column])
    finally:
        store.close()


def test_apply_interpolates_between_knots_and_is_flat_outside() -> None:
    r = Recalibration(
        method="isotonic",
        folds=5,
        brier=0.1,
        vs_caller_mean=0.0,
        vs_caller_interval=(0.0, 0.0),
        vs_derived_mean=0.0,
        vs_derived_interval=(0.0, 0.0),
        knots=((0.2, 0.1), (0.6, 0.5), (0.6, 0.5), (0.9, 0.8)),
    )
    assert r.apply(0.0) == 0.1
    assert r.apply(0.4) == pytest.approx(0.3)
    assert r.apply(0.6) == 0.5
    assert r.apply(0.75) == pytest.approx(0.65)
    assert r.apply(1.0) == 0.8


def test_degenerate_groups_do_not_break_the_report() -> None:
    n = 300
    all_negative = observations(np.linspace(0, 1, n), np.full(n, 0.2), np.zeros(n, dtype=bool))
    constant_caller = observations(
        np.full(n, 0.5), np.linspace(0, 1, n), np.arange(n) % 2 == 0, source="flat"
    )
    tiny = observations(
        np.array([0.4, 0.6]), np.array([0.5, 0.5]), np.array([False, True]), source="t"
    )
    groups = calibration_report(_write(MemoryStore(), all_negative + constant_caller + tiny))
    by_source = {g.source: g for g in groups}
    negative = by_source["user"]
    assert negative.caller_calibration is not None
    assert negative.caller_calibration.auc is None  # one outcome only: AUC undefined
    assert negative.verdict in {"keep", "recalibrate"}
    flat = by_source["flat"]
    assert flat.caller_calibration is not None
    assert flat.caller_calibration.auc is not None
    assert flat.caller_calibration.auc.value == 0.5
    assert by_source["t"].recalibration is None  # too few rows to cross-fit
    assert by_source["t"].verdict == "insufficient_data"


def test_json_and_the_new_fields() -> None:
    (doc,) = report_json(calibration_report(_write(MemoryStore(), base_rate_trap(600, 1))))
    assert doc["verdict"] == "recalibrate"
    assert set(doc["auc"]) == {"caller", "derived"}
    assert doc["auc"]["derived"] == 0.5
    assert doc["auc"]["caller"] == pytest.approx(1.0)
    assert set(doc["brier_reliability"]) == set(doc["brier_resolution"]) == {"caller", "derived"}
    assert doc["brier_resolution"]["derived"] == 0.0
    assert doc["brier_uncertainty"] == pytest.approx(0.3 * 0.7, abs=0.05)
    recal = doc["recalibration"]
    assert recal["method"] == "isotonic"
    assert recal["folds"] == 5
    assert recal["vs_caller_interval"][1] < 0
    assert recal["vs_derived_interval"][1] < 0
    assert all(len(k) == 2 for k in recal["knots"])
