"""The profile fold of one batch of receipt rows, per (model, task, project, hour).

The same arithmetic as :meth:`~outcomes.stats._profiles.ProfileState.fold_values`, shaped
for the writer's hot path: one pass with no call per receipt beyond the sketch's bucket,
decayed weights collected per cell and summed once (log-sum-exp) instead of one
log-add-exp per receipt. The result equals the per-receipt fold up to float rounding,
which ``tests/store/test_rollups.py`` checks against :class:`ProfileState` on every
store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from outcomes.records import Receipt
from outcomes.stats import DECAY_EPOCH
from outcomes.stats._profiles import FOLD_FIELDS, OutcomeStats
from outcomes.stats._sketch import _LOG_GAMMA, MIN_VALUE, LatencySketch

_COLUMNS = Receipt.__table__.column_names
_KIND = _COLUMNS.index("kind")
_FIELDS = itemgetter(*(_COLUMNS.index(f) for f in FOLD_FIELDS))
_LN2 = math.log(2.0)

HourKey = tuple[str, str, str, int]
EmaArgs = tuple[str, str, Any, Any, Any, str]


class _Cell:
    __slots__ = (
        "calls",
        "cost",
        "costed",
        "counts",
        "decay",
        "last_at",
        "lat",
        "lat_ms",
        "n",
        "qn",
        "qsum",
        "tin",
        "tout",
    )  # fmt: skip

    def __init__(self) -> None:
        self.n = self.calls = self.tin = self.tout = self.costed = self.qn = 0
        self.lat_ms = self.cost = self.qsum = self.last_at = 0.0
        self.counts = [0, 0, 0]  # successes, failures, inconclusive
        self.lat = LatencySketch()
        # dw+, dwq+, dw-, dwq-, ds+, ds-, df+, df-: log weights to sum.
        self.decay: tuple[list[float], ...] = ([], [], [], [], [], [], [], [])

    def book(self, success: Any, quality: Any, lw: float, sign: int) -> None:
        d = self.decay
        off = 0 if sign > 0 else 1
        if success is None:
            self.counts[2] += sign
        elif success:
            self.counts[0] += sign
            d[4 + off].append(lw)
        else:
            self.counts[1] += sign
            d[6 + off].append(lw)
        if quality is not None:
            self.qn += sign
            self.qsum += sign * quality
            d[2 * off].append(lw)
            if quality > 0:
                d[2 * off + 1].append(lw + math.log(quality))

    def stats(self) -> OutcomeStats:
        lse = [_logsumexp(v) for v in self.decay]
        ok, bad, unknown = self.counts
        return OutcomeStats(
            calls=self.calls, successes=ok, failures=bad, inconclusive=unknown,
            latency=self.lat, latency_ms_total=self.lat_ms, input_tokens=self.tin,
            output_tokens=self.tout, cost_usd=self.cost, costed_calls=self.costed,
            quality_n=self.qn, quality_sum=self.qsum, dw_pos=lse[0], dwq_pos=lse[1],
            dw_neg=lse[2], dwq_neg=lse[3], ds_pos=lse[4], ds_neg=lse[5], df_pos=lse[6],
            df_neg=lse[7], last_at=self.last_at,
        )  # fmt: skip


def _logsumexp(values: list[float]) -> float:
    if not values:
        return -math.inf
    if len(values) == 1:
        return values[0]
    m = max(values)
    return m + math.log(math.fsum(math.exp(v - m) for v in values))


def fold_batch(
    rows: Iterable[Sequence[Any]], half_life: float, bucket_s: int
) -> tuple[
    dict[HourKey, tuple[OutcomeStats, int]],
    dict[tuple[str, str, str], tuple[OutcomeStats, int]],
    list[EmaArgs],
]:
    """Fold the ``inference`` rows: per hour key and per cell key, (stats, receipts);
    and the arguments of :meth:`ProfileState.fold_ema` for the receipts that move the
    EMA, in order. A superseding receipt is keyed by the hour of the receipt it replaces
    (``superseded_at``)."""
    cells: dict[HourKey, _Cell] = {}
    ema: list[EmaArgs] = []
    scale = _LN2 / half_life
    log_gamma = _LOG_GAMMA
    for row in rows:
        if row[_KIND] != "inference":
            continue
        (model, task, project, ts, success, quality, lat, tin, tout, cost, error, source,
         sup, sup_success, sup_quality, sup_at) = _FIELDS(row)  # fmt: skip
        at = ts if sup is None or sup_at is None else sup_at
        key = (model, task, project or "", int(at // bucket_s) * bucket_s)
        c = cells.get(key)
        if c is None:
            c = cells[key] = _Cell()
        c.n += 1
        c.last_at = max(c.last_at, ts)
        if sup is None:
            c.calls += 1
            if lat > 0:
                s = c.lat
                v = lat / 1000.0
                if v <= MIN_VALUE:
                    s.zero += 1
                else:
                    i = math.ceil(math.log(v) / log_gamma)
                    s.buckets[i] = s.buckets.get(i, 0) + 1
                s.total += v
                s.n += 1
                s.max_value = max(s.max_value, v)
                c.lat_ms += lat
            c.tin += tin
            c.tout += tout
            if cost is not None:
                c.cost += cost
                c.costed += 1
        else:
            c.book(sup_success, sup_quality, (at - DECAY_EPOCH) * scale, -1)
        c.book(success, quality, (ts - DECAY_EPOCH) * scale, 1)
        if quality is not None or (success is not None and not success and source == "failure"):
            ema.append((model, task, success, quality, error, source))  # what moves the EMA
    # A cell's total over the batch is the merge of its hours' stats: each decayed sum
    # is exponentiated once (per hour), not again for the total; with one hour per
    # cell (the usual batch) the total is a copy.
    hours = {k: (c.stats(), c.n) for k, c in cells.items()}
    totals: dict[tuple[str, str, str], tuple[OutcomeStats, int]] = {}
    for (m, t, p, _), (st, n) in hours.items():
        total = totals.get((m, t, p))
        if total is None:
            totals[(m, t, p)] = (st.copy(), n)
        else:
            total[0].merge(st)
            totals[(m, t, p)] = (total[0], total[1] + n)
    return hours, totals, ema
