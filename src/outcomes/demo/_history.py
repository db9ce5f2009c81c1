"""Demo part: a week of routed traffic, with an outage, so trends have a history to show.

The other parts run in seconds of real time; the dashboard's trends and traffic shares
need days. This part replays a week on a simulated clock: the router picks a model for
each call (its reason and propensity are stored with the receipt), one provider fails
with server errors for a day in the middle, and the router moves traffic away and back.
Its receipts carry the project ``demo-history``.
"""

from __future__ import annotations

from rich.table import Table

from outcomes.demo import DemoContext
from outcomes.demo._routing import count_pick, fleet_router, record_answer, route, share_cells
from outcomes.inference import OutcomeTracker
from outcomes.testing import FakeClock
from outcomes.testing.models import FLEET, Simulator

PROJECT = "demo-history"
DAYS = 7
OUTAGE_MODEL = "gpt-4o"
OUTAGE_DAY = 3
"""The model that fails with server errors on day ``OUTAGE_DAY`` (0-based)."""


def run(ctx: DemoContext) -> None:
    by_id = {m.model_id: m for m in FLEET}
    clock = FakeClock(ctx.started - DAYS * 86_400)
    tracker = OutcomeTracker(ctx.store, writer=ctx.writer, clock=clock)
    router = fleet_router(tracker, ctx.seed)
    sim = Simulator(ctx.rng)
    n = max(ctx.calls // 4, 300)
    step = DAYS * 86_400 / n
    per_day: list[dict[str, int]] = [{} for _ in range(DAYS)]
    with ctx.progress("a week of routed calls", n) as advance:
        for i in range(n):
            clock.advance(step)
            day = min(int(i * DAYS / n), DAYS - 1)
            task = "code" if i % 2 else "generate"
            decision = route(tracker, router, task)
            if decision is None:
                continue
            model = by_id[decision.model_id or ""]
            trace = tracker.record_start(
                model.model_id,
                task,
                decision.reason,
                project_id=PROJECT,
                propensity=decision.propensity,
            )
            result = sim.call(model, task)
            down = model.model_id == OUTAGE_MODEL and day == OUTAGE_DAY
            if down and ctx.rng.random() < 0.6:
                tracker.record_failure(
                    trace, "upstream 503: service unavailable", latency_ms=result.latency_ms
                )
                router.report(model.model_id, ok=False)
            elif result.error is not None:
                tracker.record_failure(trace, result.error, latency_ms=result.latency_ms)
                router.report(model.model_id, ok=False)
            else:
                record_answer(tracker, router, model.model_id, trace, result, signal_id=f"h{i}")
            count_pick(per_day[day], model.model_id)
            if i % 100 == 99:
                advance(100)
    tracker.flush(timeout=60)
    table = Table(title=f"traffic share per day ({OUTAGE_MODEL} fails on day {OUTAGE_DAY + 1})")
    table.add_column("model")
    for d in range(DAYS):
        table.add_column(f"day {d + 1}", justify="right")
    for m in FLEET:
        table.add_row(m.model_id, *share_cells(per_day, m.model_id))
    ctx.console.print(table)
    ctx.console.print(f"see the trends with: outcomes serve (project {PROJECT}, the last 7 days)")
