"""Rollup rows read back: the profile state they hold.

What a reader needs of the rollups (``outcomes.store._rollups``), and nothing of how the
writer maintains them: the column layout (re-exported from ``_rollup_sql``), the
decoding of one row into :class:`~outcomes.stats._profiles.OutcomeStats`, and
:func:`rollup_state`, the profile state of every cell. Kept apart from the write side so
that a read-only command (``outcomes models --json``) loads neither the receipt
declaration nor ``msgspec``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from outcomes.stats._profiles import DEFAULT_HALF_LIFE_S, OutcomeStats, ProfileState
from outcomes.stats._sketch import LatencySketch
from outcomes.store._rollup_sql import (
    CELL_KEY,
    CELL_SELECT,
    CELL_TOTALS_SELECT,
    EMA_KEY,
    EMA_SELECT,
    HOURLY_KEY,
    OTHER_KIND_COLUMNS,
    OTHER_KINDS_SELECT,
    STAT_COLUMNS,
    STAT_NAMES,
    SUM_COLUMNS,
    TOTAL_COLUMNS,
    bad_row,
    stored_int,
)

ROLLUP_HALF_LIFE_S = DEFAULT_HALF_LIFE_S
"""The half-life of the decayed sums rollups keep (the profiles' default)."""

__all__ = [
    "CELL_KEY", "CELL_SELECT", "CELL_TOTALS_SELECT", "EMA_KEY", "EMA_SELECT", "HOURLY_KEY",
    "OTHER_KINDS_SELECT", "OTHER_KIND_COLUMNS", "ROLLUP_HALF_LIFE_S", "STAT_COLUMNS",
    "STAT_NAMES", "SUM_COLUMNS", "TOTAL_COLUMNS", "project_of", "rollup_state", "stats_of",
    "stats_values",
]  # fmt: skip


def _log(v: float) -> float | None:
    return None if v == -math.inf else v


def _unlog(v: Any) -> float:
    return -math.inf if v is None else float(v)


_INT64_MAX = 2**63 - 1


def stats_values(st: OutcomeStats, receipts: int) -> tuple[Any, ...]:
    """``st`` as the stat columns of a rollup row (see :data:`STAT_COLUMNS`). The token
    sums saturate at 2**63 - 1: each receipt may carry up to that many (``Count64``, the
    edges' bound), and a sum past it would make every later write of the row fail on
    both engines, refusing every later receipt of its cell; saturated, the cell keeps
    counting its calls (the other counts grow by one a receipt, never near the bound)."""
    lat = st.latency
    tin, tout = st.input_tokens, st.output_tokens
    if tin > _INT64_MAX or tout > _INT64_MAX:
        tin, tout = min(tin, _INT64_MAX), min(tout, _INT64_MAX)
    return (
        receipts, st.calls, st.successes, st.failures, st.inconclusive, lat.n, lat.zero,
        lat.total, lat.max_value, lat.encode(), st.latency_ms_total, tin,
        tout, st.cost_usd, st.costed_calls, st.quality_n, st.quality_sum,
        _log(st.dw_pos), _log(st.dwq_pos), _log(st.dw_neg), _log(st.dwq_neg),
        _log(st.ds_pos), _log(st.ds_neg), _log(st.df_pos), _log(st.df_neg), st.last_at,
    )  # fmt: skip


def stats_of(values: Sequence[Any]) -> tuple[OutcomeStats, int]:
    """The stat columns of a rollup row back as (``OutcomeStats``, receipts)."""
    (receipts, calls, ok, bad, unknown, lat_n, lat_zero, lat_total, lat_max, sketch, lat_ms,
     tin, tout, cost, costed, qn, qsum, dw_p, dwq_p, dw_n, dwq_n, ds_p, ds_n, df_p, df_n,
     last_at) = values  # fmt: skip
    n = stored_int
    latency = LatencySketch(
        LatencySketch.decode_buckets(sketch), n(lat_zero), float(lat_total), n(lat_n),
        float(lat_max),
    )  # fmt: skip
    st = OutcomeStats(
        calls=n(calls), successes=n(ok), failures=n(bad), inconclusive=n(unknown),
        latency=latency, latency_ms_total=float(lat_ms), input_tokens=n(tin),
        output_tokens=n(tout), cost_usd=float(cost), costed_calls=n(costed),
        quality_n=n(qn), quality_sum=float(qsum), dw_pos=_unlog(dw_p), dwq_pos=_unlog(dwq_p),
        dw_neg=_unlog(dw_n), dwq_neg=_unlog(dwq_n), ds_pos=_unlog(ds_p), ds_neg=_unlog(ds_n),
        df_pos=_unlog(df_p), df_neg=_unlog(df_n), last_at=float(last_at),
    )  # fmt: skip
    return st, n(receipts)


def project_of(key: str) -> str | None:
    return key or None


def rollup_state(cells: Iterable[Sequence[Any]], ema: Iterable[Sequence[Any]]) -> ProfileState:
    """The profile state of rows read by :data:`CELL_SELECT` and :data:`EMA_SELECT`
    (half-life :data:`ROLLUP_HALF_LIFE_S`). Raises :class:`StoreCorruptError` naming the
    row and what is wrong with it for a value that cannot be read (:func:`bad_row`)."""
    state = ProfileState(half_life=ROLLUP_HALF_LIFE_S)
    for row in cells:
        try:
            st, n = stats_of(row[3:])
        except (ValueError, TypeError, OverflowError) as exc:
            raise bad_row("rollup_cells", row[:3], exc) from None
        state.parts[(row[0], row[1], project_of(row[2]))] = st
        state.receipts += n
    for model_id, task, value in ema:
        try:
            number = float(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise bad_row("rollup_ema", (model_id, task), exc) from None
        if task:
            state.task_ema[(model_id, task)] = number
        else:
            state.ema[model_id] = number
    return state
