"""Trajectories: pushing steps, the null builder, serializing and reading 1,000 steps.

Targets (issue 6): a push into a real builder <= 2 us and into the null builder <= 0.2 us,
each shown next to the cheapest thing the same call could be (``list.append`` of the same
step object; a call of an empty function); serializing a 1,000-step trajectory to JSON
text <= 5 ms, next to ``json.dumps`` of the equivalent, already-built dicts.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks._harness import Context, median_ns
from outcomes.store import SQLiteStore
from outcomes.trajectory import (
    AnnRecall,
    AnyStep,
    ChunksRetrieved,
    FinalDecision,
    HybridFusion,
    LlmCall,
    McpResponseSize,
    NullTrajectoryBuilder,
    PastVerdictsRecalled,
    RecalledVerdict,
    RetrievalFilter,
    RuleHitByOrigin,
    RulesApplied,
    RuleSource,
    SelfCheck,
    SignatureConfidenceAdjust,
    TrajectoryBuilder,
    TrajectoryStore,
    loads_steps,
)


def _steps(n: int) -> list[AnyStep]:
    """A realistic mix: every kind, LLM calls most often, similarities with full precision."""
    verdict = RecalledVerdict("v-1", "avoid unwrap in handlers", 0.9134, "fn h() { x.unwrap() }")
    cycle: list[AnyStep] = [
        RetrievalFilter(1200, 300),
        AnnRecall(True, 25_000, 40),
        HybridFusion(20, 40, 9),
        ChunksRetrieved(5, ["parse", "render", "auth"], [0.9312, 0.8821, 0.8013, 0.7, 0.65]),
        RulesApplied(["r1", "r7", "r9"], RuleSource.TEAM),
        PastVerdictsRecalled(2, [0.9134, 0.8123], [verdict]),
        LlmCall(
            "safety",
            4200,
            310,
            trace_id="0193f1c2-7a4b-7c3d-8e5f-0a1b2c3d4e5f",
            started_at=1.7e9,
            duration_ms=812.5,
        ),
        LlmCall("performance", 4100, 280, started_at=1.7e9 + 1, duration_ms=640.25),
        SelfCheck(4, 1, 0.8125),
        SignatureConfidenceAdjust(2, 1),
        McpResponseSize("search_rules", 1234, 3),
        RuleHitByOrigin(1, 2, 0, 1, 0),
        FinalDecision(["issue-1", "issue-2", "issue-3"]),
    ]
    return [cycle[i % len(cycle)] for i in range(n)]


def _time_ms(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def run(ctx: Context) -> None:
    number = 20_000 if ctx.quick else 200_000
    step = LlmCall("safety", 4200, 310)

    builder = TrajectoryBuilder()
    push = builder.push
    plain: list[AnyStep] = []
    append = plain.append

    def push_real() -> None:
        push(step)
        if len(builder._steps) > 100_000:
            builder._steps.clear()

    def append_plain() -> None:
        append(step)
        if len(plain) > 100_000:
            plain.clear()

    real_ns = median_ns(push_real, number=number)
    ref_ns = median_ns(append_plain, number=number)
    ctx.report(
        "push into TrajectoryBuilder (step built beforehand)",
        real_ns,
        "ns",
        reference_name="list.append + len check",
        reference_value=ref_ns,
        target="<= 2000 ns",
        passed=real_ns <= 2000,
    )

    def build_and_push() -> None:
        push(LlmCall("safety", 4200, 310, duration_ms=812.5))
        if len(builder._steps) > 100_000:
            builder._steps.clear()

    def build_dict_and_append() -> None:
        append(
            {
                "kind": "llm_call",
                "perspective": "safety",
                "input_tokens": 4200,  # type: ignore[arg-type]
                "output_tokens": 310,
                "duration_ms": 812.5,
            }
        )
        if len(plain) > 100_000:
            plain.clear()

    built_ns = median_ns(build_and_push, number=number)
    built_ref = median_ns(build_dict_and_append, number=number)
    ctx.report(
        "build an llm_call step + push (informational)",
        built_ns,
        "ns",
        reference_name="build the equivalent dict + list.append",
        reference_value=built_ref,
    )

    null = NullTrajectoryBuilder()
    null_push = null.push

    def nothing(_: object) -> None:
        return None

    null_ns = median_ns(lambda: null_push(step), number=number)
    noop_ns = median_ns(lambda: nothing(step), number=number)
    ctx.report(
        "push into NullTrajectoryBuilder",
        null_ns,
        "ns",
        reference_name="call of an empty function",
        reference_value=noop_ns,
        target="<= 200 ns",
        passed=null_ns <= 200,
    )

    full = TrajectoryBuilder()
    for s in _steps(1000):
        full.push(s)
    wire = full.into_json()
    repeat = 20 if ctx.quick else 100
    ser_ms = _time_ms(full.to_json_text, repeat)
    dumps_ms = _time_ms(lambda: json.dumps(wire, separators=(",", ":"), ensure_ascii=False), repeat)
    ctx.report(
        "serialize 1,000 steps to JSON text",
        ser_ms,
        "ms",
        reference_name="json.dumps of the same wire dicts",
        reference_value=dumps_ms,
        target="<= 5 ms",
        passed=ser_ms <= 5.0,
    )

    text = full.to_json_text()
    read_ms = _time_ms(lambda: loads_steps(text), repeat)
    parse_ms = _time_ms(lambda: json.loads(text), repeat)
    ctx.report(
        "read + validate 1,000 steps (informational)",
        read_ms,
        "ms",
        reference_name="json.loads of the same text",
        reference_value=parse_ms,
    )

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        try:
            ts = TrajectoryStore(store)
            runs = 5 if ctx.quick else 20
            steps = list(full.steps)
            samples = []
            for i in range(runs):
                t0 = time.perf_counter()
                ts.save(f"run-{i}", steps)
                samples.append((time.perf_counter() - t0) * 1000)
            ctx.report(
                "save a 1,000-step trajectory to SQLite (informational)",
                statistics.median(samples),
                "ms",
            )
        finally:
            store.close()
