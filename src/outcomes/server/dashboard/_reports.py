"""The pages over the other wings' reports: calibration, components, code adoption, runs.

Like ``_data`` (the model and routing pages), one function per page returning the
JSON-ready dict its HTML and its JSON call both render. These read the wings' own
reports (calibration and off-policy, the component tracker, code adoption, the trajectory
store) rather than receipts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

from outcomes.server.dashboard._data import DAY, Data, Source, scoped
from outcomes.server.dashboard._filters import Filters


def _calibration(src: Source) -> Any:
    from outcomes.shadow import calibration_report, report_json

    return report_json(calibration_report(src.store))


def _offpolicy(src: Source) -> Any:
    from outcomes.shadow import offpolicy_report

    return [e.as_dict() for e in offpolicy_report(src.store)]


def _conflicts(src: Source) -> Any:
    from outcomes.components import ComponentTracker

    return src.reader("components", ComponentTracker).find_conflicts().to_json()


REPORTS: dict[str, Callable[[Source], Any]] = {
    "calibration": _calibration,
    "offpolicy": _offpolicy,
    "conflicts": _conflicts,
}
"""The reports that resample (bootstraps, exact tests), by cache name: the pages serve
them from memory (``Source.cached``) and ``outcomes serve`` starts them at start-up
(:func:`warm_up`)."""


def warm_up(src: Source) -> None:
    """Start computing every report in the background (not waiting for any)."""
    for name in REPORTS:
        src.warm(name, partial(_compute, src, name))


def _compute(src: Source, name: str) -> Any:
    return REPORTS[name](src)


def _report(src: Source, name: str) -> Any:
    return src.cached(name, partial(_compute, src, name))


def calibration_data(src: Source, f: Filters) -> Data:
    """The calibration report per (namespace, source) and the off-policy estimates."""
    groups = _report(src, "calibration")
    estimates = _report(src, "offpolicy")
    return {
        "page": "calibration",
        **scoped("calibration", f),
        "groups": groups,
        "offpolicy": estimates,
        "report_age_s": _age(src, "calibration", "offpolicy"),
    }


def _age(src: Source, *names: str) -> float | None:
    ages = [a for a in map(src.age, names) if a is not None]
    return max(ages, default=None)


def components_data(src: Source, f: Filters) -> Data:
    """Every component's report (problematic and frequently removed first) and conflicts."""
    from outcomes.components import ComponentTracker

    tracker = src.reader("components", ComponentTracker)
    tracker.refresh()
    reports = tracker.report()
    conflicts = _report(src, "conflicts")
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
        **scoped("components", f),
        "components": rows[: max(f.limit, 50)],
        "component_count": len(rows),
        "conflicts": conflicts,
        "report_age_s": _age(src, "conflicts"),
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
    symbol_days: dict[int, Counter[str]] = defaultdict(Counter)
    for finding in adoption.findings(limit=10_000):
        if finding.scope == "symbol" and finding.timestamp >= since:
            symbols[finding.verdict] += 1
            symbol_days[int(finding.timestamp // DAY) * DAY][finding.verdict] += 1
    verdicts = sorted({v for c in per_day.values() for v in c})
    return {
        "page": "code",
        **scoped("code", f),
        "suggestions": len(suggestions),
        "verdicts": dict(Counter(s.verdict or s.status for s in suggestions)),
        "per_day": [
            {"day": d, **{v: per_day[d].get(v, 0) for v in verdicts}} for d in sorted(per_day)
        ],
        "symbol_verdicts": dict(sorted(symbols.items())),
        "symbol_per_day": [
            {"day": d, **{v: symbol_days[d].get(v, 0) for v in sorted(symbols)}}
            for d in sorted(symbol_days)
        ],
        "recent": [
            {
                "created_at": s.created_at,
                "path": s.path,
                "language": s.language,
                "verdict": s.verdict or s.status,
                "confidence": s.confidence,
                "survival": dict(s.survival),
            }
            for s in suggestions[: f.limit]
        ],
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
    runs = ts.list_runs(
        limit=f.limit, since=since if since > 0 else None, project_id=f.project or None
    )
    return {
        "page": "trajectories",
        **scoped("trajectories", f),
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
        **scoped("trajectory", f),
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
