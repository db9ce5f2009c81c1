"""``outcomes route`` and ``outcomes bench router``."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from outcomes.cli._common import (
    EXIT_PROBLEMS,
    EXIT_USAGE,
    DbOption,
    JsonOption,
    console,
    err_console,
    fail,
    opened_store,
    print_json,
)
from outcomes.errors import ConfigError, ValidationError
from outcomes.registry import ModelRegistry

if TYPE_CHECKING:
    from outcomes.routing import Decision

bench_app = typer.Typer(help="Benchmarks on real outcome data.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    @root.command("route")
    def route(
        task: str = typer.Option(..., "--task", help="Task to route (code, generate, ...)."),
        max_cost: float | None = typer.Option(None, "--max-cost", min=0, help="Max USD per call."),
        max_p95_ms: float | None = typer.Option(None, "--max-p95-ms", min=0),
        candidates: list[str] = typer.Option([], "--model", help="Limit to these models."),
        policy: str = typer.Option("thompson", "--policy", help="thompson|greedy|ucb|epsilon"),
        cost_weight: float = typer.Option(0.0, "--cost-weight", min=0),
        latency_weight: float = typer.Option(0.0, "--latency-weight", min=0),
        seed: int | None = typer.Option(None, "--seed"),
        db: str | None = DbOption,
        json: bool = JsonOption,
    ) -> None:
        """Show which model the router would pick for TASK now, and why."""
        from outcomes.inference import OutcomeTracker
        from outcomes.routing import NoModelAvailable, Router, Weights

        try:
            registry = ModelRegistry.load()
            weights = Weights(1.0, cost_weight, latency_weight)
        except (ConfigError, ValueError) as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
        if policy not in ("thompson", "greedy", "ucb", "epsilon"):
            raise fail(f"unknown policy {policy!r}", EXIT_USAGE)
        with opened_store(db) as store:
            tracker = OutcomeTracker(store)
            tracker.refresh_view()  # decisions never wait for the stored history: wait here
            router = Router(
                registry=registry,
                tracker=tracker,
                policy=policy,  # type: ignore[arg-type]
                weights=weights,
                seed=seed,
            )
            try:
                decision = router.decide(
                    task,
                    candidates=candidates or None,
                    max_cost_usd=max_cost,
                    max_p95_ms=max_p95_ms,
                )
            except NoModelAvailable as exc:
                if json:
                    print_json(exc.decision.as_dict())
                else:
                    err_console.print(f"[red]{exc}[/]")
                raise typer.Exit(EXIT_PROBLEMS) from exc
            except ValueError as exc:
                raise fail(str(exc), EXIT_USAGE) from exc
            finally:
                tracker.close()
        if json:
            print_json(decision.as_dict())
            return
        console.print(
            f"[bold]{decision.model_id}[/] for {task} "
            f"(p={decision.propensity:.3f}; fallbacks: {', '.join(decision.fallbacks[:4]) or '-'})"
        )
        console.print(candidates_table(decision, "candidates", digits=3))

    root.add_typer(bench_app, name="bench")


@bench_app.command("router")
def bench_router(
    dataset: Path = typer.Option(
        ..., "--dataset", help="Outcome-matrix file (.jsonl or .jsonl.gz)."
    ),
    split: str = typer.Option("test", "--split", help="test|train|all"),
    seed: int = typer.Option(0, "--seed"),
    cost_weight: list[float] = typer.Option([], "--cost-weight", help="Repeat for a sweep."),
    latency_from: Path | None = typer.Option(None, "--latency-from", help="llmperf run folder."),
    prices: Path | None = typer.Option(
        None, "--prices", help="TOML price table for missing costs."
    ),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write the quality/cost frontier (PNG/SVG)."
    ),
    no_contextual: bool = typer.Option(False, "--no-contextual"),
    json: bool = JsonOption,
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
            on_progress=None if json else (lambda s: err_console.print(f"[dim]running {s}[/]")),
        )
    except (ValidationError, ConfigError, ValueError, FileNotFoundError) as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if plot is not None:
        _plot(report, plot)
    if json:
        print_json(report)
        return
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
    console.print(table)
    console.print(
        "AIQ (area under the quality/cost hull): "
        + ", ".join(f"{k} {v:.3f}" for k, v in report["aiq"].items())
    )
    console.print(f"checks: {jsonlib.dumps(report['checks'])}")


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


def candidates_table(decision: Decision, title: str, *, digits: int) -> Table:
    """A decision's candidates: counts, sampled quality, cost penalty, score or why not."""
    table = Table(title=title)
    for col in ("model", "calls ok/failed", "quality", "cost pen.", "score", "filtered"):
        table.add_column(col)

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    for c in decision.candidates:
        table.add_row(
            c.model_id,
            f"{c.successes:.0f}/{c.failures:.0f}",
            num(c.quality),
            num(c.cost_penalty),
            num(c.score),
            c.filtered or "",
        )
    return table
