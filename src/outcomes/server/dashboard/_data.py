"""The model and routing pages' data, as JSON-ready dicts: the one place receipts are read.

Each ``*_data`` function answers one page (and its ``/v1/dashboard/<page>`` JSON call):
leaderboards from the profile fold, time series and recent receipts from the dashboard's
named queries (``_queries.py``). Rollup-backed reads replace those here and nowhere
else. The other wings' pages are in ``_reports.py``; :class:`Source` serves both.

No function returns prompt or answer text: receipts never hold any, and error texts and
routing reasons were scrubbed when stored.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from outcomes._safejson import read_limited
from outcomes._validate import decode
from outcomes.inference import OutcomeTracker, ProfileBook, ProfileState, is_rate_limit, profiles_of
from outcomes.inference._filter import ProfileFilter, fold_matching
from outcomes.inference._view import ModelProfile
from outcomes.server.dashboard._cutoffs import RULES, cutoffs, summary
from outcomes.server.dashboard._filters import Filters, scope
from outcomes.server.dashboard._queries import (
    CELLS,
    OUTCOMES,
    RECENT,
    SERIES,
    cells_params,
    outcomes_params,
    recent_params,
    series_params,
)
from outcomes.store import BUCKET_S, Store, project_of, stats_of
from outcomes.store._newest import window_since
from outcomes.store._rollup_rows import ROLLUP_HALF_LIFE_S

Data = dict[str, Any]
T = TypeVar("T")

HOUR, DAY = 3600, 86_400
_END = 2**62
"""An hour past any stored one (rollup hours are integers)."""
REPORT_TTL_S = 30.0
"""The calibration report and the conflict scan are recomputed at most this often."""
THREAD_PREFIX = "dashboard-"
"""Names of the threads that compute reports start with this."""
SAMPLE, SCAN = 1000, 20_000
"""Reasons and failure kinds are summarized over at most ``SAMPLE`` matching receipts
among the ``SCAN`` newest of the time range: a bounded walk of the time index, whatever
the store's size."""
ROUTING_SCAN = 10_000
"""The routing page's cut-offs replay the rules over the calls among this many newest
receipts of the range, and its decisions are the newest ``SAMPLE`` routed calls among
them: the breaker needs every call's outcome in order, and that walk is the page's
largest cost (about 30 ms per 10,000 receipts on SQLite)."""
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


class _Policy(msgspec.Struct):
    name: str
    cost_usd: float
    quality: float


class _Single(msgspec.Struct):
    cost_usd: float
    quality: float


class _Replay(msgspec.Struct):
    """The part of ``outcomes bench router --json``'s report the routing page draws."""

    policies: list[_Policy]
    single_models: dict[str, _Single]
    aiq: dict[str, float] = msgspec.field(default_factory=dict)


MAX_REPLAY_BYTES = 16 << 20


def load_replay(path: Path) -> Data:
    """The quality/cost frontier of a replay report file, or ``{"error": ...}`` naming what
    is wrong with it (the page shows that instead of failing)."""
    try:
        report = decode(read_limited(path, MAX_REPLAY_BYTES), _Replay, where=path.name)
    except (OSError, ValueError) as exc:
        return {"source": path.name, "error": str(exc)}
    lines: dict[str, list[list[float]]] = defaultdict(list)
    for p in report.policies:
        lines[p.name].append([p.cost_usd, p.quality])
    return {
        "source": path.name,
        "policies": {k: sorted(v) for k, v in sorted(lines.items())},
        "single_models": {
            k: [v.cost_usd, v.quality] for k, v in sorted(report.single_models.items())
        },
        "frontier_area": dict(sorted(report.aiq.items())),
    }


class Source:
    """What the pages read: the tracker's store, one shared profile fold, and the wings'
    readers, created on first use (each migrates its tables once)."""

    def __init__(
        self,
        tracker: OutcomeTracker,
        store: Store,
        clock: Callable[[], float],
        replay: Path | None = None,
    ):
        self.tracker = tracker
        self.store = store
        self.now = clock
        self.replay = replay
        self.book = ProfileBook(store)
        self._lock = threading.Lock()
        self._readers: dict[str, Any] = {}
        self._cache: dict[str, tuple[float, Any]] = {}
        self._refreshing: dict[str, threading.Thread] = {}
        self._started: dict[str, float] = {}

    def warm(self, name: str, fn: Callable[[], Any]) -> None:
        """Start computing ``name`` in the background unless it is cached or running:
        ``outcomes serve`` does so at start-up, so the page's first call finds the report
        in memory instead of waiting for its bootstrap (or meets :class:`Computing`)."""
        with self._lock:
            if name not in self._cache:
                self._spawn(name, fn)

    def _spawn(self, name: str, fn: Callable[[], Any]) -> None:
        # Under self._lock.
        if name in self._refreshing:
            return
        self._started[name] = time.monotonic()
        self._refreshing[name] = threading.Thread(
            target=self._refresh, args=(name, fn), name=f"{THREAD_PREFIX}{name}", daemon=True
        )
        self._refreshing[name].start()

    def cached(self, name: str, fn: Callable[[], T], ttl: float = REPORT_TTL_S) -> T:
        """``fn()``, computed at most once per ``ttl`` seconds (per process): for reports that
        resample (bootstraps, exact tests) and cost far more than a page should. Only the
        first call waits for ``fn``; once the value is older than ``ttl``, calls get it
        while one background thread computes the next (so a page stays fast, and says how
        old its report is: :meth:`age`). A failed recomputation keeps the old value and
        is tried again on the next call. While a first computation started by :meth:`warm`
        runs, calls raise :class:`Computing` at once rather than wait for it."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(name)
            if hit is None and name in self._refreshing:
                raise Computing(name, now - self._started[name])
            if hit is not None and now - hit[0] >= ttl:
                self._spawn(name, fn)
        if hit is not None:
            return hit[1]  # type: ignore[no-any-return]
        value = fn()
        with self._lock:
            self._cache[name] = (now, value)
        return value

    def _refresh(self, name: str, fn: Callable[[], Any]) -> None:
        started = time.monotonic()
        try:
            value = fn()
        except Exception:  # kept stale and retried on the next call; the age shows it
            value = None
            failed = True
        else:
            failed = False
        with self._lock:
            if not failed:
                self._cache[name] = (started, value)
            self._refreshing.pop(name, None)

    def age(self, name: str) -> float | None:
        """Seconds since the cached ``name`` was computed (None: never)."""
        with self._lock:
            hit = self._cache.get(name)
        return None if hit is None else time.monotonic() - hit[0]

    def settle(self, timeout: float = 30.0) -> None:
        """Wait for the background recomputations running now (tests; closing)."""
        with self._lock:
            running = list(self._refreshing.values())
        for t in running:
            t.join(timeout)

    def reader(self, name: str, make: Callable[[Store], Any]) -> Any:
        with self._lock:
            if name not in self._readers:
                self._readers[name] = make(self.store)
            return self._readers[name]

    def close(self) -> None:
        self.settle()
        with self._lock:
            for r in self._readers.values():
                close = getattr(r, "close", None)
                if close is not None:
                    close()
            self._readers.clear()


class Computing(Exception):
    """A report's first computation is running (started at start-up): the page says so
    and how long it has taken, instead of blocking until it is ready."""

    def __init__(self, report: str, seconds: float):
        super().__init__(f"the {report} report is being computed ({seconds:.1f} s so far)")
        self.report = report
        self.seconds = seconds


def _with_state(
    src: Source, f: Filters, fn: Callable[[ProfileState], T], model: str | None = None
) -> T:
    """``fn`` run on the profile state of the filters' calls: the shared incremental fold
    (under its lock: it is live) for all time and no tag, else a fresh fold of the calls
    the time range and tag select (whole supersession chains, see ``ProfileFilter``).
    With ``model``, a time range's state may hold that model's cells only."""
    since, _ = f.window(src.now())
    if since <= 0 and not f.tag:
        return src.book.read(fn)
    if not f.tag:
        return fn(_rollup_state(src.store, since, model))
    flt = ProfileFilter(tag=f.tag, since=since if since > 0 else None)
    return fn(fold_matching(src.store, flt, half_life=src.book.half_life))


def _rollup_state(store: Store, since: float, model: str | None = None) -> ProfileState:
    """The profile state of the calls made since ``since`` (rounded down to the hour),
    from the hourly rollups merged per cell in the database (``dashboard.cells``: sums,
    maxima, log-sum-exp of the decayed sums, the sketches joined), then read back once
    per cell: a cost set by cells, not by hours or receipts. With ``model``, only that
    model's cells are read back (decoding a cell's sketch is most of the cost)."""
    low = int(since // BUCKET_S) * BUCKET_S
    state = ProfileState(half_life=ROLLUP_HALF_LIFE_S)
    for row in store.query(CELLS, cells_params(low, _END)):
        if model is not None and row[0] != model:
            continue
        state.parts[(row[0], row[1], project_of(row[2]))] = stats_of(row[3:])[0]
    return state


def _row(p: ModelProfile, cooldowns: dict[str, float], excluded: Iterable[str]) -> Data:
    # Read field by field rather than ``to_json``: that also computes the Beta posterior's
    # interval (a SciPy quantile per profile), which no page shows.
    iv = p.wilson_interval()
    return {
        "model_id": p.model_id,
        "task": p.task,
        **p.counts_json(),
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


def scoped(page: str, f: Filters) -> Data:
    """The filters as given, which of them ``page`` applies (and why not the others), and
    a note for each one set that it does not apply."""
    applies, notes = scope(page, f)
    return {"filters": _filters_json(f), "scope": applies, "notes": notes}


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
            **scoped("models", f),
            "tasks": tasks,
            "projects": sorted({k[2] for k in state.parts if k[2] is not None}),
            "leaderboard": board(state, f.task or None),
            "by_task": {t: board(state, t) for t in ([f.task] if f.task else tasks)},
        }

    return _with_state(src, f, read)


def _filters_json(f: Filters) -> Data:
    return {"since": f.since, "task": f.task, "project": f.project, "tag": f.tag, "limit": f.limit}


def _series_rows(src: Source, f: Filters, model: str = "") -> tuple[int, list[tuple[Any, ...]]]:
    """Rows of the series query by day when they cover more than three days, else by hour
    (the rollups' resolution). Coarse first, so a long history costs one query."""
    since, until = f.window(src.now())
    params = (since, until, f.task, f.project, model)
    rows = src.store.query(SERIES, series_params(DAY, *params))
    if len({r[1] for r in rows}) > 3:
        return DAY, rows
    return HOUR, src.store.query(SERIES, series_params(HOUR, *params))


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

    per_task = _with_state(src, f, read, model_id)
    sample = src.store.query(
        RECENT,
        recent_params(since, until, SCAN, f.task, f.project, model_id, limit=SAMPLE),
    )  # fmt: skip
    kinds = Counter(failure_kind(r[8] or "") for r in sample)
    return {
        "page": "model",
        "model_id": model_id,
        "known": per_task is not None,
        **scoped("model", f),
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


def _reasons(decisions: list[tuple[Any, ...]], limit: int) -> list[Data]:
    """Routing reasons by use: calls per model and mean propensity."""
    reasons: dict[str, Data] = {}
    for d in decisions:
        text, model_id, propensity = d[6], d[1], d[7]
        r = reasons.setdefault(
            text, {"reason": text, "calls": 0, "models": {}, "_pn": 0, "_ps": 0.0}
        )
        r["calls"] += 1
        r["models"][model_id] = r["models"].get(model_id, 0) + 1
        if propensity is not None:
            r["_pn"] += 1
            r["_ps"] += float(propensity)
    rows = []
    for r in sorted(reasons.values(), key=lambda r: (-r["calls"], r["reason"]))[:limit]:
        pn, ps = r.pop("_pn"), r.pop("_ps")
        r["mean_propensity"] = ps / pn if pn else None
        rows.append(r)
    return rows


def _cutoffs(rows: list[tuple[Any, ...]], now: float) -> Data:
    """The cut-offs the rate-limit rule and the breaker give over the calls of a bounded
    walk (``dashboard.outcomes``, newest first), and the span of the calls walked."""
    cuts = cutoffs(((r[0], r[1], r[2], r[3]) for r in reversed(rows)), failure_kind)
    return {
        "calls_replayed": len(rows),
        "failures": sum(1 for r in rows if r[2]),
        "scan": ROUTING_SCAN,
        "from": rows[-1][0] if rows else None,
        "to": rows[0][0] if rows else None,
        "now": now,
        "rules": RULES,
        "cutoffs": cuts[::-1],
        "summary": summary(cuts),
    }


def _bool(v: Any) -> bool | None:
    return None if v is None else bool(v)


def routing_data(src: Source, f: Filters) -> Data:
    """Traffic share over time, recent decisions with reasons and propensities, when each
    model was cut off and why, and this process's cooldowns."""
    since, until = f.window(src.now())
    series = _series(src, f)
    # One bounded walk serves the cut-offs (every call's outcome, in order) and the
    # decisions (the newest routed calls among them).
    # Narrowed first to where the range's newest ROUTING_SCAN receipts start: PostgreSQL
    # indexes timestamps by block ranges, which cannot walk them newest first.
    start = window_since(src.store, since, until, ROUTING_SCAN)
    calls = src.store.query(
        OUTCOMES, outcomes_params(start, until, ROUTING_SCAN, f.task, f.project)
    )
    decisions = [r for r in calls if r[6]][:SAMPLE]
    excluded, cooldowns = src.tracker.rate_limits()
    now = src.now()
    return {
        "page": "routing",
        **scoped("routing", f),
        "share": series,
        "decisions": [
            {
                "timestamp": r[0],
                "trace_id": r[4],
                "model_id": r[1],
                "task": r[5],
                "reason": r[6],
                "propensity": r[7],
                "success": _bool(r[8]),
            }
            for r in decisions[: f.limit]
        ],
        "decisions_counted": len(decisions),
        "reasons": _reasons(decisions, f.limit),
        "cutoffs": _cutoffs(calls, src.now()),
        "cooldowns": [
            {"model_id": m, "until": t, "seconds_left": max(t - now, 0.0)}
            for m, t in sorted(cooldowns.items())
        ],
        "excluded": sorted(excluded),
        "replay": None if src.replay is None else load_replay(src.replay),
    }


def now() -> float:
    return time.time()
