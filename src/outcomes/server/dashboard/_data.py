"""Every page's data, as JSON-ready dicts: the one place the dashboard reads the store.

Each ``*_data`` function answers one page (and its ``/v1/dashboard/<page>`` JSON call)
from the wings' own reads: the profile fold for leaderboards, the dashboard's named
queries (``_queries.py``) for time series and recent receipts, the calibration and
off-policy reports, the component tracker, code adoption and the trajectory store. When
the rollup-backed reads of the scale work are available, they replace the fold and the
series query here and nowhere else.

No function returns prompt or answer text: receipts never hold any, error texts and
routing reasons were scrubbed when stored, and trajectory steps are shown as their
numbers and short labels only.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from outcomes.inference import OutcomeTracker, ProfileBook, ProfileState, is_rate_limit, profiles_of
from outcomes.inference._filter import ProfileFilter, fold_matching
from outcomes.inference._view import ModelProfile
from outcomes.server.dashboard._filters import Filters
from outcomes.server.dashboard._queries import (
    RECENT,
    SERIES,
    recent_params,
    series_params,
)
from outcomes.store import Store

Data = dict[str, Any]
T = TypeVar("T")

HOUR, DAY = 3600, 86_400
_FINE = 300
SAMPLE, SCAN = 1000, 20_000
"""Reasons and failure kinds are summarized over at most ``SAMPLE`` matching receipts
among the ``SCAN`` newest of the time range: a bounded walk of the time index, whatever
the store's size."""
_SERVER_ERROR = re.compile(r"\b5\d\d\b|server error|unavailable|overloaded", re.IGNORECASE)


def failure_kind(error: str) -> str:
    """``rate_limit``, ``timeout``, ``server_error`` or ``other``, from an error text."""
    if is_rate_limit(error):
        return "rate_limit"
    low = error.lower()
    if "timeout" in low or "timed out" in low:
        return "timeout"
    if _SERVER_ERROR.search(error):
        return "server_error"
    return "other"


class Source:
    """What the pages read: the tracker's store, one shared profile fold, and the wings'
    readers, created on first use (each migrates its tables once)."""

    def __init__(self, tracker: OutcomeTracker, store: Store, clock: Callable[[], float]):
        self.tracker = tracker
        self.store = store
        self.now = clock
        self.book = ProfileBook(store)
        self._lock = threading.Lock()
        self._readers: dict[str, Any] = {}

    def reader(self, name: str, make: Callable[[Store], Any]) -> Any:
        with self._lock:
            if name not in self._readers:
                self._readers[name] = make(self.store)
            return self._readers[name]

    def close(self) -> None:
        with self._lock:
            for r in self._readers.values():
                close = getattr(r, "close", None)
                if close is not None:
                    close()
            self._readers.clear()


def _with_state(src: Source, f: Filters, fn: Callable[[ProfileState], T]) -> T:
    """``fn`` run on the profile state of the filters' calls: the shared incremental fold
    (under its lock: it is live) for all time and no tag, else a fresh fold of the calls
    the time range and tag select (whole supersession chains, see ``ProfileFilter``)."""
    since, _ = f.window(src.now())
    if since <= 0 and not f.tag:
        return src.book.read(fn)
    flt = ProfileFilter(tag=f.tag or None, since=since if since > 0 else None)
    return fn(fold_matching(src.store, flt, half_life=src.book.half_life))


def _row(p: ModelProfile, cooldowns: dict[str, float], excluded: Iterable[str]) -> Data:
    # Read field by field rather than ``to_json``: that also computes the Beta posterior's
    # interval (a SciPy quantile per profile), which no page shows.
    iv = p.wilson_interval()
    return {
        "model_id": p.model_id,
        "task": p.task,
        "calls": p.calls,
        "successes": p.successes,
        "failures": p.failures,
        "inconclusive": p.inconclusive,
        "success_rate": p.observed_success_rate,
        "success_interval": None if iv is None else [iv[0], iv[1]],
        "quality": p.quality,
        "latency_p50_ms": p.latency_p50_ms,
        "latency_p95_ms": p.latency_p95_ms,
        "cost_usd": p.cost_usd,
        "cost_per_success": p.cost_per_success,
        "excluded": p.model_id in excluded,
        "cooling_until": cooldowns.get(p.model_id),
    }


def _rank(rows: list[Data]) -> list[Data]:
    # Best first by the interval's lower end: a model with few calls and a lucky streak
    # does not top one with thousands of calls.
    return sorted(
        rows,
        key=lambda r: (-(r["success_interval"] or [-1.0])[0], -r["calls"], r["model_id"]),
    )


def _filter_note(f: Filters, where: str = "") -> list[str]:
    if f.tag and where:
        return [f"tag {f.tag!r} applies to the leaderboards only, not to {where}"]
    return []


def models_data(src: Source, f: Filters) -> Data:
    """Leaderboards (all tasks and per task) and the quality-versus-cost points."""
    excluded, cooldowns = src.tracker.rate_limits()
    cool = dict(cooldowns)
    project = f.project or None

    def board(state: ProfileState, task: str | None) -> list[Data]:
        profiles = profiles_of(state, task=task, project_id=project)
        return _rank([_row(p, cool, excluded) for p in profiles])

    def read(state: ProfileState) -> Data:
        tasks = sorted({k[1] for k in state.parts})
        return {
            "page": "models",
            "filters": _filters_json(f),
            "notes": _filter_note(f),
            "tasks": tasks,
            "projects": sorted({k[2] for k in state.parts if k[2] is not None}),
            "leaderboard": board(state, f.task or None),
            "by_task": {t: board(state, t) for t in ([f.task] if f.task else tasks)},
        }

    return _with_state(src, f, read)


def _filters_json(f: Filters) -> Data:
    return {"since": f.since, "task": f.task, "project": f.project, "tag": f.tag, "limit": f.limit}


def _series_rows(src: Source, f: Filters, model: str = "") -> tuple[int, list[tuple[Any, ...]]]:
    """Rows of the series query with a bucket width that suits the data's span: days when
    they cover more than three, else hours when more than three, else 5 minutes. Coarse
    first, so a long history costs one query."""
    since, until = f.window(src.now())
    params = (since, until, f.task, f.project, model)
    rows: list[tuple[Any, ...]] = []
    for width in (DAY, HOUR, _FINE):
        rows = src.store.query(SERIES, series_params(width, *params))
        if len({r[1] for r in rows}) > 3:
            return width, rows
    return _FINE, rows


def _series(src: Source, f: Filters, model: str = "") -> Data:
    width, rows = _series_rows(src, f, model)
    xs = sorted({r[1] for r in rows})
    per: dict[str, dict[int, tuple[Any, ...]]] = defaultdict(dict)
    for r in rows:
        per[r[0]][r[1]] = r
    out: dict[str, list[Data]] = {}
    for m in sorted(per):
        points = []
        for b in xs:
            row = per[m].get(b)
            if row is None:
                continue
            calls, succ, fail, qsum, qn, lsum, ln, cost = (v or 0 for v in row[2:])
            points.append(
                {
                    "t": b * width,
                    "calls": int(calls),
                    "success_rate": succ / (succ + fail) if succ + fail > 0 else None,
                    "quality": qsum / qn if qn > 0 else None,
                    "latency_ms": lsum / ln if ln > 0 else None,
                    "cost_usd": float(cost),
                }
            )
        out[m] = points
    return {"bucket_s": width, "buckets": [b * width for b in xs], "models": out}


def model_data(src: Source, f: Filters, model_id: str) -> Data:
    """One model: per-task numbers, trends, and its recent failures by kind."""
    since, until = f.window(src.now())

    def read(state: ProfileState) -> list[Data] | None:
        if model_id not in state.model_ids():
            return None
        p = ModelProfile.from_state(state, model_id, project_id=f.project or None)
        return [_row(p.for_task(t), {}, ()) for t in p.tasks]

    per_task = _with_state(src, f, read)
    sample = src.store.query(
        RECENT,
        recent_params(since, until, SCAN, f.task, f.project, model_id, only_failures=True,
                      limit=SAMPLE),
    )  # fmt: skip
    kinds = Counter(failure_kind(r[8] or "") for r in sample)
    return {
        "page": "model",
        "model_id": model_id,
        "known": per_task is not None,
        "filters": _filters_json(f),
        "notes": _filter_note(f, "trends and failures"),
        "by_task": per_task or [],
        "series": _series(src, f, model_id),
        "failures_by_kind": dict(sorted(kinds.items())),
        "failures_counted": len(sample),
        "recent_failures": [
            {
                "timestamp": r[0],
                "trace_id": r[1],
                "task": r[3],
                "kind": failure_kind(r[8] or ""),
                "error": r[8],
                "latency_ms": r[9],
            }
            for r in sample[: f.limit]
        ],
    }


def routing_data(src: Source, f: Filters) -> Data:
    """Traffic share over time, recent decisions with reasons and propensities, cooldowns."""
    since, until = f.window(src.now())
    series = _series(src, f)
    decisions = src.store.query(
        RECENT,
        recent_params(since, until, SCAN, f.task, f.project, "", only_failures=False,
                      limit=SAMPLE),
    )  # fmt: skip
    reasons: dict[str, Data] = {}
    for d in decisions:
        text, model_id, propensity = d[5], d[2], d[6]
        r = reasons.setdefault(
            text, {"reason": text, "calls": 0, "models": {}, "_pn": 0, "_ps": 0.0}
        )
        r["calls"] += 1
        r["models"][model_id] = r["models"].get(model_id, 0) + 1
        if propensity is not None:
            r["_pn"] += 1
            r["_ps"] += float(propensity)
    reason_rows = []
    for r in sorted(reasons.values(), key=lambda r: (-r["calls"], r["reason"]))[: f.limit]:
        pn, ps = r.pop("_pn"), r.pop("_ps")
        r["mean_propensity"] = ps / pn if pn else None
        reason_rows.append(r)
    excluded, cooldowns = src.tracker.rate_limits()
    now = src.now()
    return {
        "page": "routing",
        "filters": _filters_json(f),
        "notes": _filter_note(f, "traffic shares and decisions"),
        "share": series,
        "decisions": [
            {
                "timestamp": r[0],
                "trace_id": r[1],
                "model_id": r[2],
                "task": r[3],
                "reason": r[5],
                "propensity": r[6],
                "success": None if r[7] is None else bool(r[7]),
            }
            for r in decisions[: f.limit]
        ],
        "decisions_counted": len(decisions),
        "reasons": reason_rows,
        "cooldowns": [
            {"model_id": m, "until": t, "seconds_left": max(t - now, 0.0)}
            for m, t in sorted(cooldowns.items())
        ],
        "excluded": sorted(excluded),
    }


def calibration_data(src: Source, f: Filters) -> Data:
    """The calibration report per (namespace, source) and the off-policy estimates."""
    from outcomes.shadow import calibration_report, offpolicy_report, report_json

    groups = report_json(calibration_report(src.store))
    estimates = [e.as_dict() for e in offpolicy_report(src.store)]
    return {
        "page": "calibration",
        "filters": _filters_json(f),
        "notes": _ignored(f, "the calibration report covers every stored observation"),
        "groups": groups,
        "offpolicy": estimates,
    }


def _ignored(f: Filters, why: str) -> list[str]:
    if f.since or f.task or f.project or f.tag:
        return [f"filters not applied on this page: {why}"]
    return []


def components_data(src: Source, f: Filters) -> Data:
    """Every component's report (problematic and frequently removed first) and conflicts."""
    from outcomes.components import ComponentTracker

    tracker = src.reader("components", ComponentTracker)
    tracker.refresh()
    reports = tracker.report()
    analysis = tracker.find_conflicts()
    rows = [
        {
            "component_id": r.component_id,
            "attempts": r.attempts,
            "successes": r.successes,
            "failures": r.failures,
            "success_rate": r.success_rate,
            "success_interval": list(r.success_interval) if r.success_interval else None,
            "usage": r.usage_count,
            "removals": r.removal_count,
            "deprecated": r.deprecated,
            "problematic": r.problematic,
            "frequently_removed": r.frequently_removed,
            "prob_rate_below_half": r.prob_rate_below_half,
        }
        for r in reports
    ]
    rows.sort(key=lambda r: (not r["problematic"], not r["frequently_removed"], -r["attempts"]))
    return {
        "page": "components",
        "filters": _filters_json(f),
        "notes": _ignored(f, "component events carry no task, project or tag"),
        "components": rows[: max(f.limit, 50)],
        "component_count": len(rows),
        "conflicts": analysis.to_json(),
    }


def code_data(src: Source, f: Filters) -> Data:
    """Verdicts per suggestion over time and per symbol, and survival at each checkpoint."""
    from outcomes.inference.code import CodeAdoption
    from outcomes.inference.code._records import SURVIVAL_MILESTONES

    adoption = src.reader("code", CodeAdoption)
    since, _ = f.window(src.now())
    suggestions = [s for s in adoption.suggestions(limit=10_000) if s.created_at >= since]
    per_day: dict[int, Counter[str]] = defaultdict(Counter)
    survival: dict[str, list[float]] = {name: [] for name, _ in SURVIVAL_MILESTONES}
    for s in suggestions:
        per_day[int(s.created_at // DAY) * DAY][s.verdict or s.status] += 1
        for name, share in s.survival.items():
            if name in survival and isinstance(share, int | float):
                survival[name].append(float(share))
    symbols: Counter[str] = Counter()
    for finding in adoption.findings(limit=10_000):
        if finding.scope == "symbol" and finding.timestamp >= since:
            symbols[finding.verdict] += 1
    verdicts = sorted({v for c in per_day.values() for v in c})
    return {
        "page": "code",
        "filters": _filters_json(f),
        "notes": _ignored(f, "only the time range applies to code suggestions")
        if (f.task or f.project or f.tag)
        else [],
        "suggestions": len(suggestions),
        "verdicts": dict(Counter(s.verdict or s.status for s in suggestions)),
        "per_day": [
            {"day": d, **{v: per_day[d].get(v, 0) for v in verdicts}} for d in sorted(per_day)
        ],
        "symbol_verdicts": dict(sorted(symbols.items())),
        "survival": [
            {
                "checkpoint": name,
                "suggestions": len(v),
                "mean_share": sum(v) / len(v) if v else None,
            }
            for name, v in survival.items()
        ],
    }


def trajectories_data(src: Source, f: Filters) -> Data:
    """The newest runs (project and time range applied)."""
    from outcomes.trajectory import TrajectoryStore

    ts = src.reader("trajectories", TrajectoryStore)
    since, _ = f.window(src.now())
    runs = [
        r
        for r in ts.list_runs(limit=f.limit)
        if r.created_at >= since and (not f.project or r.project_id == f.project)
    ]
    return {
        "page": "trajectories",
        "filters": _filters_json(f),
        "notes": _ignored(f, "runs carry no task or tag") if (f.task or f.tag) else [],
        "runs": [
            {
                "run_id": r.run_id,
                "created_at": r.created_at,
                "pipeline": r.pipeline,
                "project_id": r.project_id,
                "steps": r.step_count,
                "issues": len(r.issue_ids),
            }
            for r in runs
        ],
    }


_STEP_SCALARS = 6
_SHORT = 60


def _step_summary(body: dict[str, Any]) -> dict[str, Any]:
    """A step's numbers, booleans and short labels; lists as their length. Long strings
    (excerpts) are left out: the page shows what the pipeline decided, not the text."""
    out: dict[str, Any] = {}
    for k, v in body.items():
        if k in {"kind", "seq", "started_at", "duration_ms", "trace_id"}:
            continue
        if isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= _SHORT):
            out[k] = v
        elif isinstance(v, list):
            out[k] = f"{len(v)} items"
        if len(out) >= _STEP_SCALARS:
            break
    return out


def trajectory_data(src: Source, f: Filters, run_id: str) -> Data:
    """One run: its ordered steps with kinds and timings, linked calls and verdicts."""
    from outcomes.trajectory import TrajectoryStore

    ts = src.reader("trajectories", TrajectoryStore)
    header = ts.run(run_id)
    wire = ts.get_json(run_id) or []
    calls = ts.call_receipts(run_id) if header is not None else {}
    verdicts = ts.verdicts(run_id) if header is not None else {}
    t0 = min(
        (w["started_at"] for w in wire if isinstance(w.get("started_at"), float)), default=None
    )
    steps = []
    for w in wire:
        started = w.get("started_at")
        steps.append(
            {
                "seq": w.get("seq"),
                "kind": w.get("kind"),
                "offset_ms": (started - t0) * 1000 if isinstance(started, float) and t0 else None,
                "duration_ms": w.get("duration_ms"),
                "trace_id": w.get("trace_id"),
                "details": _step_summary(w),
            }
        )
    return {
        "page": "trajectory",
        "run_id": run_id,
        "found": header is not None,
        "filters": _filters_json(f),
        "pipeline": header.pipeline if header else None,
        "created_at": header.created_at if header else None,
        "project_id": header.project_id if header else None,
        "steps": steps,
        "calls": {
            t: [
                {
                    "model_id": r.model_id,
                    "success": r.success,
                    "quality": r.quality,
                    "latency_ms": r.latency_ms,
                    "source": r.source,
                }
                for r in rs
            ]
            for t, rs in calls.items()
        },
        "verdicts": {
            k: {"verdict": r.intent, "success": r.success, "at": r.timestamp}
            for k, r in verdicts.items()
        },
    }


PAGES: dict[str, Callable[[Source, Filters], Data]] = {
    "models": models_data,
    "routing": routing_data,
    "calibration": calibration_data,
    "components": components_data,
    "code": code_data,
    "trajectories": trajectories_data,
}
"""The list pages by path name; a model's and a run's pages take an id as well."""


def now() -> float:
    return time.time()
