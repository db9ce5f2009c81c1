"""Calibration report: how well the caller's and the derived confidence match outcomes.

Aggregates run in SQL on SQL stores (one pass per query, client memory independent of
the number of rows) and in Python over a scan on the memory store; both compute the same
numbers from the same definitions:

- descriptive statistics of each score over every row where it is present;
- metrics over *paired* rows (labeled, both scores present): Brier score, log loss
  (scores clipped to [1e-15, 1 - 1e-15]), expected calibration error over
  ``ECE_BINS`` equal-count bins (rows ordered by score, then id; ``NTILE`` semantics),
  the ECE that a perfectly calibrated score would show on the same bins, a reliability
  curve, and the per-row Brier difference ``(derived - y)^2 - (caller - y)^2``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from outcomes.errors import StoreError
from outcomes.shadow._records import ShadowObservation
from outcomes.shadow._schema import MIGRATIONS
from outcomes.store import SqlStore, Store

MIN_LABELED = 200
"""Paired labeled rows a group needs before the report gives ``switch`` or ``keep``."""
ECE_BINS = 10
HIST_BUCKETS = 10
LOG_EPS = 1e-15
BOOTSTRAP_MAX_ROWS = 10_000
"""Up to this many paired rows the difference interval is a paired bootstrap; above it
the normal interval of the mean (what the bootstrap converges to) keeps memory bounded."""
BOOTSTRAP_RESAMPLES = 2_000
NULL_SIMULATIONS = 2_000
DEFAULT_SEED = 20_240_601

_TABLE = ShadowObservation.__table__.name
_SCORES = {"caller": "caller_confidence", "derived": "derived_confidence"}


@dataclass(frozen=True, slots=True)
class ScoreStats:
    """Count, mean, median and a 10-bucket histogram ([0, .1), ..., [.9, 1]) of one score."""

    count: int
    mean: float | None
    median: float | None
    histogram: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean": self.mean,
            "median": self.median,
            "histogram": list(self.histogram),
        }


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One equal-count bin: rows, mean score and the observed rate of positive outcomes."""

    count: int
    mean_score: float
    observed_rate: float


@dataclass(frozen=True, slots=True)
class ScoreCalibration:
    """Metrics of one score over the paired labeled rows of a group."""

    brier: float
    log_loss: float
    ece: float
    ece_perfect: float
    """Mean ECE a perfectly calibrated score with these values would show (simulated)."""
    reliability: tuple[ReliabilityBin, ...]


@dataclass(frozen=True, slots=True)
class CalibrationGroup:
    """The report of one (namespace, source)."""

    namespace: str
    source: str
    count: int
    labeled: int
    paired: int
    missing_caller: int
    caller: ScoreStats
    derived: ScoreStats
    caller_calibration: ScoreCalibration | None
    derived_calibration: ScoreCalibration | None
    brier_diff_mean: float | None
    brier_diff_interval: tuple[float, float] | None
    interval_method: str | None
    verdict: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        cals = {"caller": self.caller_calibration, "derived": self.derived_calibration}

        def metric(name: str) -> dict[str, float | None]:
            return {k: (getattr(c, name) if c else None) for k, c in cals.items()}

        return {
            "namespace": self.namespace,
            "source": self.source,
            "count": self.count,
            "labeled": self.labeled,
            "paired": self.paired,
            "missing_caller": self.missing_caller,
            "scores": {"caller": self.caller.as_dict(), "derived": self.derived.as_dict()},
            "brier": metric("brier"),
            "log_loss": metric("log_loss"),
            "ece": metric("ece"),
            "ece_perfect": metric("ece_perfect"),
            "reliability": {
                k: [
                    {"count": b.count, "mean_score": b.mean_score, "observed_rate": b.observed_rate}
                    for b in c.reliability
                ]
                if c
                else []
                for k, c in cals.items()
            },
            "brier_diff_mean": self.brier_diff_mean,
            "brier_diff_interval": list(self.brier_diff_interval)
            if self.brier_diff_interval
            else None,
            "interval_method": self.interval_method,
            "verdict": self.verdict,
            "reason": self.reason,
        }


@dataclass
class _Bin:
    count: int = 0
    sum_s: float = 0.0
    sum_y: float = 0.0
    sum_var: float = 0.0


@dataclass
class _Score:
    count: int = 0
    total: float = 0.0
    median: float | None = None
    hist: list[int] = field(default_factory=lambda: [0] * HIST_BUCKETS)
    bins: dict[int, _Bin] = field(default_factory=dict)
    brier_sum: float = 0.0
    log_sum: float = 0.0


@dataclass
class _Group:
    count: int = 0
    labeled: int = 0
    paired: int = 0
    missing_caller: int = 0
    scores: dict[str, _Score] = field(default_factory=lambda: {k: _Score() for k in _SCORES})
    diff_sum: float = 0.0
    diff_sq: float = 0.0
    diffs: list[float] | None = None


def _bucket(s: float) -> int:
    return min(int(s * 10.0), HIST_BUCKETS - 1)


def _clip(s: float) -> float:
    return min(max(s, LOG_EPS), 1.0 - LOG_EPS)


def _ntile(position: int, n: int, tiles: int) -> int:
    """The 1-based ``NTILE(tiles)`` of the 0-based ``position`` among ``n`` rows."""
    size, extra = divmod(n, tiles)
    big = extra * (size + 1)
    if position < big:
        return position // (size + 1) + 1
    return extra + (position - big) // size + 1


def _order_key(col: str, o: ShadowObservation) -> tuple[float, str]:
    return (float(getattr(o, col)), o.id)


def _diff(o: ShadowObservation) -> float:
    y = 1.0 if o.outcome else 0.0
    caller = o.caller_confidence
    assert caller is not None
    return (o.derived_confidence - y) ** 2 - (caller - y) ** 2


def _python_groups(store: Store, namespace: str | None) -> dict[tuple[str, str], _Group]:
    where: list[Any] = [] if namespace is None else [("namespace", "=", namespace)]
    rows: dict[tuple[str, str], list[ShadowObservation]] = {}
    for obs in store.scan(ShadowObservation.__table__, where=where):
        rows.setdefault((obs.namespace, obs.source), []).append(obs)
    groups: dict[tuple[str, str], _Group] = {}
    for key, items in rows.items():
        g = groups[key] = _Group(count=len(items))
        g.labeled = sum(1 for o in items if o.outcome is not None)
        g.missing_caller = sum(1 for o in items if o.caller_confidence is None)
        paired = sorted(
            (o for o in items if o.outcome is not None and o.caller_confidence is not None),
            key=lambda o: o.id,
        )
        g.paired = len(paired)
        for name, col in _SCORES.items():
            sc = g.scores[name]
            values = sorted(v for o in items if (v := getattr(o, col)) is not None)
            sc.count = len(values)
            sc.total = math.fsum(values)
            if values:
                mid = len(values)
                sc.median = (values[(mid + 1) // 2 - 1] + values[mid // 2]) / 2.0
            for v in values:
                sc.hist[_bucket(v)] += 1
            ordered = sorted(paired, key=functools.partial(_order_key, col))
            for pos, o in enumerate(ordered):
                s = float(getattr(o, col))
                y = 1.0 if o.outcome else 0.0
                b = sc.bins.setdefault(_ntile(pos, len(ordered), ECE_BINS), _Bin())
                b.count += 1
                b.sum_s += s
                b.sum_y += y
                b.sum_var += s * (1.0 - s)
                sc.brier_sum += (s - y) ** 2
                c = _clip(s)
                sc.log_sum += -(y * math.log(c) + (1.0 - y) * math.log(1.0 - c))
        diffs = [_diff(o) for o in paired]
        g.diff_sum = math.fsum(diffs)
        g.diff_sq = math.fsum(d * d for d in diffs)
        if len(diffs) <= BOOTSTRAP_MAX_ROWS:
            g.diffs = diffs
    return groups


_Y = "CASE WHEN outcome THEN 1.0 ELSE 0.0 END"
_PAIRED = "outcome IS NOT NULL AND caller_confidence IS NOT NULL"


def _sql_groups(store: SqlStore, namespace: str | None) -> dict[tuple[str, str], _Group]:
    ns_and = "" if namespace is None else " AND namespace = ?"
    ns_where = "" if namespace is None else " WHERE namespace = ?"
    params: list[Any] = [] if namespace is None else [namespace]
    groups: dict[tuple[str, str], _Group] = {}
    for ns, src, n, labeled, paired, missing in store.fetch(
        f"SELECT namespace, source, COUNT(*), COUNT(outcome), "
        f"SUM(CASE WHEN {_PAIRED} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN caller_confidence IS NULL THEN 1 ELSE 0 END) "
        f"FROM {_TABLE}{ns_where} GROUP BY namespace, source",
        params,
    ):
        groups[(ns, src)] = _Group(
            count=int(n), labeled=int(labeled), paired=int(paired), missing_caller=int(missing)
        )
    hist_cols = ", ".join(
        f"SUM(CASE WHEN s * 10 >= {k} AND s * 10 < {k + 1} THEN 1 ELSE 0 END)"
        if k < HIST_BUCKETS - 1
        else f"SUM(CASE WHEN s * 10 >= {k} THEN 1 ELSE 0 END)"
        for k in range(HIST_BUCKETS)
    )
    lo, hi = repr(LOG_EPS), repr(1 - LOG_EPS)
    clip = f"CASE WHEN s < {lo} THEN {lo} WHEN s > {hi} THEN {hi} ELSE s END"
    for name, col in _SCORES.items():
        for row in store.fetch(
            f"SELECT namespace, source, COUNT(*), SUM(s), "
            f"AVG(CASE WHEN rn = (cnt + 1) / 2 OR rn = cnt / 2 + 1 THEN s END), {hist_cols} "
            f"FROM (SELECT namespace, source, {col} AS s, "
            f"ROW_NUMBER() OVER (PARTITION BY namespace, source ORDER BY {col}, id) AS rn, "
            f"COUNT(*) OVER (PARTITION BY namespace, source) AS cnt "
            f"FROM {_TABLE} WHERE {col} IS NOT NULL{ns_and}) t GROUP BY namespace, source",
            params,
        ):
            sc = groups[(row[0], row[1])].scores[name]
            sc.count, sc.total = int(row[2]), float(row[3])
            sc.median = float(row[4])
            sc.hist = [int(v) for v in row[5:]]
        for ns, src, b, n, ss, sy, sv, bs, ls in store.fetch(
            f"SELECT namespace, source, bin, COUNT(*), SUM(s), SUM(y), SUM(s * (1 - s)), "
            f"SUM((s - y) * (s - y)), SUM(-(y * LN(c) + (1 - y) * LN(1 - c))) "
            f"FROM (SELECT namespace, source, s, y, {clip} AS c, bin FROM "
            f"(SELECT namespace, source, {col} AS s, {_Y} AS y, "
            f"NTILE({ECE_BINS}) OVER (PARTITION BY namespace, source ORDER BY {col}, id) AS bin "
            f"FROM {_TABLE} WHERE {_PAIRED}{ns_and}) t1) t2 GROUP BY namespace, source, bin",
            params,
        ):
            sc = groups[(ns, src)].scores[name]
            sc.bins[int(b)] = _Bin(int(n), float(ss), float(sy), float(sv))
            sc.brier_sum += float(bs)
            sc.log_sum += float(ls)
    diff = (
        f"(derived_confidence - {_Y}) * (derived_confidence - {_Y}) "
        f"- (caller_confidence - {_Y}) * (caller_confidence - {_Y})"
    )
    for ns, src, ds, dq in store.fetch(
        f"SELECT namespace, source, SUM(d), SUM(d * d) FROM (SELECT namespace, source, "
        f"{diff} AS d FROM {_TABLE} WHERE {_PAIRED}{ns_and}) t GROUP BY namespace, source",
        params,
    ):
        g = groups[(ns, src)]
        g.diff_sum, g.diff_sq = float(ds), float(dq)
    for (ns, src), g in groups.items():
        if 0 < g.paired <= BOOTSTRAP_MAX_ROWS:
            g.diffs = [
                float(r[0])
                for r in store.iterate(
                    f"SELECT {diff} FROM {_TABLE} WHERE {_PAIRED} "
                    f"AND namespace = ? AND source = ? ORDER BY id",
                    [ns, src],
                )
            ]
    return groups


def _ece_perfect(bins: Sequence[_Bin], n: int, rng: np.random.Generator) -> float:
    # Under perfect calibration a bin's positive count is a sum of Bernoulli(s_i), with
    # variance sum s_i(1 - s_i); its normal approximation is drawn here, per bin.
    sd = np.sqrt(np.array([b.sum_var for b in bins], dtype=float))
    draws = rng.standard_normal((NULL_SIMULATIONS, len(bins))) * sd
    return float(np.abs(draws).sum(axis=1).mean() / n)


def _calibration(sc: _Score, n: int, rng: np.random.Generator) -> ScoreCalibration:
    bins = [sc.bins[k] for k in sorted(sc.bins)]
    return ScoreCalibration(
        brier=sc.brier_sum / n,
        log_loss=sc.log_sum / n,
        ece=math.fsum(abs(b.sum_s - b.sum_y) for b in bins) / n,
        ece_perfect=_ece_perfect(bins, n, rng),
        reliability=tuple(
            ReliabilityBin(b.count, b.sum_s / b.count, b.sum_y / b.count) for b in bins
        ),
    )


def _interval(g: _Group, rng: np.random.Generator) -> tuple[tuple[float, float], str]:
    n = g.paired
    if g.diffs is not None and len(g.diffs) == n and n >= 2:
        d = np.asarray(g.diffs, dtype=float)
        means = np.empty(BOOTSTRAP_RESAMPLES)
        step = max(1, 2_000_000 // n)
        for start in range(0, BOOTSTRAP_RESAMPLES, step):
            stop = min(BOOTSTRAP_RESAMPLES, start + step)
            idx = rng.integers(0, n, size=(stop - start, n))
            means[start:stop] = d[idx].mean(axis=1)
        low, high = np.quantile(means, [0.025, 0.975])
        return (float(low), float(high)), "paired_bootstrap"
    mean = g.diff_sum / n
    var = max(0.0, (g.diff_sq - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    half = 1.959963984540054 * math.sqrt(var / n)
    return (mean - half, mean + half), "normal"


def _verdict(g: _Group, interval: tuple[float, float] | None, min_labeled: int) -> tuple[str, str]:
    if g.paired < min_labeled:
        why = f"{g.paired} labeled rows with both scores; at least {min_labeled} are needed"
        if g.missing_caller:
            why += f" ({g.missing_caller} rows have no caller confidence)"
        return "insufficient_data", why
    assert interval is not None
    low, high = interval
    if high < 0:
        return "switch", (
            f"derived Brier is lower: 95% interval of the difference [{low:.4f}, {high:.4f}] "
            "is below 0"
        )
    if low > 0:
        return "keep", (
            f"derived Brier is higher: 95% interval of the difference [{low:.4f}, {high:.4f}] "
            "is above 0"
        )
    return "keep", (
        f"no evidence that derived is better: 95% interval [{low:.4f}, {high:.4f}] contains 0"
    )


def _stats(sc: _Score) -> ScoreStats:
    return ScoreStats(
        count=sc.count,
        mean=sc.total / sc.count if sc.count else None,
        median=sc.median if sc.count else None,
        histogram=tuple(sc.hist),
    )


def calibration_report(
    store: Store,
    *,
    namespace: str | None = None,
    min_labeled: int = MIN_LABELED,
    seed: int = DEFAULT_SEED,
) -> list[CalibrationGroup]:
    """Compare the caller's and the derived confidence per (namespace, source).

    A group gets ``switch`` when the 95% interval of the mean per-row Brier difference
    (derived minus caller) lies below 0, ``keep`` otherwise, and ``insufficient_data``
    while it has fewer than ``min_labeled`` labeled rows with both scores. ``seed``
    makes the bootstrap and the simulation reproducible. Raises
    :class:`~outcomes.errors.StoreError` when the store fails.
    """
    store.migrate(MIGRATIONS)
    groups: dict[tuple[str, str], _Group] | None = None
    if isinstance(store, SqlStore):
        try:
            groups = _sql_groups(store, namespace)
        except StoreError as exc:
            # A SQLite build without math functions has no LN(): compute in Python.
            if "ln" not in str(exc).lower():
                raise
    if groups is None:
        groups = _python_groups(store, namespace)
    return [_finish(key, g, min_labeled, seed) for key, g in sorted(groups.items())]


def _finish(key: tuple[str, str], g: _Group, min_labeled: int, seed: int) -> CalibrationGroup:
    rng = np.random.default_rng([seed, *map(ord, "\x1f".join(key)[:64])])
    n = g.paired
    cal = {k: _calibration(sc, n, rng) if n else None for k, sc in g.scores.items()}
    interval, method = _interval(g, rng) if n else (None, None)
    verdict, reason = _verdict(g, interval, min_labeled)
    return CalibrationGroup(
        namespace=key[0],
        source=key[1],
        count=g.count,
        labeled=g.labeled,
        paired=n,
        missing_caller=g.missing_caller,
        caller=_stats(g.scores["caller"]),
        derived=_stats(g.scores["derived"]),
        caller_calibration=cal["caller"],
        derived_calibration=cal["derived"],
        brier_diff_mean=g.diff_sum / n if n else None,
        brier_diff_interval=interval,
        interval_method=method,
        verdict=verdict,
        reason=reason,
    )


def report_json(groups: Iterable[CalibrationGroup]) -> list[dict[str, Any]]:
    """The JSON form of a report (what ``outcomes shadow report --json`` prints)."""
    return [g.as_dict() for g in groups]
