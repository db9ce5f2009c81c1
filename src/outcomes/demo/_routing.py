"""Demo part: the router learns which simulated model to use per task, from outcomes only."""

from __future__ import annotations

from rich.table import Table

from outcomes.cli._route import candidates_table
from outcomes.demo import DemoContext
from outcomes.inference import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing import Decision, NoModelAvailable, Router, Weights
from outcomes.store import MemoryStore
from outcomes.testing.models import FLEET, SimResult, Simulator


def _registry() -> ModelRegistry:
    """The simulated fleet with its list prices: all the router knows at the start."""
    registry = ModelRegistry()
    for m in FLEET:
        registry.add(
            ModelInfo(
                m.model_id,
                "sim",
                m.usd_per_1m_input,
                m.usd_per_1m_output,
                local=m.usd_per_1m_input == 0,
            )
        )
    return registry


def fleet_router(tracker: OutcomeTracker, seed: int) -> Router:
    """The router both routing demos run: the fleet at list prices, quality first with a
    small cost weight, deciding from this process's fold (no refresh wait)."""
    return Router(
        registry=_registry(),
        tracker=tracker,
        weights=Weights(1.0, 0.15),
        seed=seed,
        refresh_s=0.0,
        view="local",
    )


def route(tracker: OutcomeTracker, router: Router, task: str) -> Decision | None:
    """Decide ``task`` after folding every outcome recorded so far (the router itself
    never waits for the tracker's view to catch up); ``None`` when no model is available."""
    tracker.refresh_view("local")
    try:
        return router.decide(task)
    except NoModelAvailable:
        return None


def count_pick(period: dict[str, int], model_id: str) -> None:
    period[model_id] = period.get(model_id, 0) + 1


def share_cells(periods: list[dict[str, int]], model_id: str) -> list[str]:
    """``model_id``'s share of the calls in each period, as table cells."""
    return [f"{100 * p.get(model_id, 0) / (sum(p.values()) or 1):.0f}%" for p in periods]


def record_answer(
    tracker: OutcomeTracker,
    router: Router,
    model_id: str,
    trace: str,
    result: SimResult,
    *,
    signal_id: str,
) -> None:
    """Record a simulated call that answered: its completion, the verdict the simulated
    user gave it (confidence 0.9), and the success reported to the router."""
    tracker.record_complete(
        trace, result.latency_ms, result.input_tokens, result.output_tokens,
        cost_usd=result.cost_usd,
    )  # fmt: skip
    verdict = "accepted" if result.good else "rejected"
    tracker.record_inferred_outcome(trace, verdict, 0.9, signal_id=signal_id)
    router.report(model_id, ok=True)


def _share_table(quarters: list[dict[str, int]], calls: int) -> Table:
    """Each model's share of the traffic in each quarter of the run."""
    table = Table(title=f"traffic share as the router learns ({calls} calls, code + generate)")
    table.add_column("model")
    table.add_column("hidden p(good) code/gen", justify="right")
    for k in range(4):
        table.add_column(f"Q{k + 1}", justify="right")
    for m in FLEET:
        hidden = f"{m.quality['code']:.2f}/{m.quality['generate']:.2f}"
        table.add_row(m.model_id, hidden, *share_cells(quarters, m.model_id))
    return table


def run(ctx: DemoContext) -> None:
    by_id = {m.model_id: m for m in FLEET}
    # A fresh in-memory tracker: the router starts knowing nothing but list prices.
    tracker = OutcomeTracker(MemoryStore())
    router = fleet_router(tracker, ctx.seed)
    sim = Simulator(ctx.rng)
    n = max(ctx.calls // 2, 200)
    quarters: list[dict[str, int]] = [{}, {}, {}, {}]
    good = calls = 0
    last_code = None
    with ctx.progress("routing calls", n) as advance:
        for i in range(n):
            task = "code" if i % 2 else "generate"
            decision = route(tracker, router, task)
            if decision is None:
                continue
            model = by_id[decision.model_id or ""]
            result = sim.call(model, task)
            trace = tracker.record_start(
                model.model_id, task, decision.reason, propensity=decision.propensity
            )
            if result.error is not None:
                tracker.record_failure(trace, result.error)
                router.report(model.model_id, ok=False)
            else:
                record_answer(tracker, router, model.model_id, trace, result, signal_id=f"v{i}")
            count_pick(quarters[min(4 * i // n, 3)], model.model_id)
            good += result.good
            calls += 1
            if task == "code":
                last_code = decision
            if i % 100 == 99:
                advance(100)
    ctx.console.print(_share_table(quarters, calls))
    if last_code is not None:
        title = f"last code decision: {last_code.model_id} (p={last_code.propensity:.2f})"
        ctx.console.print(candidates_table(last_code, title, digits=2))
    ctx.console.print(
        f"good answers: {good / max(calls, 1):.1%}. Cost weight 0.15: quality first, price "
        "second; rate-limited models are skipped while they cool down."
    )
    tracker.close()
