"""The calibration, components, code adoption and trajectory pages as HTML."""

from __future__ import annotations

from outcomes.server.dashboard import _svg as svg
from outcomes.server.dashboard._data import REPORT_TTL_S
from outcomes.server.dashboard._html import (
    Cell,
    esc,
    interval,
    link,
    n,
    pair,
    path_part,
    pct,
    table,
    when,
)
from outcomes.server.dashboard._pages import Ctx, Data, _head, _ok


def calibration_page(ctx: Ctx, d: Data) -> str:
    body = [_head(ctx, "calibration", d), _fresh(d["report_age_s"])]
    if not d["groups"]:
        body.append('<p class="note">No shadow observations stored yet.</p>')
    for g in d["groups"]:
        title = f"{g['namespace']} / {g['source']}"
        body.append(f"<h2>{esc(title)}: verdict {esc(g['verdict'])}</h2>")
        lines = [svg.Series("perfect calibration", [(0.0, 0.0), (1.0, 1.0)], dashed=True)]
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


def _fresh(age: float | None) -> str:
    computed = "" if age is None else f"Computed {age:.0f} s ago; "
    return (
        f'<p class="muted">{computed}recomputed in the background once older than '
        f"{REPORT_TTL_S:.0f} s.</p>"
    )


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
    body.append("<h2>Conflicts</h2>" + _fresh(d["report_age_s"]))
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
    body.append(
        table(
            "newest suggestions (only hashes of the code are stored)",
            ("created (UTC)", "path", "language", "verdict", "confidence", "survival"),
            [
                [when(r["created_at"]), r["path"], r["language"], r["verdict"],
                 n(r["confidence"]), ", ".join(f"{k}: {pct(v)}" for k, v in r["survival"].items())]
                for r in d["recent"]
            ],
        )
    )  # fmt: skip
    sym = sorted(d["symbol_verdicts"].items())
    sxs = [float(p["day"]) for p in d["symbol_per_day"]]
    sseries = [(v, [float(p.get(v, 0)) for p in d["symbol_per_day"]]) for v, _ in sym]
    body.append("<h2>Per symbol</h2>")
    body.append(
        pair(
            svg.stacked_bars("Symbol verdicts per day", sxs, sseries, y_label="symbols"),
            table("symbol verdicts", ("verdict", "symbols"), [[k, n(v)] for k, v in sym]),
        )
    )
    body.append("<h2>Survival of adopted code</h2>")
    surv = [
        (s["checkpoint"], s["mean_share"]) for s in d["survival"] if s["mean_share"] is not None
    ]
    if surv:  # every adopted suggestion is wholly there when it is resolved
        surv.insert(0, ("adopted", 1.0))
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
    body = [_head(ctx, f"trajectories/{path_part(d['run_id'])}", d)]
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
