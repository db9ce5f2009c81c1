"""Demo part: model calls through the tracker, signals, a 429 burst, and the leaderboard.

Six simulated models with hidden per-task quality, latency and price answer the calls;
a throttled provider answers 429 in bursts. Users give a verdict on most answers (some
twice, some late, after the pending sweep); the leaderboard is then read back from the
store, as every process sharing it would see it.
"""

from __future__ import annotations

from rich import box
from rich.table import Table

from outcomes.cli._models import leaderboard_table
from outcomes.demo import DemoContext
from outcomes.inference import OutcomeTracker, ProfileBook
from outcomes.inference._view import leaderboard_order
from outcomes.records import Signal
from outcomes.testing.models import FLEET, TASKS, Simulator

PROJECT = "demo-models"
"""The demo's calls carry this project id (other demo parts write receipts too)."""
SIGNAL_SHARE = 0.7
DUPLICATE_SHARE = 0.05
LATE_SHARE = 0.1
_TASK_WEIGHTS = dict(zip(TASKS, (40, 30, 12, 12, 6), strict=True))


def _hidden_quality(model_id: str) -> float:
    model = next(m for m in FLEET if m.model_id == model_id)
    total = sum(_TASK_WEIGHTS.values())
    return sum(model.quality.get(t, 0.5) * w for t, w in _TASK_WEIGHTS.items()) / total


def run(ctx: DemoContext) -> None:
    sim = Simulator(ctx.rng)
    rng = ctx.rng
    tracker = OutcomeTracker(ctx.store, writer=ctx.writer)
    late: list[tuple[str, bool]] = []
    duplicates = signals = 0
    with ctx.progress("model calls", ctx.calls) as advance:
        for i in range(ctx.calls):
            model = sim.model()
            task = sim.task()
            trace = tracker.record_start(
                model.model_id, task, f"demo: uniform {task} traffic", project_id=PROJECT
            )
            result = sim.call(model, task)
            if result.error is not None:
                tracker.record_failure(trace, result.error, latency_ms=result.latency_ms)
            else:
                tracker.record_complete(
                    trace, result.latency_ms, result.input_tokens, result.output_tokens,
                    cost_usd=result.cost_usd,
                )  # fmt: skip
                roll = rng.random()
                if roll < LATE_SHARE:
                    late.append((trace, result.good))
                elif roll < SIGNAL_SHARE:
                    verdict = "accepted" if result.good else "rejected"
                    sig = Signal(f"demo-{trace}", trace, "conversation", verdict,
                                 tracker.clock.now(), rng.uniform(0.75, 0.95))  # fmt: skip
                    tracker.record_signal(sig)
                    signals += 1
                    if rng.random() < DUPLICATE_SHARE:
                        duplicates += 1
                        tracker.record_signal(sig)  # delivered twice, counted once
            if i % 250 == 249:
                advance(250)
    swept = tracker.sweep_pending(0.0)
    for trace, good in late:  # arrive after the sweep: they supersede, never duplicate
        verdict = "accepted" if good else "rejected"
        tracker.record_signal(
            Signal(f"demo-{trace}", trace, "conversation", verdict, tracker.clock.now(), 0.9)
        )
    tracker.flush(timeout=60)
    excluded = sorted(p.model_id for p in tracker.profiles() if p.excluded)
    profiles = sorted(ProfileBook(ctx.store).profiles(project_id=PROJECT), key=leaderboard_order)
    table = leaderboard_table(profiles, title="model leaderboard (read back from the store)")
    ctx.console.print(table)
    truth = Table(title="hidden truth vs learned", box=box.SIMPLE_HEAD, pad_edge=False)
    truth.add_column("model", style="bold", no_wrap=True)
    truth.add_column("hidden p(good)", justify="right")
    truth.add_column("learned quality", justify="right")
    truth.add_column("hidden rank", justify="right")
    truth.add_column("learned rank", justify="right")
    hidden = {p.model_id: _hidden_quality(p.model_id) for p in profiles}
    hidden_rank = {m: i for i, m in enumerate(sorted(hidden, key=lambda m: -hidden[m]), 1)}
    by_quality = sorted(profiles, key=lambda p: -(p.quality or 0.0))
    learned_rank = {p.model_id: i for i, p in enumerate(by_quality, 1)}
    for p in by_quality:
        truth.add_row(
            p.model_id,
            f"{hidden[p.model_id]:.2f}",
            "-" if p.quality is None else f"{p.quality:.2f}",
            str(hidden_rank[p.model_id]),
            str(learned_rank[p.model_id]),
        )
    ctx.console.print(truth)
    ctx.console.print(
        f"{ctx.calls} calls, {signals + len(late)} verdicts ({len(late)} late, after the sweep "
        f"of {swept} pending calls; {duplicates} delivered twice and counted once). "
        f"Rate-limited and excluded for this session: {', '.join(excluded) or 'none'}. "
        "Success counts a completed call without a verdict as a mechanical success; quality "
        "is the time-decayed mean of the verdicts only (accepted ~c, rejected ~(1-c)*0.3).",
        highlight=False,
    )
