"""Each page as HTML: its data (from ``_data``) drawn as charts with their tables beside them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outcomes.server.dashboard import _svg as svg
from outcomes.server.dashboard._filters import Filters
from outcomes.server.dashboard._html import (
    Cell,
    api_link,
    esc,
    filter_form,
    interval,
    link,
    n,
    notes,
    pair,
    path_part,
    pct,
    table,
    usd,
    when,
)

Data = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ctx:
    """Where links point: the app's root path, the JSON API prefix, and the filters."""

    root: str
    api: str
    filters: Filters
    tasks: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()

    def page(self, path: str, **changes: str) -> str:
        return f"{self.root}/{path}{self.filters.query(**changes)}"

    def data(self, path: str) -> str:
        return f"{self.root}{self.api}/dashboard/{path}{self.filters.query()}"


def _head(ctx: Ctx, data_path: str, d: Data) -> str:
    return (
        filter_form(ctx.filters, ctx.tasks, ctx.projects)
        + api_link(ctx.data(data_path))
        + notes(d.get("notes", []))
    )


def _board_rows(ctx: Ctx, rows: list[Data], *, by_task: bool = False) -> list[list[Any]]:
    out = []
    for r in rows:
        status = "excluded" if r["excluded"] else ("cooling down" if r["cooling_until"] else "")
        out.append(
            [
                link(ctx.page(f"models/{path_part(r['model_id'])}", task=r["task"]), r["task"])
                if by_task
                else link(ctx.page(f"models/{path_part(r['model_id'])}"), r["model_id"]),
                n(r["calls"]),
                Cell(pct(r["success_rate"]), "n"),
                Cell(interval(r["success_interval"]), "n"),
                Cell(pct(r["quality"]), "n"),
                n(r["latency_p50_ms"]),
                n(r["latency_p95_ms"]),
                Cell(usd(r["cost_per_success"]), "n"),
                status,
            ]
        )
    return out


_BOARD = (
    "model",
    "calls",
    "success",
    "95% interval",
    "decayed quality",
    "p50 ms",
    "p95 ms",
    "cost / success",
    "state",
)


def models_page(ctx: Ctx, d: Data) -> str:
    dots = []
    for r in d["leaderboard"]:
        if r["cost_per_success"] is None or r["success_rate"] is None:
            continue
        lo, hi = r["success_interval"] or (None, None)
        dots.append(svg.Dot(r["model_id"], r["cost_per_success"], r["success_rate"], lo, hi))
    free = [r["model_id"] for r in d["leaderboard"] if r["cost_per_success"] == 0]
    chart = svg.scatter_chart(
        "Success rate versus cost per success (95% intervals)",
        [x for x in dots if x.x > 0],
        x_label="USD per success",
        y_label="success rate",
        log_x=True,
    )
    body = [_head(ctx, "models", d)]
    scope = f"task {ctx.filters.task}" if ctx.filters.task else "all tasks"
    body.append(f"<h2>Leaderboard ({esc(scope)})</h2>")
    body.append(
        pair(
            chart,
            table("models, best lower interval first", _BOARD, _board_rows(ctx, d["leaderboard"])),
        )
    )
    if free:
        body.append(f'<p class="muted">Not on the log-cost axis (free): {esc(", ".join(free))}</p>')
    for task, rows in d["by_task"].items():
        if ctx.filters.task:
            break
        body.append(f"<h2>Task {esc(task)}</h2>")
        body.append(table(f"leaderboard for task {task}", _BOARD, _board_rows(ctx, rows)))
    return "".join(body)


def _trend_series(series: Data, metric: str) -> list[svg.Series]:
    return [
        svg.Series(m, [(p["t"], p[metric]) for p in pts if p[metric] is not None])
        for m, pts in series["models"].items()
    ]


def model_page(ctx: Ctx, d: Data) -> str:
    body = [_head(ctx, f"models/{path_part(d['model_id'])}", d)]
    if not d["known"]:
        body.append('<p class="note">No calls of this model match these filters.</p>')
    body.append(
        table("per task", ("task", *_BOARD[1:]), _board_rows(ctx, d["by_task"], by_task=True))
    )
    width = d["series"]["bucket_s"]
    unit = {300: "5 minutes", 3600: "hour", 86_400: "day"}.get(width, f"{width} s")
    body.append(f"<h2>Trends (per {esc(unit)})</h2>")
    points: list[Data] = next(iter(d["series"]["models"].values()), [])
    rows = [
        [
            when(p["t"]),
            n(p["calls"]),
            Cell(pct(p["success_rate"]), "n"),
            Cell(pct(p["quality"]), "n"),
            n(p["latency_ms"]),
            Cell(usd(p["cost_usd"]), "n"),
        ]
        for p in points
    ]
    charts = [
        svg.line_chart("Calls", _trend_series(d["series"], "calls"), y_label="calls"),
        svg.line_chart(
            "Success rate",
            _trend_series(d["series"], "success_rate"),
            y_label="success rate",
            y_range=(0.0, 1.0),
        ),
        svg.line_chart(
            "Quality (mean of signals)",
            _trend_series(d["series"], "quality"),
            y_label="quality",
            y_range=(0.0, 1.0),
        ),
        svg.line_chart("Latency (mean ms)", _trend_series(d["series"], "latency_ms"), y_label="ms"),
        svg.line_chart("Cost (USD)", _trend_series(d["series"], "cost_usd"), y_label="USD"),
    ]
    body.append(
        pair(
            "".join(charts),
            table(
                "trend numbers",
                ("bucket start (UTC)", "calls", "success", "quality", "latency ms", "cost"),
                rows,
            ),
        )
    )
    body.append(f"<h2>Failures by kind (newest {d['failures_counted']:,})</h2>")
    kinds = sorted(d["failures_by_kind"].items())
    body.append(
        pair(
            svg.bar_chart("Failures by kind", kinds, x_label="failed calls"),
            table("failures by kind", ("kind", "failed calls"), [[k, n(v)] for k, v in kinds]),
        )
    )
    recent = [
        [when(r["timestamp"]), r["task"], r["kind"], r["error"] or "", n(r["latency_ms"])]
        for r in d["recent_failures"]
    ]
    body.append(
        table(
            "recent failures (error text as stored, scrubbed; never prompt text)",
            ("time (UTC)", "task", "kind", "error", "latency ms"),
            recent,
        )
    )
    return "".join(body)


def routing_page(ctx: Ctx, d: Data) -> str:
    share = d["share"]
    xs = share["buckets"]
    series = []
    for m, pts in share["models"].items():
        by_t = {p["t"]: p["calls"] for p in pts}
        series.append((m, [float(by_t.get(x, 0)) for x in xs]))
    body = [_head(ctx, "routing", d), "<h2>Traffic share per model</h2>"]
    totals = sorted(((m, sum(v)) for m, v in series), key=lambda t: -t[1])
    grand = sum(t for _, t in totals) or 1.0
    body.append(
        pair(
            svg.stacked_bars(
                "Traffic share per model over time",
                xs,
                series,
                y_label="share of calls",
                share=True,
            ),
            table(
                "calls per model in the range",
                ("model", "calls", "share"),
                [[m, n(int(t)), Cell(pct(t / grand), "n")] for m, t in totals],
            ),
        )
    )
    body.append("<h2>Routing reasons</h2>")
    body.append(
        table(
            f"reasons among the newest {d['decisions_counted']:,} routed calls, most used first",
            ("reason", "calls", "models", "mean propensity"),
            [
                [
                    r["reason"],
                    n(r["calls"]),
                    ", ".join(f"{m} ({c})" for m, c in sorted(r["models"].items())),
                    n(r["mean_propensity"]),
                ]
                for r in d["reasons"]
            ],
        )
    )
    body.append("<h2>Recent decisions</h2>")
    body.append(
        table(
            "newest routed calls (outcome at completion)",
            ("time (UTC)", "model", "task", "reason", "propensity", "success"),
            [
                [
                    when(r["timestamp"]),
                    link(ctx.page(f"models/{path_part(r['model_id'])}"), r["model_id"]),
                    r["task"],
                    r["reason"],
                    n(r["propensity"]),
                    _ok(r["success"]),
                ]
                for r in d["decisions"]
            ],
        )
    )
    body.append("<h2>Cooldowns and exclusions (this server process)</h2>")
    rows = [[c["model_id"], when(c["until"]), n(c["seconds_left"])] for c in d["cooldowns"]]
    rows += [[m, "excluded for the session", ""] for m in d["excluded"]]
    body.append(table("rate-limited models", ("model", "until (UTC)", "seconds left"), rows))
    return "".join(body)


def _ok(value: bool | None) -> Cell:
    if value is None:
        return Cell('<span class="muted">unknown</span>')
    return Cell('<span class="good">yes</span>' if value else '<span class="bad">no</span>')


def calibration_page(ctx: Ctx, d: Data) -> str:
    body = [_head(ctx, "calibration", d)]
    if not d["groups"]:
        body.append('<p class="note">No shadow observations stored yet.</p>')
    for g in d["groups"]:
        title = f"{g['namespace']} / {g['source']}"
        body.append(f"<h2>{esc(title)}: verdict {esc(g['verdict'])}</h2>")
        lines = [svg.Series("perfect calibration", [(0.0, 0.0), (1.0, 1.0)])]
        rows = []
        for score in ("caller", "derived"):
            bins = g["reliability"].get(score) or []
            lines.append(
                svg.Series(f"{score} score", [(b["mean_score"], b["observed_rate"]) for b in bins])
            )
            rows += [
                [score, n(b["mean_score"]), n(b["observed_rate"]), n(b["count"])] for b in bins
            ]
        chart = svg.line_chart(
            f"Reliability diagram: {title}",
            lines,
            y_label="observed rate",
            x_label="mean score in bin",
            time_axis=False,
            y_range=(0.0, 1.0),
        )
        diff = g["brier_diff_interval"]
        summary = (
            f"<p><strong>{esc(g['verdict'])}</strong>: {esc(g['reason'])}</p>"
            f"<p>Brier difference (derived − caller): {esc(_f(g['brier_diff_mean']))}, 95% "
            f"interval {esc(_iv(diff))} ({esc(g['interval_method'] or 'n/a')}); "
            f"{g['labeled']:,} labeled of {g['count']:,} observations.</p>"
        )
        body.append(
            pair(
                chart,
                summary
                + table("reliability bins", ("score", "mean score", "observed rate", "rows"), rows),
            )
        )
    body.append("<h2>Off-policy estimates of shadow candidates</h2>")
    body.append(
        table(
            "IPS / SNIPS estimates with 95% intervals",
            (
                "point",
                "candidate",
                "decisions",
                "live value",
                "SNIPS",
                "interval",
                "agreement",
                "effective n",
            ),
            [
                [
                    e["point"],
                    e["candidate"],
                    n(e["decisions"]),
                    n(e["live_value"]),
                    n(e["snips"]),
                    _iv(e["snips_interval"]),
                    n(e["agreement"]),
                    n(e["effective_sample_size"]),
                ]
                for e in d["offpolicy"]
            ],
        )
    )
    return "".join(body)


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:+.4f}"


def _iv(iv: list[float] | None) -> str:
    return "—" if not iv else f"[{iv[0]:+.4f}, {iv[1]:+.4f}]"


def components_page(ctx: Ctx, d: Data) -> str:
    comps = d["components"]
    dots = [
        svg.Dot(
            c["component_id"],
            float(c["attempts"]),
            c["success_rate"],
            *(c["success_interval"] or (None, None)),
        )
        for c in comps[:12]
        if c["success_rate"] is not None and c["attempts"] > 0
    ]
    body = [_head(ctx, "components", d), "<h2>Install success (problematic first)</h2>"]
    rows = [
        [
            c["component_id"],
            n(c["attempts"]),
            Cell(pct(c["success_rate"]), "n"),
            Cell(interval(c["success_interval"]), "n"),
            n(c["removals"]),
            _flags(c),
        ]
        for c in comps
    ]
    body.append(
        pair(
            svg.scatter_chart(
                "Install success rate by attempts (95% intervals)",
                dots,
                x_label="install attempts",
                y_label="success rate",
                log_x=True,
            ),
            table(
                f"{d['component_count']} components",
                ("component", "attempts", "success", "95% interval", "removals", "flags"),
                rows,
            ),
        )
    )
    conf = d["conflicts"]
    body.append("<h2>Conflicts</h2>")
    body.append(
        f"<p>{conf['pairs_tested']:,} pairs tested over {conf['sessions']:,} sessions "
        f"({conf['outage_sessions']:,} outage sessions left out); kept: joint failures ≥ "
        f"{conf['min_joint']}, lift ≥ {conf['min_lift']}, BH-adjusted p ≤ {conf['fdr']}.</p>"
    )
    bars = [(f"{c['component_a']} + {c['component_b']}", c["lift"]) for c in conf["conflicts"]]
    body.append(
        pair(
            svg.bar_chart(
                "Lift of conflicting pairs", bars[:20], x_label="lift (observed / expected)"
            ),
            table(
                "conflicting pairs",
                ("pair", "joint failures", "expected", "lift", "p", "adjusted p"),
                [
                    [
                        f"{c['component_a']} + {c['component_b']}",
                        n(c["joint_failures"]),
                        n(c["expected_joint"]),
                        n(c["lift"]),
                        n(c["p_value"]),
                        n(c["q_value"]),
                    ]
                    for c in conf["conflicts"]
                ],
            ),
        )
    )
    return "".join(body)


def _flags(c: Data) -> str:
    flags = [k for k in ("problematic", "frequently_removed", "deprecated") if c[k]]
    return ", ".join(f.replace("_", " ") for f in flags)


def code_page(ctx: Ctx, d: Data) -> str:
    body = [_head(ctx, "code", d), f"<h2>Verdicts per suggestion ({d['suggestions']:,})</h2>"]
    verdicts = sorted(d["verdicts"])
    xs = [float(p["day"]) for p in d["per_day"]]
    series = [(v, [float(p.get(v, 0)) for p in d["per_day"]]) for v in verdicts]
    body.append(
        pair(
            svg.stacked_bars("Suggestions per day by verdict", xs, series, y_label="suggestions"),
            table(
                "suggestions by verdict",
                ("verdict", "suggestions"),
                [[v, n(c)] for v, c in sorted(d["verdicts"].items())],
            ),
        )
    )
    sym = sorted(d["symbol_verdicts"].items())
    body.append("<h2>Per symbol</h2>")
    body.append(
        pair(
            svg.bar_chart("Symbol verdicts", sym, x_label="symbols"),
            table("symbol verdicts", ("verdict", "symbols"), [[k, n(v)] for k, v in sym]),
        )
    )
    body.append("<h2>Survival of adopted code</h2>")
    surv = [
        (s["checkpoint"], s["mean_share"]) for s in d["survival"] if s["mean_share"] is not None
    ]
    steps = [svg.Series("share surviving", [(float(i), v) for i, (_, v) in enumerate(surv)])]
    body.append(
        pair(
            svg.line_chart(
                "Share of adopted code kept at each checkpoint ("
                + ", ".join(f"{i} = {k}" for i, (k, _) in enumerate(surv))
                + ")",
                steps,
                y_label="share kept",
                x_label="checkpoint",
                time_axis=False,
                step=True,
                y_range=(0.0, 1.0),
            ),
            table(
                "survival per checkpoint",
                ("checkpoint", "suggestions", "mean share kept"),
                [
                    [s["checkpoint"], n(s["suggestions"]), Cell(pct(s["mean_share"]), "n")]
                    for s in d["survival"]
                ],
            ),
        )
    )
    return "".join(body)


def trajectories_page(ctx: Ctx, d: Data) -> str:
    runs = d["runs"]
    body = [_head(ctx, "trajectories", d), "<h2>Runs (newest first)</h2>"]
    bars = [(r["run_id"], float(r["steps"])) for r in runs[:20]]
    body.append(
        pair(
            svg.bar_chart("Steps per run (newest 20)", bars, x_label="steps"),
            table(
                "runs",
                ("run", "created (UTC)", "pipeline", "project", "steps", "issues"),
                [
                    [
                        link(ctx.page(f"trajectories/{path_part(r['run_id'])}"), r["run_id"]),
                        when(r["created_at"]),
                        r["pipeline"],
                        r["project_id"] or "",
                        n(r["steps"]),
                        n(r["issues"]),
                    ]
                    for r in runs
                ],
            ),
        )
    )
    return "".join(body)


def trajectory_page(ctx: Ctx, d: Data) -> str:
    body = [api_link(ctx.data(f"trajectories/{path_part(d['run_id'])}"))]
    if not d["found"]:
        return body[0] + '<p class="note">No stored trajectory has this run id.</p>'
    body.append(
        f"<p>Pipeline {esc(d['pipeline'])}, project {esc(d['project_id'] or '—')}, "
        f"created {esc(when(d['created_at']))} UTC.</p>"
    )
    spans = [
        svg.Span(f"{s['seq']}: {s['kind']}", s["offset_ms"], s["duration_ms"] or 0.0, s["kind"])
        for s in d["steps"]
        if s["offset_ms"] is not None
    ]
    rows = []
    for s in d["steps"]:
        details = "; ".join(f"{k}={v}" for k, v in s["details"].items())
        calls = d["calls"].get(s["trace_id"] or "", [])
        outcome = ", ".join(f"{c['model_id']}: {c['source']} success={c['success']}" for c in calls)
        rows.append(
            [n(s["seq"]), s["kind"], n(s["offset_ms"]), n(s["duration_ms"]), details, outcome]
        )
    body.append(
        pair(
            svg.timeline("Steps over time", spans),
            table(
                "steps in order",
                ("#", "kind", "at ms", "duration ms", "details", "linked calls"),
                rows,
            ),
        )
    )
    body.append("<h2>Verdicts on emitted issues</h2>")
    body.append(
        table(
            "latest verdict per issue",
            ("issue", "verdict", "success", "at (UTC)"),
            [
                [k, v["verdict"] or "", _ok(v["success"]), when(v["at"])]
                for k, v in sorted(d["verdicts"].items())
            ],
        )
    )
    return "".join(body)


Render = Callable[[Ctx, Data], str]

RENDERERS: dict[str, Render] = {
    "models": models_page,
    "routing": routing_page,
    "calibration": calibration_page,
    "components": components_page,
    "code": code_page,
    "trajectories": trajectories_page,
}
TITLES = {
    "models": "Models",
    "routing": "Routing",
    "calibration": "Calibration",
    "components": "Components",
    "code": "Code adoption",
    "trajectories": "Trajectories",
}
