"""Each page as HTML: its data (from ``_data``) drawn as charts with their tables beside them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from outcomes.server.dashboard import _svg as svg
from outcomes.server.dashboard._cutoffs import CAUSES
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
        filter_form(ctx.filters, ctx.tasks, ctx.projects, d["scope"]["not_applied"])
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
    if d.get("replay") is not None:
        body.append(_replay(d["replay"]))
    body.append(_cutoffs(ctx, d["cutoffs"]))
    body.append("<h2>Cooldowns and exclusions now (this server process)</h2>")
    rows = [[c["model_id"], when(c["until"]), n(c["seconds_left"])] for c in d["cooldowns"]]
    rows += [[m, "excluded for the session", ""] for m in d["excluded"]]
    body.append(table("rate-limited models", ("model", "until (UTC)", "seconds left"), rows))
    return "".join(body)


def _cutoffs(ctx: Ctx, c: Data) -> str:
    rules = c["rules"]
    head = (
        '<h2 id="cutoffs">Cut-offs: cooldowns and breaker trips</h2>'
        f'<p class="muted">The tracker\'s rate-limit rule (Retry-After from the error, else '
        f"{rules['rate_limit_default_cooldown_s']:g} s) and the router's breaker "
        f"({rules['breaker_failures_in_a_row']} failures in a row: "
        f"{rules['breaker_base_s']:g} s, doubling per trip up to {rules['breaker_max_s']:g} s) "
        f"replayed over the newest calls of the range (at most {c['scan']:,} receipts)"
        + (
            f": {c['calls_replayed']:,} calls from {esc(when(c['from']))} to "
            f"{esc(when(c['to']))} UTC, {c['failures']:,} of them failed with an error"
            if c["calls_replayed"]
            else ": none"
        )
        + ". The same from every process sharing the store, and across restarts.</p>"
    )
    cuts = c["cutoffs"]
    start = c["from"] if c["from"] is not None else c["now"]
    chart = svg.lanes(
        "When each model was cut off, by cause",
        [svg.Period(x["model_id"], x["start"], x["until"], x["cause"]) for x in cuts],
        groups=CAUSES,
        x_range=(start, max(c["now"], c["to"] or 0.0)),
    )
    totals = table(
        "cut-offs per model and cause",
        ("model", "cause", "cut-offs", "seconds in total", "longest s"),
        [
            [
                link(ctx.page(f"models/{path_part(s['model_id'])}"), s["model_id"]),
                s["cause"], n(s["cutoffs"]), n(s["seconds"]), n(s["longest_s"]),
            ]
            for s in c["summary"]
        ],
    )  # fmt: skip
    recent = table(
        "newest cut-offs",
        ("from (UTC)", "until (UTC)", "model", "cause", "seconds", "cooldowns"),
        [
            [when(x["start"]), when(x["until"]), x["model_id"], x["cause"], n(x["seconds"]),
             n(x["cooldowns"])]
            for x in cuts[: ctx.filters.limit]
        ],
    )  # fmt: skip
    return head + pair(chart, totals) + recent


def _replay(r: Data) -> str:
    head = f"<h2>Replay benchmark: quality/cost frontier ({esc(r['source'])})</h2>"
    if "error" in r:
        return head + notes([f"the replay report cannot be read: {r['error']}"])
    lines = [svg.Series(name, [(c, q) for c, q in pts]) for name, pts in r["policies"].items()]
    lines.append(
        svg.Series("single models", [(c, q) for c, q in r["single_models"].values()], line=False)
    )
    chart = svg.line_chart(
        "Quality versus total cost per policy (replayed)", lines,
        y_label="mean quality", x_label="total cost (USD)", time_axis=False,
    )  # fmt: skip
    rows = [
        [name, n(len(pts)), n(r["frontier_area"].get(name))] for name, pts in r["policies"].items()
    ]
    rows += [[f"single: {m}", n(c), n(q)] for m, (c, q) in r["single_models"].items()]
    return head + pair(
        chart, table("policies (points, frontier area) and single models (cost, quality)",
                     ("policy / model", "points or cost", "area or quality"), rows),
    )  # fmt: skip


def _ok(value: bool | None) -> Cell:
    if value is None:
        return Cell('<span class="muted">unknown</span>')
    return Cell('<span class="good">yes</span>' if value else '<span class="bad">no</span>')


TITLES = {
    "models": "Models",
    "routing": "Routing",
    "calibration": "Calibration",
    "components": "Components",
    "code": "Code adoption",
    "trajectories": "Trajectories",
}


Render = Callable[[Ctx, Data], str]
