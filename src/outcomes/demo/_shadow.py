"""Demo part: a memory store tries a derived confidence in shadow mode.

Recalls carry the caller's confidence; the shadow recorder logs a derived one next to it
(the formula of the ai-memory telemetry), labels arrive later, and the report says per source
whether switching would help. A candidate ranking policy runs in shadow as well.
"""

from __future__ import annotations

import time

from outcomes.cli._shadow import offpolicy_table, report_table, verdict_lines
from outcomes.demo import DemoContext
from outcomes.shadow import (
    ConfidenceSignals,
    ShadowConfig,
    ShadowRecorder,
    calibration_report,
    offpolicy_report,
    seed_confidence,
)
from outcomes.testing import FakeClock

NAMESPACE = "demo-memory"
BASELINE = {"user": 0.7, "agent": 0.45, "web": 0.35}


def run(ctx: DemoContext) -> None:
    rng = ctx.rng
    recalls = max(3_000, min(ctx.calls * 2, 20_000))
    clock = FakeClock(ctx.started - 3 * 86_400)
    recorder = ShadowRecorder(
        ctx.store,
        config=ShadowConfig(enabled=True, sample_rate=0.5),
        clock=clock,
        writer=ctx.writer,
        uniform=rng.random,
    )
    observed: list[tuple[str, float]] = []
    decisions: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    with ctx.progress("recalls in shadow mode", recalls) as advance:
        for i in range(recalls):
            source = rng.choices(("user", "agent", "web"), weights=(5, 4, 1))[0]
            age = rng.expovariate(1 / 40)
            signals = ConfidenceSignals(
                source_age_days=age,
                atom_derivation=rng.random() < 0.3,
                prior_corroboration_count=rng.randrange(0, 12),
                freshness_factor=2 ** (-age / 30),
                baseline_per_source=BASELINE[source],
            )
            derived = seed_confidence(signals.as_dict())
            truth = min(0.98, max(0.02, derived + rng.gauss(0, 0.05)))
            if source == "user":
                caller: float | None = 0.9  # users' notes are always "confident"
            elif source == "agent":
                caller = min(1.0, max(0.0, truth + rng.gauss(0, 0.02)))  # a good caller
            else:
                caller = None if rng.random() < 0.7 else 0.8
            obs_id = recorder.observe(f"mem-{i}", NAMESPACE, source, caller, signals)
            if obs_id is not None:
                observed.append((obs_id, truth))
            # The live ranker keeps a memory with probability 0.5; a candidate keeps it
            # only when its derived confidence is above 0.5.
            live_keep = rng.random() < 0.5
            d_id = recorder.log_decision(
                "memory-ranker",
                "keep-if-derived>0.5",
                live_choice="keep" if live_keep else "drop",
                live_propensity=0.5,
                candidate_choice="keep" if derived > 0.5 else "drop",
            )
            decisions.append((d_id, (truth if live_keep else 0.5)))
            clock.advance(0.5)
            advance(1)
    recorder.flush(timeout=60)
    # Outcomes arrive later, for most (not all) recalls.
    clock.advance(86_400)
    labeled = 0
    with ctx.progress("labels arriving", len(observed)) as advance:
        for obs_id, truth in observed:
            if rng.random() < 0.8:
                recorder.label(
                    obs_id, rng.random() < truth, recall_outcome=rng.choice(("recalled", "skipped"))
                )
                labeled += 1
            advance(1)
    for d_id, expected in decisions[: recalls // 2]:
        recorder.reward(d_id, 1.0 if rng.random() < expected else 0.0)
    elapsed = time.perf_counter() - t0
    ctx.console.print(
        f"{recalls:,} recalls, {len(observed):,} observed in shadow (sample rate 0.5), "
        f"{labeled:,} labeled later; {elapsed:.1f}s. The caller's value was used throughout."
    )
    groups = calibration_report(ctx.store, namespace=NAMESPACE)
    ctx.console.print(
        report_table(groups, title=f"shadow calibration: {NAMESPACE}", show_namespace=False)
    )
    for line in verdict_lines(groups, show_namespace=False):
        ctx.console.print(line)
    ctx.console.print(
        offpolicy_table([e for e in offpolicy_report(ctx.store) if e.point == "memory-ranker"])
    )
