"""The ``outcomes models --json`` leaderboard: a profile's JSON object, and the whole
answer read straight from rollup rows.

:func:`profile_json` is the one definition of a profile's object (what
:meth:`~outcomes.inference.ModelProfile.to_json` returns). :func:`leaderboard_of_rows`
gives the command's answer from the rows of ``CELL_SELECT`` and ``EMA_SELECT`` for
``cli._fast``, whose every run is a fresh process: it merges each model's cells in the
order and with the arithmetic the command's :class:`~outcomes.stats._profiles.ProfileState`
and :class:`~outcomes.inference.ModelProfile` use (per task over projects, then over
tasks), so the floats, and the printed text, are the same to the last bit, but keeps
only the fields the answer shows and builds no state, profile or sketch object: the
records, their modules and their copies cost that command more than its reading.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from outcomes.stats._buckets import decode_buckets, quantiles_of
from outcomes.stats._decay import EMA_PRIOR, decayed_mean, logaddexp
from outcomes.stats._interval import credible_interval, wilson_interval
from outcomes.store._rollup_sql import bad_row, stored_int

DEFAULT_DEGRADE_THRESHOLD = 2
"""A model is degraded with more failures than successes plus this (the earlier
tracker's rule, which routers' degrade decisions were tuned on; docs/compat.md)."""
LATENCY_QS = (0.5, 0.95, 0.99)
"""The latency quantiles a profile's JSON shows (p50, p95, p99)."""

if TYPE_CHECKING:  # a ``Protocol`` class costs this module a fifth of its import (0.1 ms)
    from typing import Protocol

    class Counts(Protocol):
        """What :func:`profile_json` reads of a profile's merged cells (an ``OutcomeStats``)."""

        calls: int
        successes: int
        failures: int
        inconclusive: int
        input_tokens: int
        output_tokens: int
        cost_usd: float
        costed_calls: int
        quality_n: int
        latency_ms_total: float
        last_at: float


def counts_json(st: Counts) -> dict[str, Any]:
    """The calls and their outcomes, with the observed success rate (``None`` without
    evidence): the part of a profile's JSON every view of it shows."""
    n = st.successes + st.failures
    return {
        "calls": st.calls,
        "successes": st.successes,
        "failures": st.failures,
        "inconclusive": st.inconclusive,
        "success_rate": None if n <= 0 else st.successes / n,
    }


def profile_json(
    model_id: str,
    task: str | None,
    project_id: str | None,
    st: Counts,
    *,
    quality: float | None,
    latency_n: int,
    latency_ms: Sequence[float | None],
    ema_quality: float,
    excluded: bool,
) -> dict[str, Any]:
    """The ``outcomes models --json`` object of the profile whose merged cells are ``st``,
    with its decayed ``quality``, the count of latencies and their :data:`LATENCY_QS`
    quantiles in ms (``latency_ms``). Each rate comes with the interval that belongs to
    it: ``success_rate`` (observed) with ``success_interval`` (Wilson 95%, which always
    contains it), ``success_mean`` (Beta posterior mean from a uniform prior) with
    ``posterior_interval`` (equal-tailed 95%)."""
    ok, bad = max(st.successes, 0), max(st.failures, 0)
    alpha, beta = 1.0 + ok, 1.0 + bad
    interval = wilson_interval(ok, max(st.successes + st.failures, 0))
    posterior = None if st.successes + st.failures <= 0 else credible_interval(alpha, beta)
    tokens = st.input_tokens + st.output_tokens
    costed = st.costed_calls
    p50, p95, p99 = latency_ms
    return {
        "model_id": model_id,
        "task": task,
        "project_id": project_id,
        **counts_json(st),
        "success_mean": alpha / (alpha + beta),
        "success_interval": None if interval is None else [interval[0], interval[1]],
        "posterior_interval": None if posterior is None else [posterior[0], posterior[1]],
        "quality": quality,
        "quality_n": st.quality_n,
        "ema_quality": ema_quality,
        "quality_per_1k_tokens": 0.0 if tokens == 0 else ema_quality * 1000.0 / tokens,
        "latency_ms": {
            "p50": p50,
            "p95": p95,
            "p99": p99,
            "mean": None if latency_n == 0 else st.latency_ms_total / latency_n,
        },
        "input_tokens": st.input_tokens,
        "output_tokens": st.output_tokens,
        "cost_usd": None if costed == 0 else st.cost_usd,
        "cost_per_call": None if costed == 0 else st.cost_usd / costed,
        "cost_per_success": (
            None
            if costed == 0 or st.successes <= 0
            else (st.cost_usd / costed) * st.calls / st.successes
        ),
        "excluded": excluded,
        "degraded": st.failures > st.successes + DEFAULT_DEGRADE_THRESHOLD,
        "updated_at": st.last_at or None,
    }


def leaderboard_key(p: dict[str, Any]) -> tuple[float, float, str]:
    """The leaderboard's order on :func:`profile_json` objects: posterior mean success,
    then quality, then id (``inference._view.leaderboard_order`` on profiles)."""
    quality = p["quality"]
    return (-p["success_mean"], -(quality if quality is not None else 0.0), p["model_id"])


def _unlog(v: Any) -> float:
    return -math.inf if v is None else float(v)


class _Cells:
    """The fields of merged rollup cells that a profile's JSON shows, merged with the
    arithmetic of ``OutcomeStats.merge`` (the same operations on the same values)."""

    __slots__ = (
        "buckets", "calls", "cost_usd", "costed_calls", "dw_neg", "dw_pos", "dwq_neg",
        "dwq_pos", "failures", "inconclusive", "input_tokens", "last_at", "latency_ms_total",
        "latency_n", "latency_zero", "max_value", "output_tokens", "quality_n", "quality_sum",
        "successes",
    )  # fmt: skip

    def __init__(self, values: Sequence[Any]) -> None:
        """One rollup row's stat columns (``STAT_NAMES`` order), converted as
        ``store._rollup_rows.stats_of`` converts them."""
        (receipts, calls, ok, bad, unknown, lat_n, lat_zero, lat_total, lat_max, sketch, lat_ms,
         tin, tout, cost, costed, qn, qsum, dw_p, dwq_p, dw_n, dwq_n, ds_p, ds_n, df_p, df_n,
         last_at) = values  # fmt: skip
        n = stored_int
        # Read, not kept: a value the command could not read fails here as it does there.
        n(receipts), float(lat_total), _unlog(ds_p), _unlog(ds_n), _unlog(df_p), _unlog(df_n)
        self.buckets = decode_buckets(sketch)
        self.latency_zero, self.latency_n = n(lat_zero), n(lat_n)
        self.max_value = float(lat_max)
        self.calls, self.successes, self.failures = n(calls), n(ok), n(bad)
        self.inconclusive, self.latency_ms_total = n(unknown), float(lat_ms)
        self.input_tokens, self.output_tokens = n(tin), n(tout)
        self.cost_usd, self.costed_calls = float(cost), n(costed)
        self.quality_n, self.quality_sum = n(qn), float(qsum)
        self.dw_pos, self.dwq_pos = _unlog(dw_p), _unlog(dwq_p)
        self.dw_neg, self.dwq_neg = _unlog(dw_n), _unlog(dwq_n)
        self.last_at = float(last_at)

    def merge(self, other: _Cells) -> None:
        self.calls += other.calls
        self.successes += other.successes
        self.failures += other.failures
        self.inconclusive += other.inconclusive
        b = self.buckets
        for i, c in other.buckets.items():
            b[i] = b.get(i, 0) + c
        self.latency_zero += other.latency_zero
        self.latency_n += other.latency_n
        self.max_value = max(self.max_value, other.max_value)
        self.latency_ms_total += other.latency_ms_total
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.costed_calls += other.costed_calls
        self.quality_n += other.quality_n
        self.quality_sum += other.quality_sum
        self.dw_pos = logaddexp(self.dw_pos, other.dw_pos)
        self.dwq_pos = logaddexp(self.dwq_pos, other.dwq_pos)
        self.dw_neg = logaddexp(self.dw_neg, other.dw_neg)
        self.dwq_neg = logaddexp(self.dwq_neg, other.dwq_neg)
        self.last_at = max(self.last_at, other.last_at)

    def json(self, model_id: str, ema_quality: float) -> dict[str, Any]:
        quantiles = quantiles_of(
            self.buckets, self.latency_zero, self.latency_n, self.max_value, LATENCY_QS
        )
        quality = decayed_mean(
            self.quality_n, self.quality_sum, self.dw_pos, self.dwq_pos, self.dw_neg,
            self.dwq_neg,
        )  # fmt: skip
        return profile_json(
            model_id, None, None, self, quality=quality, latency_n=self.latency_n,
            latency_ms=[None if v is None else v * 1000.0 for v in quantiles],
            ema_quality=ema_quality, excluded=False,
        )  # fmt: skip


def leaderboard_of_rows(
    cells: Iterable[Sequence[Any]], ema: Iterable[Sequence[Any]]
) -> list[dict[str, Any]]:
    """``outcomes models --json`` (no filter) of the rows of ``CELL_SELECT`` (model,
    task, project key, then the stat columns) and ``EMA_SELECT``: every model with any
    outcome, in leaderboard order. Raises :class:`~outcomes.errors.StoreCorruptError`
    naming the row and what is wrong for a value it cannot read (a malformed sketch), as
    the command does (``store._rollup_rows.rollup_state``)."""
    # model -> task -> its cells merged over projects, in the order rows first name them
    # (the order ``ProfileState.cells`` and ``ModelProfile`` merge them in).
    models: dict[str, dict[str, _Cells]] = {}
    for row in cells:
        try:
            cell = _Cells(row[3:])
        except (ValueError, TypeError, OverflowError) as exc:
            raise bad_row("rollup_cells", row[:3], exc) from None
        by_task = models.setdefault(row[0], {})
        merged = by_task.get(row[1])
        if merged is None:
            by_task[row[1]] = cell
        else:
            merged.merge(cell)
    emas: dict[str, float] = {}
    for model_id, task, value in ema:
        try:
            number = float(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise bad_row("rollup_ema", (model_id, task), exc) from None
        if not task:
            emas[model_id] = number
    out = []
    for model_id in sorted(models):
        tasks = iter(models[model_id].values())
        st = next(tasks)
        for other in tasks:
            st.merge(other)
        if st.calls or st.successes or st.failures or st.inconclusive:
            out.append(st.json(model_id, emas.get(model_id, EMA_PRIOR)))
    return sorted(out, key=leaderboard_key)
