"""Router decision time: <= 20 us median with 11 candidates, <= 200 us with 200.

The reference is a bare ``random.betavariate`` draw per candidate followed by ``max``:
the least work any Thompson-sampling router does, measured in the same run. A decision
computes its propensity (a quadrature) and its explanation on first access; the second
measure includes reading the propensity, as ``Router.call`` does to log it. The three
measures are taken in alternating chunks, so that a busy spell of the machine slows
them alike instead of one of them only.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable

from benchmarks._harness import Context, per_call_samples_ns
from outcomes import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing import Router, Weights
from outcomes.store import MemoryStore


def seeded_models(n: int, tracker: OutcomeTracker, calls: int) -> tuple[ModelRegistry, list[str]]:
    """``n`` models with list prices and priors drawn from a generator seeded with ``n``,
    and ``calls`` calls of each on ``code`` (80% succeed) recorded in ``tracker`` and
    published to its profile view."""
    rng = random.Random(n)
    reg = ModelRegistry()
    names = [f"model-{i:03d}" for i in range(n)]
    for name in names:
        reg.add(
            ModelInfo(
                name,
                "bench",
                rng.uniform(0.1, 10),
                rng.uniform(0.3, 30),
                context_window=128_000,
                prior=rng.uniform(0.4, 0.9),
            )
        )
    for name in names:
        for _ in range(calls):
            t = tracker.record_start(name, "code")
            if rng.random() < 0.8:
                tracker.record_complete(t, rng.uniform(100, 3000), 500, 200)
            else:
                tracker.record_failure(t, "boom 500")
    tracker.refresh_view()
    return reg, names


def _router(n: int) -> tuple[Router, list[str]]:
    tracker = OutcomeTracker(MemoryStore())
    reg, names = seeded_models(n, tracker, 20)
    router = Router(
        registry=reg, tracker=tracker, weights=Weights(1.0, 0.3, 0.1), seed=1, refresh_s=3600.0
    )
    router.decide("code")  # warm the profile snapshot
    return router, names


def _interleaved(fns: list[Callable[[], object]], calls: int, chunk: int = 1_000) -> list[float]:
    """Median of each of ``fns`` in us, over ``calls`` calls taken ``chunk`` at a time."""
    samples: list[list[int]] = [[] for _ in fns]
    for _ in range(max(1, calls // chunk)):
        for out, fn in zip(samples, fns, strict=True):
            out.extend(per_call_samples_ns(fn, n=chunk))
    return [statistics.median(s) / 1000.0 for s in samples]


def run(ctx: Context) -> None:
    for n, target_us in ((11, 20.0), (200, 200.0)):
        router, names = _router(n)
        calls = 2_000 if ctx.quick else 20_000
        rng = random.Random(0)
        alphas = [rng.uniform(5, 50) for _ in names]
        betas = [rng.uniform(2, 20) for _ in names]

        def reference(
            a: list[float] = alphas, b: list[float] = betas, rng: random.Random = rng
        ) -> int:
            draws = [rng.betavariate(x, y) for x, y in zip(a, b, strict=True)]
            return max(range(len(draws)), key=draws.__getitem__)

        def decide(r: Router = router) -> object:
            return r.decide("code")

        def decide_logged(r: Router = router) -> float:
            return r.decide("code").propensity

        med, logged, ref = _interleaved([decide, decide_logged, reference], calls)
        ctx.report(
            f"decide() median, {n} candidates",
            med,
            "us",
            reference_name="bare Thompson draw + max",
            reference_value=ref,
            target=f"<= {target_us:g} us",
            passed=med <= target_us,
        )
        ctx.report(
            f"decide() + propensity median, {n} candidates",
            logged,
            "us",
            reference_name="bare Thompson draw + max",
            reference_value=ref,
            target=f"<= {target_us:g} us",
            passed=logged <= target_us,
        )
