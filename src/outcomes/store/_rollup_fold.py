"""The profile fold of one batch of receipt rows, per (model, task, project, hour).

The same arithmetic as :meth:`~outcomes.stats._profiles.ProfileState.fold_values`, shaped
for the writer's hot path: the batch is folded by columns, an hour key at a time, with
C-level iteration (``map``, ``compress``, ``sum``, ``Counter``) in place of a Python
step per receipt; only superseding receipts (late signals, a few percent) are folded one
by one. Decayed weights are collected per cell and summed once (log-sum-exp) instead of
one log-add-exp per receipt. Sums run in store order, as the per-receipt fold adds them;
the result equals that fold up to float rounding (decayed sums, the order of a signal's
take-back), which ``tests/store/test_rollups.py`` checks against :class:`ProfileState`
on every store. Measured against the fold in Python in SQL (``GROUP BY`` over the new
rows, sketch buckets by ``ln``): SQLite took longer than this fold (1000 receipts:
about 3 ms against 1), so the fold stays here, one implementation for every store.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import partial
from itertools import compress, repeat
from operator import (
    add,
    and_,
    eq,
    floordiv,
    gt,
    is_,
    is_not,
    itemgetter,
    mul,
    not_,
    or_,
    sub,
    truediv,
    truth,
)  # fmt: skip
from typing import Any

from outcomes.records import Receipt
from outcomes.stats import DECAY_EPOCH
from outcomes.stats._buckets import _LOG_GAMMA, MIN_VALUE
from outcomes.stats._profiles import COUNTS_HALF_LIFE_SHARE, FOLD_FIELDS, OutcomeStats
from outcomes.stats._sketch import LatencySketch

_COLUMNS = Receipt.__table__.column_names
_KIND = _COLUMNS.index("kind")
_FIELDS = itemgetter(*(_COLUMNS.index(f) for f in FOLD_FIELDS))
_LN2 = math.log(2.0)
_POSITIVE = (0.0).__lt__
_NOT_NONE = partial(is_not, None)

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
        """``lw``: the outcome's log weight at the state's half-life (the counts' is
        ``lw / COUNTS_HALF_LIFE_SHARE``)."""
        d = self.decay
        off = 0 if sign > 0 else 1
        if success is None:
            self.counts[2] += sign
        elif success:
            self.counts[0] += sign
            d[4 + off].append(lw / COUNTS_HALF_LIFE_SHARE)
        else:
            self.counts[1] += sign
            d[6 + off].append(lw / COUNTS_HALF_LIFE_SHARE)
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
    return m + math.log(math.fsum(map(math.exp, map(sub, values, repeat(m)))))


def fold_columns(
    cols: Sequence[Sequence[Any]], half_life: float, bucket_s: int
) -> tuple[
    dict[HourKey, tuple[OutcomeStats, int]],
    dict[tuple[str, str, str], tuple[OutcomeStats, int]],
    list[EmaArgs],
]:
    """Fold the ``inference`` receipts of a batch given as columns (``Receipt.__table__``
    order, one sequence per column, rows in store order): per hour key and per cell key,
    (stats, receipts); and the arguments of :meth:`ProfileState.fold_ema` for the
    receipts that move the EMA, in order. A superseding receipt is keyed by the hour of
    the receipt it replaces (``superseded_at``)."""
    empty: tuple[dict[Any, Any], dict[Any, Any], list[EmaArgs]] = ({}, {}, [])
    if not cols or not cols[_KIND]:
        return empty
    if cols[_KIND].count("inference") != len(cols[_KIND]):
        inference = list(map(eq, cols[_KIND], repeat("inference")))
        cols = [tuple(compress(c, inference)) for c in cols]
        if not cols[_KIND]:
            return empty
    (model, task, project, ts, success, quality, lat, tin, tout, cost, error, source, sup,
     sup_success, sup_quality, sup_at) = _FIELDS(cols)  # fmt: skip
    cells: dict[HourKey, _Cell] = {}
    scale = _LN2 / half_life
    plain = None if sup.count(None) == len(sup) else list(map(is_, sup, repeat(None)))
    calls = (model, task, project, ts, success, quality, lat, tin, tout, cost)
    if plain is None:
        _fold_calls(cells, calls, scale, bucket_s)
    else:
        _fold_calls(cells, [tuple(compress(c, plain)) for c in calls], scale, bucket_s)
        fields = (model, task, project, ts, success, quality, sup_success, sup_quality, sup_at)
        signals = compress(zip(*fields, strict=True), map(not_, plain))
        _fold_signals(cells, signals, scale, bucket_s)
    # What moves the EMA, in store order: a quality, or a failure of the call itself.
    failed = map(and_, map(eq, success, repeat(False)), map(eq, source, repeat("failure")))
    moves = map(or_, map(is_not, quality, repeat(None)), failed)
    ema: list[EmaArgs] = list(
        compress(zip(model, task, success, quality, error, source, strict=True), moves)
    )
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


def _groups(keys: list[HourKey]) -> dict[HourKey, list[int]] | None:
    """Row positions per key, in order; None when every row has the same key."""
    if len(dict.fromkeys(keys)) == 1:
        return None
    groups: dict[HourKey, list[int]] = {}
    for i, key in enumerate(keys):
        group = groups.get(key)
        if group is None:
            groups[key] = [i]
        else:
            group.append(i)
    return groups


def _fold_calls(
    cells: dict[HourKey, _Cell], cols: Sequence[Sequence[Any]], scale: float, bucket_s: int
) -> None:
    """Fold receipts that supersede nothing (columns model, task, project, timestamp,
    success, quality, latency, tokens in and out, cost), a whole hour key at a time:
    the arithmetic of the per-receipt fold, each column summed in store order."""
    model, task, project, ts = cols[:4]
    if not ts:
        return
    hours = map(mul, map(int, map(floordiv, ts, repeat(bucket_s))), repeat(bucket_s))
    projects = project if None not in project else [p or "" for p in project]
    keys = list(zip(model, task, projects, hours, strict=True))
    groups = _groups(keys)
    if groups is None:
        _fold_hour(cells, keys[0], cols[3:], scale)
        return
    for key, rows in groups.items():
        if len(rows) == 1:
            _fold_hour(cells, key, [(c[rows[0]],) for c in cols[3:]], scale)
        else:
            take = itemgetter(*rows)
            _fold_hour(cells, key, [take(c) for c in cols[3:]], scale)


def _fold_hour(
    cells: dict[HourKey, _Cell], key: HourKey, cols: Sequence[Sequence[Any]], scale: float
) -> None:
    ts, success, quality, lat, tin, tout, cost = cols
    c = cells.get(key)
    if c is None:
        c = cells[key] = _Cell()
    n = len(ts)
    c.n += n
    c.calls += n
    c.last_at = max(c.last_at, *ts)
    lats = list(filter(_POSITIVE, lat))
    if lats:
        s = c.lat
        values = list(map(truediv, lats, repeat(1000.0)))
        logged = values
        if min(values) <= MIN_VALUE:
            logged = [v for v in values if v > MIN_VALUE]
            s.zero += len(values) - len(logged)
        b = s.buckets
        for i, k in Counter(
            map(math.ceil, map(truediv, map(math.log, logged), repeat(_LOG_GAMMA)))
        ).items():
            b[i] = b.get(i, 0) + k
        s.total += sum(values)
        s.n += len(values)
        s.max_value = max(s.max_value, *values)
        c.lat_ms += sum(lats)
    c.tin += sum(tin)
    c.tout += sum(tout)
    costs = list(filter(_NOT_NONE, cost))
    if costs:
        c.cost += sum(costs)
        c.costed += len(costs)
    ok = sum(map(truth, success))
    unknown = success.count(None)
    counts = c.counts
    counts[0] += ok
    counts[1] += n - ok - unknown
    counts[2] += unknown
    ages = list(map(sub, ts, repeat(DECAY_EPOCH)))
    lwc = list(map(mul, ages, repeat(scale / COUNTS_HALF_LIFE_SHARE)))
    d = c.decay
    d[4].extend(compress(lwc, success))
    if ok + unknown < n:
        failed = map(and_, map(is_not, success, repeat(None)), map(not_, success))
        d[6].extend(compress(lwc, failed))
    if quality.count(None) < n:
        lws = list(map(mul, ages, repeat(scale)))
        rated = list(map(is_not, quality, repeat(None)))
        qs = list(compress(quality, rated))
        lwq = list(compress(lws, rated))
        c.qn += len(qs)
        c.qsum += sum(qs)
        d[0].extend(lwq)
        positive = list(map(gt, qs, repeat(0)))
        d[1].extend(map(add, compress(lwq, positive), map(math.log, compress(qs, positive))))


def _fold_signals(
    cells: dict[HourKey, _Cell], rows: Iterable[Sequence[Any]], scale: float, bucket_s: int
) -> None:
    """Fold superseding receipts one by one: each takes back the receipt it replaces,
    in that receipt's hour, and books its own outcome there."""
    for model, task, project, ts, success, quality, sup_success, sup_quality, sup_at in rows:
        at = ts if sup_at is None else sup_at
        key = (model, task, project or "", int(at // bucket_s) * bucket_s)
        c = cells.get(key)
        if c is None:
            c = cells[key] = _Cell()
        c.n += 1
        c.last_at = max(c.last_at, ts)
        c.book(sup_success, sup_quality, (at - DECAY_EPOCH) * scale, -1)
        c.book(success, quality, (ts - DECAY_EPOCH) * scale, 1)


def hour_keys(cols: Sequence[Sequence[Any]], bucket_s: int) -> set[HourKey]:
    """The hour keys :func:`fold_columns` gives the ``inference`` receipts of a batch
    (columns as there), without folding: what a writer reads back before the fold."""
    (model, task, project, ts, *_, sup, _sup_success, _sup_quality, sup_at) = _FIELDS(cols)
    at = ts if sup.count(None) == len(sup) else list(map(booked_at, ts, sup, sup_at))
    hours = map(mul, map(int, map(floordiv, at, repeat(bucket_s))), repeat(bucket_s))
    projects = project if None not in project else [p or "" for p in project]
    keys: Iterable[HourKey] = zip(model, task, projects, hours, strict=True)
    if cols[_KIND].count("inference") != len(cols[_KIND]):
        keys = compress(keys, map(eq, cols[_KIND], repeat("inference")))
    return set(keys)


def booked_at(ts: float, sup: Any, sup_at: float | None) -> float:
    """The time a receipt is booked at in the rollups: its own ``ts``, or for a
    superseding receipt (``sup`` set) the time ``sup_at`` of the receipt it replaces."""
    return ts if sup is None or sup_at is None else sup_at
