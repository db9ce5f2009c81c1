"""``outcomes route``: the decision the router would make now, and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from outcomes.cli import _common as cli
from outcomes.cli._framework import Exit, Option
from outcomes.errors import ConfigError
from outcomes.registry import ModelRegistry

if TYPE_CHECKING:
    from rich.table import Table

    from outcomes.routing import Decision

app = cli.new_app()


@app.command("route")
def route(
    task: str = Option(..., "--task", help="Task to route (code, generate, ...)."),
    max_cost: float | None = Option(None, "--max-cost", min=0, help="Max USD per call."),
    max_p95_ms: float | None = Option(None, "--max-p95-ms", min=0),
    candidates: list[str] = Option([], "--model", help="Limit to these models."),
    policy: str = Option("thompson", "--policy", help="thompson|ids|greedy|ucb|epsilon"),
    cost_weight: float = Option(0.0, "--cost-weight", min=0),
    latency_weight: float = Option(0.0, "--latency-weight", min=0),
    seed: int | None = Option(None, "--seed", min=0),
    db: str | None = cli.DbOption,
    json: bool = cli.JsonOption,
) -> None:
    """Show which model the router would pick for TASK now, and why."""
    from outcomes.inference import OutcomeTracker
    from outcomes.routing import NoModelAvailable, Router, Weights

    try:
        registry = ModelRegistry.load()
        weights = Weights(1.0, cost_weight, latency_weight)
    except (ConfigError, ValueError) as exc:
        raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
    if policy not in ("thompson", "ids", "greedy", "ucb", "epsilon"):
        raise cli.fail(f"unknown policy {policy!r}", cli.EXIT_USAGE)
    with cli.opened_store(db) as store:
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
            check_models(candidates, registry, tracker.snapshot().by_task.get(None) or {})
            decision = router.decide(
                task,
                candidates=candidates or None,
                max_cost_usd=max_cost,
                max_p95_ms=max_p95_ms,
            )
        except NoModelAvailable as exc:
            if json:
                cli.print_json(exc.decision.as_dict())
            else:
                cli.err_console.print(f"[red]{exc}[/]")
            raise Exit(cli.EXIT_PROBLEMS) from exc
        except ValueError as exc:
            raise cli.fail(str(exc), cli.EXIT_USAGE) from exc
        finally:
            tracker.close()
    if json:
        cli.print_json(decision.as_dict())
        return
    cli.console.print(
        f"[bold]{decision.model_id}[/] for {task} "
        f"(p={decision.propensity:.3f}; fallbacks: {', '.join(decision.fallbacks[:4]) or '-'})"
    )
    cli.console.print(candidates_table(decision, "candidates", digits=3))


def check_models(
    candidates: list[str], registry: ModelRegistry, recorded: Mapping[str, object]
) -> None:
    """Refuse a ``--model`` that is neither in the registry nor among the models with
    recorded calls (a typo would otherwise be routed to as an unknown model), naming the
    close ones."""
    for name in candidates:
        if name in registry or name in recorded:
            continue
        close = registry.suggest(name, also=recorded)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see outcomes models"
        raise cli.fail(f"--model: unknown model {name!r}{hint}", cli.EXIT_USAGE)


def candidates_table(decision: Decision, title: str, *, digits: int) -> Table:
    """A decision's candidates: counts, sampled quality, cost penalty, score or why not."""
    from rich.table import Table

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
