"""The router: filters with reasons, scores, seeded selection, outages, fallbacks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from outcomes import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing import NoModelAvailable, Router, Weights, select
from outcomes.routing._select import ArmView, monte_carlo_propensity, thompson_propensity
from outcomes.store import MemoryStore
from outcomes.testing import FakeClock


def registry() -> ModelRegistry:
    reg = ModelRegistry()
    reg.add(ModelInfo("big", "p", 10.0, 30.0, context_window=128_000, prior=0.9))
    reg.add(ModelInfo("small", "p", 0.1, 0.3, context_window=8_000, prior=0.6))
    reg.add(ModelInfo("coder", "p", 1.0, 2.0, tasks=("code",)))
    return reg


def tracked(clock: FakeClock) -> OutcomeTracker:
    return OutcomeTracker(MemoryStore(), clock=clock)


def record(tracker: OutcomeTracker, model: str, task: str, ok: int, bad: int) -> None:
    for _ in range(ok):
        t = tracker.record_start(model, task)
        tracker.record_complete(t, 100.0, 10, 10)
    for _ in range(bad):
        t = tracker.record_start(model, task)
        tracker.record_failure(t, "boom 500")
    tracker.flush()


def test_greedy_choice_is_exact_and_explained() -> None:
    r = Router(registry=registry(), policy="greedy", seed=1)
    d = r.decide("generate")
    # Priors only: big 0.9 beats small 0.6; coder does not serve generate.
    assert d.model_id == "big"
    assert d.propensity == 1.0
    assert d.fallbacks == ("small",)
    reasons = {c.model_id: c.filtered for c in d.candidates}
    assert reasons["coder"] == "does not serve task 'generate'"
    assert d.reason.startswith("greedy generate: big")


def test_cost_weight_moves_the_choice_to_the_cheap_model() -> None:
    r = Router(registry=registry(), policy="greedy", weights=Weights(1.0, 1.0))
    assert r.decide("generate").model_id == "small"


def test_constraints_filter_with_reasons() -> None:
    r = Router(registry=registry(), policy="greedy")
    d = r.decide("generate", max_cost_usd=1.0, input_tokens=20_000)
    reasons = {c.model_id: c.filtered for c in d.candidates}
    assert d.model_id == "big"
    assert reasons["small"] == "context window 8000 < 20500 tokens"
    d = r.decide("generate", max_cost_usd=0.01)
    assert d.model_id == "small"
    assert {c.model_id: c.filtered for c in d.candidates}[
        "big"
    ] == "expected cost $0.025000 > max $0.010000"


def test_nothing_left_raises_with_every_reason() -> None:
    r = Router(registry=registry())
    with pytest.raises(NoModelAvailable) as info:
        r.decide("generate", max_cost_usd=0.0)
    assert "expected cost" in str(info.value)
    assert {c.model_id for c in info.value.decision.candidates} == {"big", "small", "coder"}


def test_seeded_thompson_is_reproducible() -> None:
    r1, r2 = Router(registry=registry(), seed=7), Router(registry=registry(), seed=7)
    picks_a = [r1.decide("code").model_id for _ in range(30)]
    picks_b = [r2.decide("code").model_id for _ in range(30)]
    assert picks_a == picks_b
    assert len(set(picks_a)) > 1  # Thompson explores


def test_rate_limited_model_is_excluded_and_says_why() -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    t = tracker.record_start("big", "generate")
    tracker.record_failure(t, "429 Too Many Requests", retry_after=30)
    r = Router(registry=registry(), tracker=tracker, policy="greedy", clock=clock)
    d = r.decide("generate")
    assert d.model_id == "small"
    big = next(c for c in d.candidates if c.model_id == "big")
    assert "429" in (big.filtered or "")


def test_outage_costs_one_attempt_then_cooldown_and_a_second_cooldown_never_shortens() -> None:
    clock = FakeClock()
    r = Router(
        registry=registry(),
        policy="greedy",
        clock=clock,
        breaker_failures=1,
        breaker_base_s=30,
        breaker_max_s=600,
    )
    assert r.decide("generate").model_id == "big"
    r.report("big", ok=False)
    first = r.cooldown_until("big")
    assert first == clock.now() + 30
    assert r.decide("generate").model_id == "small"  # no second attempt during the outage
    clock.advance(31)
    r.report("big", ok=False)  # fails again: backoff doubles
    assert r.cooldown_until("big") == clock.now() + 60
    r.report("big", ok=False)  # a third trip while cooling: never earlier than before
    assert (r.cooldown_until("big") or 0) >= clock.now() + 60


def test_only_degraded_models_left_falls_back_and_says_so() -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    record(tracker, "coder", "code", ok=0, bad=10)
    reg = ModelRegistry()
    reg.add(ModelInfo("coder", "p", 1.0, 2.0))
    r = Router(registry=reg, tracker=tracker, policy="greedy", clock=clock, refresh_s=0)
    d = r.decide("code")
    assert d.model_id == "coder"
    assert d.degraded_fallback
    assert "degraded" in d.reason


def test_outcomes_move_the_choice() -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    record(tracker, "small", "generate", ok=60, bad=0)
    record(tracker, "big", "generate", ok=20, bad=40)
    r = Router(registry=registry(), tracker=tracker, policy="greedy", clock=clock, refresh_s=0)
    assert r.decide("generate").model_id == "small"


def test_no_latency_or_cost_data_never_divides_by_zero() -> None:
    arms = [ArmView("a", 2, 1), ArmView("b", 1, 2)]
    sel = select(arms, Weights(1.0, 1.0, 1.0), policy="greedy", rng=np.random.default_rng(0))
    assert sel.index == 0
    assert all(math.isfinite(x) for x in sel.score)


def test_router_call_records_the_decision_on_the_tracker() -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    r = Router(registry=registry(), tracker=tracker, seed=3, clock=clock)
    with r.call("code") as (decision, call):
        call.set_usage(100, 20)
    tracker.flush()
    p = tracker.profile(decision.model_id or "")
    assert p is not None
    assert p.calls == 1


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_propensity_tracks_monte_carlo(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 5
    alpha = rng.uniform(2, 60, n)
    beta = rng.uniform(2, 30, n)
    base = -rng.uniform(0, 0.2, n)
    mean, evidence = alpha / (alpha + beta), alpha + beta
    for chosen in range(n):
        approx = thompson_propensity(mean, evidence, base, 1.0, chosen)
        exact = monte_carlo_propensity(alpha, beta, base, 1.0, chosen, rng, samples=20_000)
        assert abs(approx - exact) < 0.15, (chosen, approx, exact)


def test_epsilon_propensities_sum_to_one() -> None:
    arms = [ArmView(str(i), 1 + i, 3) for i in range(4)]
    probs = {}
    for s in range(400):
        sel = select(arms, Weights(), policy="epsilon", rng=np.random.default_rng(s), epsilon=0.2)
        probs[arms[sel.index].model_id] = sel.propensity
    assert probs["3"] == pytest.approx(0.8 + 0.05)
    assert all(v == pytest.approx(0.05) for k, v in probs.items() if k != "3")
