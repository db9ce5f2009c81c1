"""Time series per model and task, by hour or by day, read from the store's hourly rollups.

What a dashboard draws: for each bucket, each model and task, the calls and their
outcomes, latency (mean and p95 from the merged sketches), tokens, cost and quality. The
read costs one rollup row per (model, task, project, hour) in the range, whatever the
number of receipts. A receipt that supersedes another is counted in the hour of the
call it replaces, so a bucket's success rate is that of the calls made in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from outcomes.inference._profiles import OutcomeStats
from outcomes.inference._queries import ROLLUP_RANGE_ROWS, range_params
from outcomes.store import BUCKET_S, Store, project_of, stats_of

Bucket = Literal["hour", "day"]
_SPAN: dict[str, int] = {"hour": BUCKET_S, "day": 86_400}


@dataclass(frozen=True, slots=True)
class TimePoint:
    """One bucket of one model and task (projects merged unless filtered).

    ``start`` is the bucket's start (epoch seconds, UTC hours or days). Rates and means
    are ``None`` when nothing was measured (no decided outcome, no latency, no quality).
    """

    start: int
    model_id: str
    task: str
    calls: int
    successes: int
    failures: int
    inconclusive: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    latency_mean_ms: float | None
    latency_p95_ms: float | None
    quality_mean: float | None

    @property
    def success_rate(self) -> float | None:
        decided = self.successes + self.failures
        return None if decided <= 0 else self.successes / decided

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "model_id": self.model_id,
            "task": self.task,
            "calls": self.calls,
            "successes": self.successes,
            "failures": self.failures,
            "inconclusive": self.inconclusive,
            "success_rate": self.success_rate,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "latency_mean_ms": self.latency_mean_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "quality_mean": self.quality_mean,
        }


def _point(start: int, model_id: str, task: str, st: OutcomeStats) -> TimePoint:
    lat = st.latency
    p95 = lat.quantile(0.95)
    return TimePoint(
        start=start, model_id=model_id, task=task, calls=st.calls, successes=st.successes,
        failures=st.failures, inconclusive=st.inconclusive, input_tokens=st.input_tokens,
        output_tokens=st.output_tokens, cost_usd=st.cost_usd,
        latency_mean_ms=st.latency_ms_total / lat.n if lat.n else None,
        latency_p95_ms=None if p95 is None else p95 * 1000.0,
        quality_mean=st.quality_sum / st.quality_n if st.quality_n > 0 else None,
    )  # fmt: skip


def timeseries(
    store: Store,
    *,
    since: float,
    until: float,
    bucket: Bucket = "hour",
    model_id: str | None = None,
    task: str | None = None,
    project_id: str | None = None,
) -> list[TimePoint]:
    """Points per bucket, model and task for the calls made in ``[since, until)``.

    ``since``/``until`` are epoch seconds (rounded out to whole hours); ``bucket`` is
    ``"hour"`` or ``"day"`` (UTC days). ``model_id``, ``task`` and ``project_id`` filter.
    Points are ordered by start, model, task; buckets without calls for a model and task
    are absent. Raises ``ValueError`` for an unknown bucket, a non-finite bound or
    ``since > until``.
    """
    span = _SPAN.get(bucket)
    if span is None:
        raise ValueError(f"bucket must be 'hour' or 'day', got {bucket!r}")
    if not (math.isfinite(since) and math.isfinite(until)) or since > until:
        raise ValueError(f"need finite since <= until, got {since!r} and {until!r}")
    low = int(since // BUCKET_S) * BUCKET_S
    high = math.ceil(until / BUCKET_S) * BUCKET_S
    acc: dict[tuple[int, str, str], OutcomeStats] = {}
    # By day, whole days come from rollup_daily (one row per cell and day).
    spans = range_params(low, high, days=span % 86_400 == 0)
    for row in store.iter_query(ROLLUP_RANGE_ROWS, spans):
        m, t, p, hour = row[0], row[1], project_of(row[2]), int(row[3])
        if (model_id is not None and m != model_id) or (task is not None and t != task):
            continue
        if project_id is not None and p != project_id:
            continue
        st, _ = stats_of(row[4:])
        key = (hour - hour % span, m, t)
        seen = acc.get(key)
        if seen is None:
            acc[key] = st
        else:
            seen.merge(st)
    return [_point(start, m, t, st) for (start, m, t), st in sorted(acc.items())]
