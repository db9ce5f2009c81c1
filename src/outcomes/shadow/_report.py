"""Calibration report: how well the caller's and the derived confidence match outcomes.

Everything is computed from per-group sums over score buckets of width ``1 / FINE``, so
memory does not grow with the number of rows. On PostgreSQL the sums run in SQL (one
``GROUP BY`` pass per score); on SQLite and the memory store the rows are streamed once
in vectorized chunks (faster than SQLite's sorting ``GROUP BY``). Both give the same
numbers, from the same definitions:

- per score, over every row where it is present: count, mean, median (resolved to the
  mean score of its bucket: exact when the bucket holds one distinct value) and a
  10-bucket histogram;
- over *paired* rows (labeled, both scores present): Brier score, log loss (scores
  clipped to [1e-15, 1 - 1e-15]), expected calibration error over ``ECE_BINS``
  near-equal-count bins (quantile bins that never split a bucket), the ECE a perfectly
  calibrated score would show on the same bins (simulated, seeded), a reliability
  curve, and the mean per-row Brier difference ``(derived - y)^2 - (caller - y)^2`` with
  a paired bootstrap (or, for large groups, normal) 95% interval.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from outcomes.shadow._discrimination import auc, decomposition
from outcomes.shadow._queries import (
    CALIBRATION_BUCKETS,
    CALIBRATION_ROWS,
    CALIBRATION_ROWS_IN,
    FINE,
    LOG_EPS,
    PAIRED_ROWS,
    PAIRED_ROWS_IN,
)
from outcomes.shadow._recalibration import (
    FOLDS,
    CrossFit,
    CrossFitSums,
    Recalibration,
    cross_fit,
    normal_interval,
)
from outcomes.shadow._results import (
    CalibrationGroup,
    ReliabilityBin,
    ScoreCalibration,
    ScoreStats,
)
from outcomes.shadow._schema import MIGRATIONS
from outcomes.shadow._verdict import Evidence
from outcomes.shadow._verdict import verdict as decide
from outcomes.store import Query, Store

FloatArray = npt.NDArray[np.float64]

MIN_LABELED = 200
"""Paired labeled rows a group needs before the report gives ``switch`` or ``keep``."""
ECE_BINS = 10
HIST_BUCKETS = 10
BOOTSTRAP_MAX_ROWS = 10_000
"""Up to this many paired rows the difference interval is a paired bootstrap; above it
the normal interval of the mean (what the bootstrap converges to) keeps memory bounded."""
BOOTSTRAP_RESAMPLES = 2_000
NULL_SIMULATIONS = 2_000
DEFAULT_SEED = 20_240_601

_SCORES = {"caller": "caller_confidence", "derived": "derived_confidence"}


@dataclass
class _Fine:
    """Aggregates of one score over one fine bucket (width 1 / FINE) of one group."""

    count: int = 0
    total: float = 0.0
    n: int = 0
    sum_s: float = 0.0
    sum_y: float = 0.0
    sum_var: float = 0.0
    brier: float = 0.0
    logl: float = 0.0


@dataclass
class _Bin:
    count: int = 0
    sum_s: float = 0.0
    sum_y: float = 0.0
    sum_var: float = 0.0


@dataclass
class _Group:
    count: int = 0
    labeled: int = 0
    paired: int = 0
    missing_caller: int = 0
    fine: dict[str, dict[int, _Fine]] = field(default_factory=lambda: {k: {} for k in _SCORES})
    diff_sum: float = 0.0
    diff_sq: float = 0.0
    crossfit: CrossFit | None = None
    rows: dict[str, Any] | None = None
    """The paired rows ordered by id, while the group is small enough to bootstrap."""


_FIELDS = ("count", "total", "n", "sum_s", "sum_y", "sum_var", "brier", "logl")
CHUNK_ROWS = 65_536
"""Rows aggregated per vectorized step of the streamed path (bounds its memory)."""


class _Numbered(dict[tuple[str, str], int]):
    """Numbers keys in order of first sight: looking up a new key gives it the next."""

    def __missing__(self, key: tuple[str, str]) -> int:
        number = self[key] = len(self)
        return number


class _Accumulator:
    """Streams (namespace, source, caller, derived, outcome, id) rows into fine-bucket sums.

    Missing caller confidence and missing outcome arrive as negative numbers. Memory is
    one chunk of rows plus ``len(_FIELDS) * FINE`` floats per score and group, the
    cross-fitting sums, and the rows of groups small enough to bootstrap.
    """

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], int] = _Numbered()
        self.sums = {k: np.zeros((len(_FIELDS), 0)) for k in _SCORES}
        self.group = np.zeros((6, 0))  # count, labeled, paired, missing, diff, diff^2
        self.cross = CrossFitSums(FINE, BOOTSTRAP_MAX_ROWS)

    def add(self, chunk: list[tuple[Any, ...]]) -> None:
        if not chunk:
            return
        ns, src, caller, derived, outcome, ids = zip(*chunk, strict=True)
        keys = self.keys
        # map() over the dict's own lookup: the per-row key step runs at C speed.
        gid = np.fromiter(map(keys.__getitem__, zip(ns, src, strict=True)), np.int64, len(chunk))
        width = len(keys)
        if self.group.shape[1] < width:
            self.group = np.pad(self.group, ((0, 0), (0, width - self.group.shape[1])))
            for k in _SCORES:
                grow = width * FINE - self.sums[k].shape[1]
                self.sums[k] = np.pad(self.sums[k], ((0, 0), (0, grow)))
        c = np.asarray(caller, dtype=float)
        d = np.asarray(derived, dtype=float)
        o = np.asarray(outcome, dtype=float)
        has_c, labeled = c >= 0, o >= 0
        paired = has_c & labeled
        y = np.where(o > 0, 1.0, 0.0)
        diff = np.where(paired, (d - y) ** 2 - (c - y) ** 2, 0.0)
        for i, w in enumerate((None, labeled, paired, ~has_c, diff, diff * diff)):
            self.group[i] += np.bincount(gid, weights=w, minlength=width)
        rows = np.flatnonzero(paired)
        # ids are UTF-8 bytes on paired rows (None elsewhere): see shadow.calibration_rows.
        self.cross.add(gid[rows], [ids[i] for i in rows.tolist()], c[rows], d[rows], y[rows])
        for name, score, present in (("caller", c, has_c), ("derived", d, None)):
            g, sc, pr = (
                (gid, score, paired)
                if present is None
                else (gid[present], score[present], paired[present])
            )
            yy = y if present is None else y[present]
            idx = g * FINE + np.minimum((sc * FINE).astype(np.int64), FINE - 1)
            cl = np.clip(sc, LOG_EPS, 1.0 - LOG_EPS)
            weights = (
                None,
                sc,
                pr,
                sc * pr,
                yy * pr,
                sc * (1.0 - sc) * pr,
                (sc - yy) ** 2 * pr,
                -(yy * np.log(cl) + (1.0 - yy) * np.log(1.0 - cl)) * pr,
            )
            total = self.sums[name]
            for i, w in enumerate(weights):
                total[i] += np.bincount(idx, weights=w, minlength=width * FINE)

    def groups(self) -> dict[tuple[str, str], _Group]:
        out: dict[tuple[str, str], _Group] = {}
        for key, i in self.keys.items():
            count, labeled, paired, missing, ds, dq = self.group[:, i]
            g = out[key] = _Group(
                count=round(count),
                labeled=round(labeled),
                paired=round(paired),
                missing_caller=round(missing),
                diff_sum=float(ds),
                diff_sq=float(dq),
                crossfit=cross_fit(self.cross.group(i)),
                rows=self.cross.row_arrays(i),
            )
            for name in _SCORES:
                block = self.sums[name][:, i * FINE : (i + 1) * FINE]
                for b in np.flatnonzero(block[0]):
                    v = block[:, b]
                    g.fine[name][int(b)] = _Fine(
                        round(v[0]), float(v[1]), round(v[2]), *(float(x) for x in v[3:])
                    )
        return out


def _chunks(
    store: Store, everywhere: Query, within: Query, namespace: str | None
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``everywhere`` (``namespace`` None) or of ``within`` the namespace, in
    lists of up to ``CHUNK_ROWS`` (what bounds a streamed pass's memory)."""
    rows: Iterator[tuple[Any, ...]]
    if namespace is None:
        rows = store.iter_query(everywhere)
    else:
        rows = store.iter_query(within, (namespace,))
    while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
        yield chunk


def _streamed_groups(store: Store, namespace: str | None) -> dict[tuple[str, str], _Group]:
    acc = _Accumulator()
    for chunk in _chunks(store, CALIBRATION_ROWS, CALIBRATION_ROWS_IN, namespace):
        acc.add(chunk)
    return acc.groups()


def _load_cross_fit(
    store: Store, groups: dict[tuple[str, str], _Group], namespace: str | None
) -> None:
    """Cross-fitting sums and bootstrap rows of the SQL path: one pass over paired rows."""
    cross = CrossFitSums(FINE, BOOTSTRAP_MAX_ROWS)
    keys: dict[tuple[str, str], int] = {}
    for chunk in _chunks(store, PAIRED_ROWS, PAIRED_ROWS_IN, namespace):
        ns, src, ids, caller, derived, y = zip(*chunk, strict=True)
        gid = np.fromiter(
            (keys.setdefault(k, len(keys)) for k in zip(ns, src, strict=True)),
            dtype=np.int64,
            count=len(chunk),
        )
        cross.add(
            gid,
            ids,
            np.asarray(caller, dtype=float),
            np.asarray(derived, dtype=float),
            np.asarray(y, dtype=float),
        )
    for key, i in keys.items():
        groups[key].crossfit = cross_fit(cross.group(i))
        groups[key].rows = cross.row_arrays(i)


def _sql_groups(store: Store, namespace: str | None) -> dict[tuple[str, str], _Group]:
    """The same sums as :class:`_Accumulator`, computed by the database (one GROUP BY pass
    per score, ``shadow.calibration_buckets_*``)."""
    groups: dict[tuple[str, str], _Group] = {}
    for name, query in CALIBRATION_BUCKETS.items():
        for row in store.iter_query(query, (namespace, namespace)):
            key = (row[0], row[1])
            g = groups.get(key)
            if g is None:
                g = groups[key] = _Group()
            g.fine[name][int(row[2])] = _Fine(
                int(row[3]), float(row[4]), int(row[5]), *(float(v) for v in row[6:11])
            )
            if name == "derived":
                g.count += int(row[3])
                g.paired += int(row[5])
                g.labeled += int(row[11])
                g.missing_caller += int(row[12])
                g.diff_sum += float(row[13])
                g.diff_sq += float(row[14])
    _load_cross_fit(store, groups, namespace)
    return groups


def _bins(fine: dict[int, _Fine], n: int) -> list[_Bin]:
    """Merge fine buckets, in score order, into ``ECE_BINS`` near-equal-count bins.

    A bin closes at the first fine bucket where the cumulative count reaches the next
    multiple of ``n / ECE_BINS``; equal scores are never split across bins.
    """
    bins: list[_Bin] = []
    current = _Bin()
    cumulative = 0
    target = 1
    for b in sorted(fine):
        f = fine[b]
        if not f.n:
            continue
        current.count += f.n
        current.sum_s += f.sum_s
        current.sum_y += f.sum_y
        current.sum_var += f.sum_var
        cumulative += f.n
        if cumulative * ECE_BINS >= target * n:
            bins.append(current)
            current = _Bin()
            while target * n <= cumulative * ECE_BINS:
                target += 1
    if current.count:
        bins.append(current)
    return bins


def _median(fine: dict[int, _Fine], count: int) -> float | None:
    """The median, resolved to its fine bucket: the mean score of the bucket holding it."""
    if not count:
        return None
    wanted = sorted({(count + 1) // 2, count // 2 + 1})
    values: list[float] = []
    cumulative = 0
    for b in sorted(fine):
        f = fine[b]
        cumulative += f.count
        while wanted and wanted[0] <= cumulative:
            values.append(f.total / f.count)
            wanted.pop(0)
    if len(values) == 1 and count % 2 == 0:
        values.append(values[0])
    return sum(values) / len(values)


def _ece_perfect(bins: Sequence[_Bin], n: int, rng: np.random.Generator) -> float:
    # Under perfect calibration a bin's positive count is a sum of Bernoulli(s_i), with
    # variance sum s_i(1 - s_i); its normal approximation is drawn here, per bin.
    sd = np.sqrt(np.array([b.sum_var for b in bins], dtype=float))
    draws = rng.standard_normal((NULL_SIMULATIONS, len(bins))) * sd
    return float(np.abs(draws).sum(axis=1).mean() / n)


def _calibration(fine: dict[int, _Fine], n: int, rng: np.random.Generator) -> ScoreCalibration:
    bins = _bins(fine, n)
    order = sorted(fine)
    positives = np.array([fine[b].sum_y for b in order])
    negatives = np.array([fine[b].n for b in order], dtype=float) - positives
    return ScoreCalibration(
        brier=math.fsum(f.brier for f in fine.values()) / n,
        log_loss=math.fsum(f.logl for f in fine.values()) / n,
        ece=math.fsum(abs(b.sum_s - b.sum_y) for b in bins) / n,
        ece_perfect=_ece_perfect(bins, n, rng),
        reliability=tuple(
            ReliabilityBin(b.count, b.sum_s / b.count, b.sum_y / b.count) for b in bins
        ),
        auc=auc(positives, negatives),
        decomposition=decomposition([(b.count, b.sum_s, b.sum_y) for b in bins], n),
    )


@dataclass(frozen=True, slots=True)
class _Intervals:
    """95% intervals of the per-row Brier differences a group's verdict compares."""

    derived_vs_caller: tuple[float, float]
    recal_vs_caller: tuple[float, float] | None
    recal_vs_derived: tuple[float, float] | None
    method: str


def _bootstrap(diffs: FloatArray, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Paired percentile bootstrap of the mean of each row of ``diffs`` (same resamples)."""
    n = diffs.shape[1]
    means = np.empty((diffs.shape[0], BOOTSTRAP_RESAMPLES))
    step = max(1, 2_000_000 // n)
    for start in range(0, BOOTSTRAP_RESAMPLES, step):
        stop = min(BOOTSTRAP_RESAMPLES, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[:, start:stop] = diffs[:, idx].mean(axis=2)
    low, high = np.quantile(means, [0.025, 0.975], axis=1)
    return [(float(lo), float(hi)) for lo, hi in zip(low, high, strict=True)]


def _intervals(g: _Group, rng: np.random.Generator) -> _Intervals:
    n, fit, rows = g.paired, g.crossfit, g.rows
    if rows is not None and len(rows["y"]) == n and n >= 2:
        y = rows["y"]
        caller, derived = (rows["caller"] - y) ** 2, (rows["derived"] - y) ** 2
        stacked = [derived - caller]
        if fit is not None:
            recal = (fit.values[rows["fold"], rows["bucket"]] - y) ** 2
            stacked += [recal - caller, recal - derived]
        found = _bootstrap(np.vstack(stacked), rng)
        extra = found[1:] if fit is not None else [None, None]
        return _Intervals(found[0], extra[0], extra[1], "paired_bootstrap")
    return _Intervals(
        normal_interval(g.diff_sum, g.diff_sq, n),
        normal_interval(fit.vs_caller_sum, fit.vs_caller_sq, n) if fit else None,
        normal_interval(fit.vs_derived_sum, fit.vs_derived_sq, n) if fit else None,
        "normal",
    )


def _recalibration(g: _Group, found: _Intervals | None) -> Recalibration | None:
    fit, n = g.crossfit, g.paired
    if fit is None or found is None or found.recal_vs_caller is None:
        return None
    assert found.recal_vs_derived is not None
    return Recalibration(
        method="isotonic",
        folds=FOLDS,
        brier=fit.brier,
        vs_caller_mean=fit.vs_caller_sum / n,
        vs_caller_interval=found.recal_vs_caller,
        vs_derived_mean=fit.vs_derived_sum / n,
        vs_derived_interval=found.recal_vs_derived,
        knots=fit.knots,
    )


def _stats(fine: dict[int, _Fine]) -> ScoreStats:
    count = sum(f.count for f in fine.values())
    hist = [0] * HIST_BUCKETS
    for b, f in fine.items():
        hist[b * HIST_BUCKETS // FINE] += f.count
    return ScoreStats(
        count=count,
        mean=math.fsum(f.total for f in fine.values()) / count if count else None,
        median=_median(fine, count),
        histogram=tuple(hist),
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
    # PostgreSQL aggregates fastest on the server; SQLite and memory stream the rows in
    # vectorized chunks (one pass, no sort: faster than SQLite's GROUP BY sorter).
    if store.kind == "postgresql":
        groups = _sql_groups(store, namespace)
    else:
        groups = _streamed_groups(store, namespace)
    return [_finish(key, g, min_labeled, seed) for key, g in sorted(groups.items())]


def _finish(key: tuple[str, str], g: _Group, min_labeled: int, seed: int) -> CalibrationGroup:
    rng = np.random.default_rng([seed, *map(ord, "\x1f".join(key)[:64])])
    n = g.paired
    cal = {k: _calibration(fine, n, rng) if n else None for k, fine in g.fine.items()}
    found = _intervals(g, rng) if n else None
    recalibration = _recalibration(g, found)
    caller, derived = cal["caller"], cal["derived"]
    verdict, reason = decide(
        Evidence(
            paired=n,
            missing_caller=g.missing_caller,
            min_labeled=min_labeled,
            diff_interval=found.derived_vs_caller if found else None,
            caller_brier=caller.brier if caller else None,
            derived_brier=derived.brier if derived else None,
            derived_auc=derived.auc if derived else None,
            recalibration=recalibration,
        )
    )
    return CalibrationGroup(
        namespace=key[0],
        source=key[1],
        count=g.count,
        labeled=g.labeled,
        paired=n,
        missing_caller=g.missing_caller,
        caller=_stats(g.fine["caller"]),
        derived=_stats(g.fine["derived"]),
        caller_calibration=caller,
        derived_calibration=derived,
        brier_diff_mean=g.diff_sum / n if n else None,
        brier_diff_interval=found.derived_vs_caller if found else None,
        interval_method=found.method if found else None,
        recalibration=recalibration,
        verdict=verdict,
        reason=reason,
    )


def report_json(groups: Iterable[CalibrationGroup]) -> list[dict[str, Any]]:
    """The JSON form of a report (what ``outcomes shadow report --json`` prints)."""
    return [g.as_dict() for g in groups]
