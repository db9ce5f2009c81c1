"""The ``outcomes bench`` group: benchmarks on real outcome data."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path

from outcomes.cli import _common as cli
from outcomes.cli._framework import Option
from outcomes.errors import ConfigError, ValidationError
from outcomes.registry import ModelRegistry

app = cli.new_app(help="Benchmarks on real outcome data.", no_args_is_help=True)


@app.command("router")
def bench_router(
    dataset: Path = Option(..., "--dataset", help="Outcome-matrix file (.jsonl or .jsonl.gz)."),
    split: str = Option("test", "--split", help="test|train|all"),
    seed: int = Option(0, "--seed"),
    cost_weight: list[float] = Option([], "--cost-weight", help="Repeat for a sweep."),
    latency_from: Path | None = Option(None, "--latency-from", help="llmperf run folder."),
    prices: Path | None = Option(None, "--prices", help="TOML price table for missing costs."),
    plot: Path | None = Option(None, "--plot", help="Write the quality/cost frontier (PNG/SVG)."),
    no_contextual: bool = Option(False, "--no-contextual"),
    json: bool = cli.JsonOption,
) -> None:
    """Replay an outcome matrix through every policy and the baselines (bandit feedback)."""
    from outcomes.routing._matrix import load_matrix
    from outcomes.routing._replay import DEFAULT_COST_WEIGHTS, replay

    try:
        registry = ModelRegistry.load(prices) if prices is not None else None
        matrix = load_matrix(dataset, registry=registry)
        report = replay(
            matrix,
            split=split,
            seed=seed,
            cost_weights=tuple(cost_weight) or DEFAULT_COST_WEIGHTS,
            latency_dir=latency_from,
            contextual=not no_contextual,
            on_progress=None if json else (lambda s: cli.err_console.print(f"[dim]running {s}[/]")),
        )
    except (ValidationError, ConfigError, ValueError, FileNotFoundError) as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
    if plot is not None:
        _plot(report, plot)
    if json:
        cli.print_json(report)
        return
    from rich.table import Table

    ref = report["references"]
    table = Table(
        title=f"replay of {dataset.name} ({report['dataset']['prompts']} prompts, split {split})"
    )
    for col in ("policy", "cost w", "quality", "cost $", "$ / correct", "regret"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for p in report["policies"]:
        table.add_row(
            p["name"],
            "" if p["cost_weight"] is None else f"{p['cost_weight']:g}",
            f"{p['quality']:.3f}",
            f"{p['cost_usd']:.2f}",
            "-" if p["cost_per_correct"] is None else f"{p['cost_per_correct']:.4f}",
            f"{p['regret_pct']:.1f}%",
        )
    for name in ("oracle", "best_single", "best_per_task"):
        table.add_row(
            f"[dim]{name} (hindsight)[/]",
            "",
            f"{ref[name]['quality']:.3f}",
            f"{ref[name]['cost_usd']:.2f}",
            "",
            "",
        )
    cli.console.print(table)
    cli.console.print(
        "AIQ (area under the quality/cost hull): "
        + ", ".join(f"{k} {v:.3f}" for k, v in report["aiq"].items())
    )
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
