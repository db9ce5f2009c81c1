"""The ``outcomes trajectory`` group: schema, show, list, import, verdict, delete, deliver."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outcomes.cli import _common as cli
from outcomes.cli._framework import Argument, Exit, Option
from outcomes.errors import ConfigError, ImportFormatError, ValidationError
from outcomes.trajectory import (
    TrajectoryOutbox,
    TrajectoryRun,
    TrajectoryStore,
    Verdict,
    trajectory_schema,
)
from outcomes.trajectory._wire import MAX_JSON_BYTES

if TYPE_CHECKING:
    from rich.table import Table


app = cli.new_app(
    help="Decision trajectories: the ordered trail of each pipeline run.", no_args_is_help=True
)


def _short(values: list[Any], n: int = 3) -> str:
    shown = ", ".join(str(v) for v in values[:n])
    return shown + (f" … (+{len(values) - n})" if len(values) > n else "")


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _sims(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values[:3]) + (" …" if len(values) > 3 else "")


_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "chunks_retrieved": lambda s: (
        f"{_num(s['count'])} chunks · {_short(s['symbols'])}"
        + (f" · similarity {_sims(s['similarity_scores'])}" if s["similarity_scores"] else "")
    ),
    "rules_applied": lambda s: f"{len(s['rule_ids'])} {s['source']} rules: {_short(s['rule_ids'])}",
    "llm_call": lambda s: (
        f"{s['perspective']} · {_num(s['input_tokens'])} in / {_num(s['output_tokens'])} out tokens"
        + (f" · trace …{str(s['trace_id'])[-8:]}" if s.get("trace_id") else "")
    ),
    "past_verdicts_recalled": lambda s: (
        f"{_num(s['count'])} past verdicts"
        + (f" · top {_sims(s['top_similarities'])}" if s["top_similarities"] else "")
        + "".join(
            f" · “{item['title']}” ({item['similarity']:.2f})"
            for item in s.get("recalled_items", [])[:2]
        )
    ),
    "self_check": lambda s: (
        f"kept {s['keep_count']}, dropped {s['drop_count']} · "
        f"avg confidence {s['avg_confidence']:.2f}"
    ),
    "signature_confidence_adjust": lambda s: (
        f"+{s['accepted_bumps']} accepted / -{s['rejected_bumps']} rejected confidence bumps"
    ),
    "mcp_response_size": lambda s: (
        f"{s['tool']}: ~{_num(s['total_tokens'])} tokens, {s['rules_injected']} rules injected"
    ),
    "rule_hit_by_origin": lambda s: " · ".join(
        f"{k.replace('_', ' ')} {s[k]}"
        for k in ("manual", "conversation", "pr_review", "extracted", "cloud")
    ),
    "retrieval_filter": lambda s: f"pre-filter kept {_num(s['after'])} of {_num(s['before'])}",
    "hybrid_fusion": lambda s: (
        f"full-text {s['fts_hits']} · embedding {s['emb_hits']} · overlap {s['overlap']}"
    ),
    "ann_recall": lambda s: (
        f"ANN used · index {_num(s['index_size'])} · {s['candidates']} candidates"
        if s["used"]
        else f"fell back to a linear scan (index {_num(s['index_size'])})"
    ),
}

_VERDICT_STYLE = {"accepted": "green", "fixed": "green", "dismissed": "red"}


def step_summary(step: Mapping[str, Any], verdicts: Mapping[str, str] | None = None) -> str:
    """One line (rich markup) describing a wire step of any kind."""

    from rich.markup import escape

    kind = step.get("kind", "?")
    if kind == "final_decision":
        parts = []
        for issue in step["issue_ids_emitted"][:6]:
            verdict = (verdicts or {}).get(issue)
            label = escape(str(issue))
            if verdict:
                label += f" [{_VERDICT_STYLE.get(verdict, 'white')}]{verdict}[/]"
            parts.append(label)
        more = len(step["issue_ids_emitted"]) - 6
        return (
            f"{len(step['issue_ids_emitted'])} issues emitted: "
            + ", ".join(parts)
            + (f" … (+{more})" if more > 0 else "")
        )
    summarize = _SUMMARIES.get(kind)
    if summarize is not None:
        try:
            return escape(summarize(step))
        except (KeyError, TypeError, ValueError):
            pass
    rest = {k: v for k, v in step.items() if k not in ("kind", "seq", "started_at", "duration_ms")}
    text = " · ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in rest.items())
    return escape(text[:160] + ("…" if len(text) > 160 else ""))


def _ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:,.2f} s"
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def ladder(
    header: TrajectoryRun, steps: list[dict[str, Any]], verdicts: Mapping[str, str]
) -> Table:
    """The numbered step ladder of one run."""

    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"run {escape(header.run_id)} · {escape(header.pipeline)} · {len(steps)} steps",
        title_justify="left",
    )
    table.add_column("#", justify="right", style="dim")
    table.add_column("kind", style="bold cyan", no_wrap=True)
    table.add_column("what happened")
    table.add_column("at (took)", justify="right", style="dim")
    starts = [s["started_at"] for s in steps if isinstance(s.get("started_at"), int | float)]
    origin = min(starts) if starts else None
    for step in steps:
        at = step.get("started_at")
        took = step.get("duration_ms")
        when = f"+{_ms((at - origin) * 1000)}" if origin is not None and at is not None else ""
        if took is not None:
            when += f" ({_ms(took)})"
        table.add_row(
            str(step.get("seq", "")),
            escape(str(step.get("kind"))),
            step_summary(step, verdicts),
            when.strip(),
        )
    return table


_run_dict = cli.json_shape(
    "run_id created_at pipeline project_id step_count schema_version issue_ids"
)


@app.command("schema")
def schema() -> None:
    """Print the versioned JSON Schema of the trajectory wire format."""
    sys.stdout.write(json.dumps(trajectory_schema(), indent=2, ensure_ascii=False) + "\n")


@app.command("show")
def show(
    run: str = Argument(..., help="The run id."),
    db: str | None = cli.DbOption,
    json_out: bool = cli.JsonOption,
) -> None:
    """Show one run's steps as a numbered ladder, with verdicts on its emitted issues."""
    with cli.opened_store(db) as store:
        ts = TrajectoryStore(store)
        header = ts.run(run)
        steps = ts.get_json(run)
        if header is None or steps is None:
            raise cli.fail(f"no trajectory for run {run!r}", cli.EXIT_USAGE)
        verdicts = {k: r.intent or "" for k, r in ts.verdicts(run).items()}
        precision = ts.precision(run_id=run)
    if json_out:
        cli.print_json(
            {
                "run": _run_dict(header),
                "steps": steps,
                "verdicts": verdicts,
                "precision": precision.as_dict(),
            }
        )
        return
    cli.console.print(ladder(header, steps, verdicts))
    if precision.judged:
        cli.console.print(
            f"verdicts: {precision.accepted} accepted, {precision.fixed} fixed, "
            f"{precision.dismissed} dismissed, {precision.pending} pending"
        )


@app.command("list")
def list_(
    limit: int = Option(50, "--limit", min=1, help="Show at most this many runs."),
    pipeline: str | None = Option(None, "--pipeline", help="Only runs of this pipeline."),
    db: str | None = cli.DbOption,
    json_out: bool = cli.JsonOption,
) -> None:
    """List stored runs, newest first."""

    from rich.markup import escape
    from rich.table import Table

    with cli.opened_store(db) as store:
        ts = TrajectoryStore(store)
        runs = ts.list_runs(limit=limit, pipeline=pipeline)
        judged = {r.run_id: ts.precision(run_id=r.run_id) for r in runs}
    if json_out:
        cli.print_json([{**_run_dict(r), "verdicts": judged[r.run_id].as_dict()} for r in runs])
        return
    table = Table(title=f"{len(runs)} trajectories", title_justify="left")
    for col, justify in (
        ("run", "left"),
        ("pipeline", "left"),
        ("steps", "right"),
        ("issues", "right"),
        ("judged", "right"),
        ("precision", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in runs:
        p = judged[r.run_id]
        table.add_row(
            escape(r.run_id),
            escape(r.pipeline),
            str(r.step_count),
            str(len(r.issue_ids)),
            str(p.judged),
            f"{p.precision:.0%}" if p.precision is not None else "-",
        )
    cli.console.print(table)


@app.command("import")
def import_(
    file: Path = Argument(..., help="A JSON array of steps, or - for standard input."),
    run: str = Option(..., "--run", help="The run id to store it under."),
    pipeline: str = Option("review", "--pipeline", help="Pipeline name."),
    project: str | None = Option(None, "--project", help="Project id."),
    db: str | None = cli.DbOption,
    json_out: bool = cli.JsonOption,
) -> None:
    """Import a trajectory; a bad step rejects the whole file (nothing is stored)."""
    try:
        if str(file) == "-":
            data = sys.stdin.buffer.read(MAX_JSON_BYTES + 1)
        else:
            with open(file, "rb") as fh:
                data = fh.read(MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise cli.fail(f"cannot read {file}: {exc.strerror or exc}", cli.EXIT_USAGE) from exc
    with cli.opened_store(db) as store:
        try:
            header = TrajectoryStore(store).import_json(
                run, data, pipeline=pipeline, project_id=project
            )
        except (ValidationError, ImportFormatError) as exc:
            raise cli.fail(f"{file}: {exc} (nothing was stored)", cli.EXIT_USAGE) from exc
    if json_out:
        cli.print_json(_run_dict(header))
    else:
        cli.err_console.print(f"imported {header.step_count} steps as run {header.run_id}")


@app.command("verdict")
def verdict(
    run: str = Argument(..., help="The run id."),
    issue: str = Argument(..., help="An issue id the run's final_decision emitted."),
    value: Verdict = Argument(..., help="accepted, dismissed or fixed."),
    db: str | None = cli.DbOption,
    json_out: bool = cli.JsonOption,
) -> None:
    """Record what became of an emitted issue (a receipt of kind review_finding)."""
    with cli.opened_store(db) as store:
        receipt = TrajectoryStore(store).record_verdict(run, issue, value)
    if json_out:
        cli.print_json(receipt.to_json())
    else:
        cli.err_console.print(f"{issue}: {value.value} (receipt {receipt.receipt_id})")


@app.command("delete")
def delete(
    run: str = Argument(..., help="The run id."),
    db: str | None = cli.DbOption,
) -> None:
    """Delete one run's trajectory (verdict receipts stay on the ledger)."""
    with cli.opened_store(db) as store:
        existed = TrajectoryStore(store).delete(run)
    if not existed:
        raise cli.fail(f"no trajectory for run {run!r}", cli.EXIT_USAGE)
    cli.err_console.print(f"deleted run {run}")


@app.command("deliver")
def deliver(
    endpoint: str | None = Option(
        None, "--endpoint", help="Remote URL (default: OUTCOMES_TRAJECTORY_ENDPOINT)."
    ),
    db: str | None = cli.DbOption,
    json_out: bool = cli.JsonOption,
) -> None:
    """Run one delivery pass over the outbox; exit 1 if entries are still waiting or failed."""
    with cli.opened_store(db) as store:
        try:
            box = TrajectoryOutbox(TrajectoryStore(store, outbox_endpoint=endpoint))
        except ConfigError as exc:
            raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
        report = box.deliver_due()
        states = [e.state for e in box.entries()]
    summary = {
        "endpoint": box.endpoint,
        "delivered_now": report.delivered,
        "retried": report.retried,
        "failed_now": report.failed,
        "pending": states.count("pending"),
        "delivered": states.count("delivered"),
        "failed": states.count("failed"),
    }
    if json_out:
        cli.print_json(summary)
    else:
        cli.console.print(" · ".join(f"{k} {v}" for k, v in summary.items()))
    if summary["pending"] or summary["failed"]:
        raise Exit(cli.EXIT_PROBLEMS)
