"""The ``outcomes bench`` group: benchmarks on real outcome data."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Any

from outcomes.cli import _common as cli
from outcomes.cli._framework import Option
from outcomes.errors import ConfigError, ValidationError
from outcomes.registry import ModelRegistry

_POLICY_NAMES = (
    "random", "cheapest", "litellm-simple-shuffle", "litellm-cost-based",
    "litellm-latency-based", "litellm-adaptive-style", "outcomes", "outcomes-cold",
    "epsilon-greedy", "outcomes-contextual", "fixed-per-task",
)  # fmt: skip
"""``routing._replay.ALL_POLICIES``, spelled out so that ``--help`` imports no numpy
(a test checks the two agree)."""

app = cli.new_app(help="Benchmarks on real outcome data.", no_args_is_help=True)


@app.command("router")
def bench_router(
    dataset: Path = Option(..., "--dataset", help="Outcome-matrix file (.jsonl or .jsonl.gz)."),
    split: str = Option("test", "--split", help="test|train|all"),
    seed: int = Option(0, "--seed"),
    cost_weight: list[float] = Option([], "--cost-weight", help="Repeat for a sweep."),
    policies: str | None = Option(
        None,
        "--policies",
        help="Comma-separated policies to run (default all): " + ", ".join(_POLICY_NAMES),
    ),
    full: bool = Option(False, "--full", help="Also print every policy at every weight."),
    latency_from: Path | None = Option(None, "--latency-from", help="llmperf run folder."),
    prices: Path | None = Option(None, "--prices", help="TOML price table for missing costs."),
    plot: Path | None = Option(None, "--plot", help="Write the quality/cost frontier (PNG/SVG)."),
    no_contextual: bool = Option(False, "--no-contextual"),
    json: bool = cli.JsonOption,
) -> None:
    """Replay an outcome matrix through routing policies and baselines (bandit feedback):
    a one-screen summary, ``--full`` for the whole table, ``--json`` for everything."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from outcomes.routing._matrix import load_matrix
    from outcomes.routing._replay import DEFAULT_COST_WEIGHTS, replay

    chosen = None if policies is None else [p.strip() for p in policies.split(",") if p.strip()]
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=json,
    )
    try:
        registry = ModelRegistry.load(prices) if prices is not None else None
        with progress:
            bar = progress.add_task("reading the matrix", total=None)
            matrix = load_matrix(dataset, registry=registry)

            def step(label: str, done: int, total: int) -> None:
                progress.update(bar, description=label, completed=done, total=total or None)

            report = replay(
                matrix,
                split=split,
                seed=seed,
                cost_weights=tuple(cost_weight) or DEFAULT_COST_WEIGHTS,
                latency_dir=latency_from,
                contextual=not no_contextual,
                policies=chosen,
                on_progress=step,
            )
    except (ValidationError, ConfigError, ValueError, FileNotFoundError) as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
    if plot is not None:
        _plot(report, plot)
    if json:
        cli.print_json(report)
        return
    _summary(report, dataset.name)
    if full:
        _full_table(report, dataset.name)
    else:
        cli.console.print("[dim]--full: every policy at every cost weight; --json: everything[/]")


def _summary(report: dict[str, Any], name: str) -> None:
    """One screen: references, each policy at cost weight 0 (or its only run), the
    frontier areas and the dominance check."""
    from rich.markup import escape
    from rich.table import Table

    ds, ref = report["dataset"], report["references"]
    cli.console.print(
        f"[bold]replay of {escape(name)}[/]: {ds['prompts']} prompts (split {ds['split']}), "
        f"{len(ds['models'])} models, {len(ds['tasks'])} tasks, seed {ds['seed']}"
    )
    cli.console.print(
        f"hindsight: oracle {ref['oracle']['quality']:.3f} @ ${ref['oracle']['cost_usd']:.2f}"
        f" | best single ({escape(ref['best_single']['model'])}) "
        f"{ref['best_single']['quality']:.3f} @ ${ref['best_single']['cost_usd']:.2f}"
        f" | best per task {ref['best_per_task']['quality']:.3f}"
        f" @ ${ref['best_per_task']['cost_usd']:.2f}"
    )
    weights = [p["cost_weight"] for p in report["policies"] if p["cost_weight"] is not None]
    first = min(weights) if weights else None
    table = Table(title=f"each policy at cost weight {first:g}" if first is not None else None)
    for col in ("policy", "quality", "cost $", "regret"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for p in report["policies"]:
        if p["cost_weight"] not in (None, first):
            continue
        table.add_row(
            escape(p["name"]),
            f"{p['quality']:.3f}",
            f"{p['cost_usd']:.2f}",
            f"{p['regret_pct']:.1f}%",
        )
    cli.console.print(table)
    cli.console.print(
        "frontier area (AIQ): " + ", ".join(f"{k} {v:.3f}" for k, v in report["aiq"].items())
    )
    checks = report["checks"]
    if "aiq_outcomes_minus_fixed_per_task" in checks:
        cli.console.print(
            "outcomes minus fixed-per-task (fitted on the train split): "
            f"{checks['aiq_outcomes_minus_fixed_per_task']:+.4f}"
        )
    if "baselines_not_dominated" in checks and any(
        p["name"] == "outcomes" for p in report["policies"]
    ):
        left = checks["baselines_not_dominated"]
        matched = set(checks["baselines_matched_not_dominated"])
        cli.console.print(
            "baselines not dominated by an outcomes point: "
            + (", ".join(f"{b}{' (matched)' if b in matched else ''}" for b in left) or "none")
        )
        between = [b for b in left if b not in checks["baselines_not_dominated_by_the_frontier"]]
        if between:
            cli.console.print(
                "of these, dominated by a mix of two outcomes cost weights (the frontier): "
                + ", ".join(between)
            )


def _full_table(report: dict[str, Any], name: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    ref = report["references"]
    ds = report["dataset"]
    table = Table(title=f"replay of {escape(name)} ({ds['prompts']} prompts, split {ds['split']})")
    for col in ("policy", "cost w", "quality", "cost $", "$ / correct", "regret"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for p in report["policies"]:
        table.add_row(
            escape(p["name"]),
            "" if p["cost_weight"] is None else f"{p['cost_weight']:g}",
            f"{p['quality']:.3f}",
            f"{p['cost_usd']:.2f}",
            "-" if p["cost_per_correct"] is None else f"{p['cost_per_correct']:.4f}",
            f"{p['regret_pct']:.1f}%",
        )
    for ref_name in ("oracle", "best_single", "best_per_task"):
        table.add_row(
            f"[dim]{ref_name} (hindsight)[/]",
            "",
            f"{ref[ref_name]['quality']:.3f}",
            f"{ref[ref_name]['cost_usd']:.2f}",
            "",
            "",
        )
    cli.console.print(table)
    cli.console.print(f"checks: {jsonlib.dumps(report['checks'])}")


def _plot(report: dict[str, object], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    singles = report["single_models"]
    assert isinstance(singles, dict)
    for name, v in singles.items():
        ax.scatter(v["cost_usd"], v["quality"], marker="x", color="grey")
        ax.annotate(name.split("/")[-1][:18], (v["cost_usd"], v["quality"]), fontsize=6)
    policies = report["policies"]
    assert isinstance(policies, list)
    for name in sorted({p["name"] for p in policies}):
        pts = sorted((p["cost_usd"], p["quality"]) for p in policies if p["name"] == name)
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=name, markersize=3)
    ax.set_xlabel("total cost (USD)")
    ax.set_ylabel("mean quality")
    ax.legend(fontsize=7)
    ax.set_title("quality / cost frontier")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
