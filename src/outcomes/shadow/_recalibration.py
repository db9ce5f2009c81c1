"""The third candidate of the calibration report: the caller's score, recalibrated.

The caller's confidence is mapped through an isotonic (monotone, stepwise) calibration
fitted on the labels. Its Brier score is measured *cross-fitted*: each labeled row falls in
one of ``FOLDS`` folds by a hash of its id (the same on every store), and its recalibrated
value comes from the calibration fitted on the other folds only, so the score never grades
itself on the labels it was fitted to.

Everything is computed from sums per (fold, score bucket of width ``1 / FINE``, label), like
the rest of the report, so memory does not grow with the rows: a calibration is fitted on
bucket means and is constant within a bucket, which makes the per-row Brier differences
against either raw score expressible through the sums of ``(score - y)^2`` and
``(score - y)^4`` per cell. Groups small enough for the paired bootstrap also keep their
rows (id, fold, bucket, both scores, label) so that the bootstrap resamples rows.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FOLDS = 5
"""Cross-fitting folds (rows are assigned by a hash of their id)."""
MIN_ROWS_PER_FOLD = 2
"""Below this many labeled rows per fold on average no recalibration is fitted."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Per (fold, bucket, label): rows, sum of caller scores, sums of (caller - y)^2 and ^4,
# sums of (derived - y)^2 and ^4.
_N, _SUM_C, _C2, _C4, _D2, _D4 = range(6)
_STATS = 6


def folds_of(ids: Iterable[str | bytes]) -> IntArray:
    """The fold of each id: CRC-32 of its UTF-8 bytes, modulo ``FOLDS``. Ids may come as
    ``str`` or already as their UTF-8 bytes (what the streamed report reads)."""
    crc = np.fromiter(
        (zlib.crc32(i if isinstance(i, bytes) else i.encode("utf-8", "surrogatepass"))
         for i in ids),
        dtype=np.int64,
    )  # fmt: skip
    return crc % FOLDS


def folds_of_bytes(ids: Sequence[bytes]) -> IntArray:
    """:func:`folds_of` for ids given as UTF-8 bytes, hashed at C speed."""
    return np.fromiter(map(zlib.crc32, ids), dtype=np.int64, count=len(ids)) % FOLDS


def isotonic(y: FloatArray, w: FloatArray) -> FloatArray:
    """Weighted least-squares non-decreasing fit of ``y`` (in the order given): pool-adjacent-
    violators. Returns the fitted value of every point."""
    means: list[float] = []
    weights: list[float] = []
    sizes: list[int] = []
    for value, weight in zip(y.tolist(), w.tolist(), strict=True):
        means.append(value)
        weights.append(weight)
        sizes.append(1)
        while len(means) > 1 and means[-2] >= means[-1]:
            total = weights[-2] + weights[-1]
            merged = (means[-2] * weights[-2] + means[-1] * weights[-1]) / total
            size = sizes[-2] + sizes[-1]
            del means[-1], weights[-1], sizes[-1]
            means[-1], weights[-1], sizes[-1] = merged, total, size
    return np.repeat(np.asarray(means, dtype=float), sizes)


def _fit(
    n: FloatArray, positives: FloatArray, score_sum: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Knots ``(mean score, calibrated value)`` of the isotonic fit over non-empty buckets.

    Inside a run of equal values only its first and last knots are kept: interpolating
    between the knots kept gives the same values everywhere.
    """
    full = np.flatnonzero(n > 0)
    x = score_sum[full] / n[full]
    fitted = isotonic(positives[full] / n[full], n[full])
    change = np.diff(fitted) != 0
    keep = np.r_[True, change] | np.r_[change, True]
    return x[keep], fitted[keep]


@dataclass(frozen=True, slots=True)
class Recalibration:
    """The caller's score through an isotonic calibration fitted on the labels.

    ``brier`` is cross-fitted (each row scored by a calibration fitted without its fold).
    ``vs_caller_*`` and ``vs_derived_*`` are the mean and 95% interval of the per-row
    difference ``(recalibrated - y)^2 - (raw - y)^2``: below 0 means the recalibrated score
    is better. ``knots`` is the calibration fitted on every labeled row, as ``(caller
    score, calibrated value)`` points: :meth:`apply` interpolates between them.
    """

    method: str
    folds: int
    brier: float
    vs_caller_mean: float
    vs_caller_interval: tuple[float, float]
    vs_derived_mean: float
    vs_derived_interval: tuple[float, float]
    knots: tuple[tuple[float, float], ...]

    def apply(self, score: float) -> float:
        """The calibrated value of a caller ``score`` (linear between knots, flat outside)."""
        xs = [k[0] for k in self.knots]
        i = bisect.bisect_left(xs, score)
        if i == 0:
            return self.knots[0][1]
        if i == len(xs):
            return self.knots[-1][1]
        (x0, y0), (x1, y1) = self.knots[i - 1], self.knots[i]
        return y0 if x1 == x0 else y0 + (y1 - y0) * (score - x0) / (x1 - x0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "folds": self.folds,
            "brier": self.brier,
            "vs_caller_mean": self.vs_caller_mean,
            "vs_caller_interval": list(self.vs_caller_interval),
            "vs_derived_mean": self.vs_derived_mean,
            "vs_derived_interval": list(self.vs_derived_interval),
            "knots": [list(k) for k in self.knots],
        }


@dataclass(slots=True)
class _Rows:
    """The paired rows of one small group, kept for the bootstrap."""

    ids: list[Any]
    """``str`` or UTF-8 ``bytes``, as given to :meth:`CrossFitSums.add` (never mixed)."""
    folds: list[IntArray]
    buckets: list[IntArray]
    caller: list[FloatArray]
    derived: list[FloatArray]
    y: list[FloatArray]


class CrossFitSums:
    """Per-group sums over (fold, caller bucket, label), fed chunk by chunk.

    Rows of a group are also kept until the group has more than ``keep_rows`` of them.
    """

    def __init__(self, fine: int, keep_rows: int) -> None:
        self.fine = fine
        self.keep_rows = keep_rows
        self.cell = FOLDS * fine * 2
        self.sums = np.zeros((_STATS, 0))
        self.rows: dict[int, _Rows | None] = {}
        self.count: dict[int, int] = {}

    def add(
        self,
        gid: IntArray,
        ids: Sequence[str] | Sequence[bytes],
        caller: FloatArray,
        derived: FloatArray,
        y: FloatArray,
    ) -> None:
        """Fold paired rows (group index, id, both scores, label in {0, 1}) into the sums.

        Ids are ``str``, or all UTF-8 ``bytes`` (which order as their strings do)."""
        if not len(gid):
            return
        width = int(gid.max()) + 1
        if self.sums.shape[1] < width * self.cell:
            self.sums = np.pad(self.sums, ((0, 0), (0, width * self.cell - self.sums.shape[1])))
        fold = folds_of_bytes(ids) if isinstance(ids[0], bytes) else folds_of(ids)  # type: ignore[arg-type]
        bucket = np.minimum((caller * self.fine).astype(np.int64), self.fine - 1)
        label = (y > 0).astype(np.int64)
        idx = ((gid * FOLDS + fold) * self.fine + bucket) * 2 + label
        ec, ed = (caller - y) ** 2, (derived - y) ** 2
        size = self.sums.shape[1]
        for i, weights in enumerate((None, caller, ec, ec * ec, ed, ed * ed)):
            self.sums[i] += np.bincount(idx, weights=weights, minlength=size)
        order = np.argsort(gid, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(gid[order]) != 0])
        for begin, end in zip(starts.tolist(), [*starts[1:].tolist(), len(order)], strict=True):
            g = int(gid[order[begin]])
            total = self.count.get(g, 0) + end - begin
            self.count[g] = total
            kept = self.rows.get(g, _Rows([], [], [], [], [], []))
            if kept is None or total > self.keep_rows:
                self.rows[g] = None
                continue
            mine = order[begin:end]
            kept.ids.extend(ids[i] for i in mine.tolist())
            kept.folds.append(fold[mine])
            kept.buckets.append(bucket[mine])
            kept.caller.append(caller[mine])
            kept.derived.append(derived[mine])
            kept.y.append(y[mine])
            self.rows[g] = kept

    def group(self, g: int) -> FloatArray:
        """The sums of group ``g`` as an array ``(stat, fold, bucket, label)``."""
        block = self.sums[:, g * self.cell : (g + 1) * self.cell]
        if block.shape[1] < self.cell:
            block = np.zeros((_STATS, self.cell))
        return block.reshape(_STATS, FOLDS, self.fine, 2)

    def row_arrays(self, g: int) -> dict[str, Any] | None:
        """The kept rows of group ``g`` ordered by id, or ``None`` when not kept."""
        kept = self.rows.get(g)
        if kept is None:
            return None
        order = np.argsort(np.asarray(kept.ids, dtype=object), kind="stable")
        return {
            "fold": np.concatenate(kept.folds)[order],
            "bucket": np.concatenate(kept.buckets)[order],
            "caller": np.concatenate(kept.caller)[order],
            "derived": np.concatenate(kept.derived)[order],
            "y": np.concatenate(kept.y)[order],
        }


@dataclass(frozen=True, slots=True)
class CrossFit:
    """A fitted cross-fit of one group: per (fold, bucket) values and the moment sums."""

    values: FloatArray  # (fold, bucket): the recalibrated score of held-out rows there
    brier: float
    vs_caller_sum: float
    vs_caller_sq: float
    vs_derived_sum: float
    vs_derived_sq: float
    knots: tuple[tuple[float, float], ...]


def cross_fit(sums: FloatArray) -> CrossFit | None:
    """Fit the fold calibrations of one group's sums; ``None`` when there are too few rows."""
    n = sums[_N]  # (fold, bucket, label)
    total = float(n.sum())
    if total < FOLDS * MIN_ROWS_PER_FOLD:
        return None
    per_fold = n.sum(axis=(1, 2))
    rows_b = n.sum(axis=2)  # (fold, bucket)
    pos_b = n[:, :, 1]
    score_b = sums[_SUM_C].sum(axis=2)
    values = np.zeros_like(rows_b)
    for f in range(FOLDS):
        if not per_fold[f]:
            continue
        train_n = rows_b.sum(axis=0) - rows_b[f]
        if not train_n.any():
            return None
        x, fitted = _fit(train_n, pos_b.sum(axis=0) - pos_b[f], score_b.sum(axis=0) - score_b[f])
        here = rows_b[f] > 0
        at = score_b[f][here] / rows_b[f][here]
        values[f][here] = np.interp(at, x, fitted)
    m = values[:, :, None]
    y = np.array([0.0, 1.0])
    err2 = (m - y) ** 2  # (fold, bucket, label)
    brier_sum = float((n * err2).sum())
    x_all, fitted_all = _fit(rows_b.sum(axis=0), pos_b.sum(axis=0), score_b.sum(axis=0))

    def moments(sq: FloatArray, quad: FloatArray) -> tuple[float, float]:
        # Per row: (m - y)^2 - e with e = (raw - y)^2; summed and squared-summed per cell.
        total_sum = brier_sum - float(sq.sum())
        total_sq = float((n * err2 * err2 - 2 * err2 * sq + quad).sum())
        return total_sum, total_sq

    c_sum, c_sq = moments(sums[_C2], sums[_C4])
    d_sum, d_sq = moments(sums[_D2], sums[_D4])
    knots = tuple(zip(x_all.tolist(), fitted_all.tolist(), strict=True))
    return CrossFit(values, brier_sum / total, c_sum, c_sq, d_sum, d_sq, knots)


def normal_interval(total: float, squares: float, n: int) -> tuple[float, float]:
    """95% normal interval of a mean from the sum and sum of squares of ``n`` values."""
    mean = total / n
    var = max(0.0, (squares - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    half = 1.959963984540054 * math.sqrt(var / n)
    return mean - half, mean + half
