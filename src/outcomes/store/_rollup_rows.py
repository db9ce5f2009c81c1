"""Rollup rows read back: their columns, and the profile state they hold.

What a reader needs of the rollups (``outcomes.store._rollups``), and nothing of how the
writer maintains them: the column layout, the decoding of one row into
:class:`~outcomes.stats._profiles.OutcomeStats`, and :func:`rollup_state`, the profile
state of every cell. Kept apart from the write side so that a read-only command
(``outcomes models --json``) loads neither the receipt declaration nor ``msgspec``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from outcomes.stats._profiles import DEFAULT_HALF_LIFE_S, OutcomeStats, ProfileState
from outcomes.stats._sketch import LatencySketch

ROLLUP_HALF_LIFE_S = DEFAULT_HALF_LIFE_S
"""The half-life of the decayed sums rollups keep (the profiles' default)."""

STAT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("receipts", "int"), ("calls", "int"), ("successes", "int"), ("failures", "int"),
    ("inconclusive", "int"), ("latency_n", "int"), ("latency_zero", "int"),
    ("latency_total_s", "float"), ("latency_max_s", "float"), ("latency_sketch", "text"),
    ("latency_ms_total", "float"), ("input_tokens", "int"), ("output_tokens", "int"),
    ("cost_usd", "float"), ("costed_calls", "int"), ("quality_n", "int"),
    ("quality_sum", "float"), ("dw_pos", "float"), ("dwq_pos", "float"), ("dw_neg", "float"),
    ("dwq_neg", "float"), ("ds_pos", "float"), ("ds_neg", "float"), ("df_pos", "float"),
    ("df_neg", "float"), ("last_at", "float"),
)  # fmt: skip
"""The columns after the key of both rollup tables, in order (decayed sums: NULL = -inf)."""
STAT_NAMES = tuple(n for n, _ in STAT_COLUMNS)
HOURLY_KEY = ("model_id", "task", "project_key", "hour")
CELL_KEY = ("model_id", "task", "project_key")
EMA_KEY = ("model_id", "task")

CELL_SELECT = f"SELECT {', '.join((*CELL_KEY, *STAT_NAMES))} FROM rollup_cells"
"""Every rollup cell: ``model_id, task, project_key`` then the stat columns."""
EMA_SELECT = "SELECT model_id, task, value FROM rollup_ema"
"""``ema_quality`` per model (task ``''``) and per (model, task)."""
TOTAL_COLUMNS = ("receipts", "calls", "successes", "failures", "inconclusive")
SUM_COLUMNS = ("latency_ms_total", "cost_usd")
CELL_TOTALS_SELECT = (
    "SELECT model_id, task, "
    + ", ".join(f"SUM({c})" for c in (*TOTAL_COLUMNS, *SUM_COLUMNS))
    + " FROM rollup_cells GROUP BY model_id, task ORDER BY model_id, task"
)
"""Per (model, task), from the rollups: receipts, calls, successes, failures,
inconclusive, total latency (ms), total known cost (``ledger stats``)."""
OTHER_KIND_COLUMNS = (
    "model_id", "task", "success", "supersedes", "superseded_success", "latency_ms", "cost_usd",
)  # fmt: skip
OTHER_KINDS_SELECT = (
    f"SELECT {', '.join(OTHER_KIND_COLUMNS)} FROM receipts WHERE kind <> 'inference'"
)
"""The receipts of kinds the rollups leave out (served by a partial index)."""


def _log(v: float) -> float | None:
    return None if v == -math.inf else v


def _unlog(v: Any) -> float:
    return -math.inf if v is None else float(v)


def stats_values(st: OutcomeStats, receipts: int) -> tuple[Any, ...]:
    """``st`` as the stat columns of a rollup row (see :data:`STAT_COLUMNS`)."""
    lat = st.latency
    return (
        receipts, st.calls, st.successes, st.failures, st.inconclusive, lat.n, lat.zero,
        lat.total, lat.max_value, lat.encode(), st.latency_ms_total, st.input_tokens,
        st.output_tokens, st.cost_usd, st.costed_calls, st.quality_n, st.quality_sum,
        _log(st.dw_pos), _log(st.dwq_pos), _log(st.dw_neg), _log(st.dwq_neg),
        _log(st.ds_pos), _log(st.ds_neg), _log(st.df_pos), _log(st.df_neg), st.last_at,
    )  # fmt: skip


def stats_of(values: Sequence[Any]) -> tuple[OutcomeStats, int]:
    """The stat columns of a rollup row back as (``OutcomeStats``, receipts)."""
    (receipts, calls, ok, bad, unknown, lat_n, lat_zero, lat_total, lat_max, sketch, lat_ms,
     tin, tout, cost, costed, qn, qsum, dw_p, dwq_p, dw_n, dwq_n, ds_p, ds_n, df_p, df_n,
     last_at) = values  # fmt: skip
    latency = LatencySketch(
        LatencySketch.decode_buckets(sketch), int(lat_zero), float(lat_total), int(lat_n),
        float(lat_max),
    )  # fmt: skip
    st = OutcomeStats(
        calls=int(calls), successes=int(ok), failures=int(bad), inconclusive=int(unknown),
        latency=latency, latency_ms_total=float(lat_ms), input_tokens=int(tin),
        output_tokens=int(tout), cost_usd=float(cost), costed_calls=int(costed),
        quality_n=int(qn), quality_sum=float(qsum), dw_pos=_unlog(dw_p), dwq_pos=_unlog(dwq_p),
        dw_neg=_unlog(dw_n), dwq_neg=_unlog(dwq_n), ds_pos=_unlog(ds_p), ds_neg=_unlog(ds_n),
        df_pos=_unlog(df_p), df_neg=_unlog(df_n), last_at=float(last_at),
    )  # fmt: skip
    return st, int(receipts)


def project_of(key: str) -> str | None:
    return key or None


def rollup_state(cells: Iterable[Sequence[Any]], ema: Iterable[Sequence[Any]]) -> ProfileState:
    """The profile state of rows read by :data:`CELL_SELECT` and :data:`EMA_SELECT`
    (half-life :data:`ROLLUP_HALF_LIFE_S`)."""
    state = ProfileState(half_life=ROLLUP_HALF_LIFE_S)
    for row in cells:
        st, n = stats_of(row[3:])
        state.parts[(row[0], row[1], project_of(row[2]))] = st
        state.receipts += n
    for model_id, task, value in ema:
        if task:
            state.task_ema[(model_id, task)] = float(value)
        else:
            state.ema[model_id] = float(value)
    return state
