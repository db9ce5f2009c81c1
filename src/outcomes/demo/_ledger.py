"""Demo part: calls flow through the background writer into the receipt ledger."""

from __future__ import annotations

import time

from rich.table import Table

from outcomes._ids import new_id
from outcomes.cli._ledger import ledger_table
from outcomes.demo import DemoContext
from outcomes.ledger import summarize
from outcomes.records import Receipt
from outcomes.testing.models import Simulator


def run(ctx: DemoContext) -> None:
    sim = Simulator(ctx.rng)
    since = ctx.started
    t0 = time.perf_counter()
    with ctx.progress("recording calls", ctx.calls) as advance:
        for i in range(ctx.calls):
            model = sim.model()
            task = sim.task()
            result = sim.call(model, task)
            own = new_id()  # a call's receipt id is its trace id, as the tracker writes it
            ctx.writer.submit(
                Receipt(
                    receipt_id=own,
                    trace_id=own,
                    model_id=model.model_id,
                    task=task,
                    timestamp=time.time(),
                    success=None
                    if result.error is None and not result.output_tokens
                    else result.error is None,
                    latency_ms=result.latency_ms,
                    input_tokens=result.input_tokens,
                    output_tokens=result.output_tokens,
                    cost_usd=result.cost_usd,
                    error=result.error,
                    routing_reason="demo: uniform traffic",
                    project_id="demo",
                    source="complete" if result.error is None else "failure",
                )
            )
            if i % 500 == 499:
                advance(500)
        ctx.writer.flush(timeout=60)
    elapsed = time.perf_counter() - t0
    stats = ctx.writer.stats()
    ctx.console.print(
        ledger_table(summarize(ctx.store, since=since, by_task=False), title="this run's receipts")
    )
    table = Table(title="background writer", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("submitted", f"{stats.submitted:,}")
    table.add_row("written (committed)", f"{stats.written:,}")
    table.add_row("dropped (queue full)", f"{stats.dropped:,}")
    table.add_row("failed", f"{stats.failed:,}")
    table.add_row("calls per second, recorded and committed", f"{ctx.calls / elapsed:,.0f}")
    ctx.console.print(table)
