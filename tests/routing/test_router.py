"""The router: filters with reasons, scores, seeded selection, outages, fallbacks."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from outcomes import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing import Candidate, NoModelAvailable, Router, Weights, select
from outcomes.routing._select import ArmView, monte_carlo_propensity, thompson_propensity
from outcomes.store import MemoryStore
from outcomes.testing import FakeClock
from tests.routing import _cells


def registry() -> ModelRegistry:
    reg = ModelRegistry()
    reg.add(ModelInfo("big", "p", 10.0, 30.0, context_window=128_000, prior=0.9))
    reg.add(ModelInfo("small", "p", 0.1, 0.3, context_window=8_000, prior=0.6))
    reg.add(ModelInfo("coder", "p", 1.0, 2.0, tasks=("code",)))
    return reg


def tracked(clock: FakeClock) -> OutcomeTracker:
    return OutcomeTracker(MemoryStore(), clock=clock)


def record(tracker: OutcomeTracker, model: str, task: str, ok: int, bad: int) -> None:
    _cells.record(tracker, model, ok, bad, task)
    # Decisions read the published snapshot and never wait for it: wait here instead.
    tracker.refresh_view()


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
@pytest.mark.parametrize("n", [5, 30])
def test_propensity_tracks_monte_carlo(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    alpha = rng.uniform(8, 60, n)
    beta = rng.uniform(8, 30, n)
    base = -rng.uniform(0, 0.2, n)
    mean, evidence = alpha / (alpha + beta), alpha + beta
    total = 0.0
    for chosen in range(n):
        approx = thompson_propensity(mean, evidence, base, 1.0, chosen)
        exact = monte_carlo_propensity(alpha, beta, base, 1.0, chosen, rng, samples=20_000)
        # Monte Carlo's own standard error is <= 0.0036 at 20,000 samples.
        assert abs(approx - exact) < 0.02 + 0.1 * exact, (chosen, approx, exact)
        total += approx
    assert total == pytest.approx(1.0, abs=0.02)


def test_propensity_of_many_look_alike_candidates_is_one_over_n() -> None:
    # A product of pairwise win probabilities would say 0.5 ** 29 here.
    n = 30
    mean, evidence = np.full(n, 0.6), np.full(n, 12.0)
    p = thompson_propensity(mean, evidence, np.zeros(n), 1.0, 7)
    assert p == pytest.approx(1 / n, rel=0.01)
    sel = select(
        [ArmView(f"m{i}", 7.2, 4.8) for i in range(n)], Weights(), rng=np.random.default_rng(0)
    )
    assert sel.propensity == pytest.approx(1 / n, rel=0.01)


def test_epsilon_propensities_sum_to_one() -> None:
    arms = [ArmView(str(i), 1 + i, 3) for i in range(4)]
    probs = {}
    for s in range(400):
        sel = select(arms, Weights(), policy="epsilon", rng=np.random.default_rng(s), epsilon=0.2)
        probs[arms[sel.index].model_id] = sel.propensity
    assert probs["3"] == pytest.approx(0.8 + 0.05)
    assert all(v == pytest.approx(0.05) for k, v in probs.items() if k != "3")


def _many(n: int) -> ModelRegistry:
    reg = ModelRegistry()
    for i in range(n):
        reg.add(ModelInfo(f"m{i:03d}", "p", 1.0 + i, 2.0 + i, prior=0.5 + 0.4 * i / n))
    return reg


@pytest.mark.parametrize("n", [5, 60])  # the list path and the numpy path
def test_blocks_between_two_decisions_apply_at_once_despite_the_cached_pool(n: int) -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    r = Router(
        registry=_many(n),
        tracker=tracker,
        policy="greedy",
        clock=clock,
        refresh_s=3600.0,
        breaker_failures=1,
    )
    best = r.decide("generate").model_id
    assert best == f"m{n - 1:03d}"
    # A rate limit between two decisions (no profile refresh in between).
    t = tracker.record_start(best, "generate")
    tracker.record_failure(t, "429 Too Many Requests", retry_after=30)
    d = r.decide("generate")
    assert d.model_id != best
    assert "429" in (next(c for c in d.candidates if c.model_id == best).filtered or "")
    assert best not in d.fallbacks
    # A breaker trip, then its expiry.
    second = d.model_id
    assert second is not None
    r.report(second, ok=False)
    d = r.decide("generate")
    assert d.model_id not in (best, second)
    assert "cooling down" in (next(c for c in d.candidates if c.model_id == second).filtered or "")
    clock.advance(31)
    assert r.decide("generate").model_id == second
    tracker.clear_exclusion()
    assert r.decide("generate").model_id == best
    assert len(r.decide("generate").candidates) == n


def test_profiles_and_registry_changes_reach_the_pool_on_refresh() -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    reg = registry()
    r = Router(registry=reg, tracker=tracker, policy="greedy", clock=clock, refresh_s=10.0)
    assert r.decide("generate").model_id == "big"
    record(tracker, "big", "generate", ok=0, bad=40)
    assert r.decide("generate").model_id == "big"  # the profiles are at most 10 s old
    clock.advance(11)
    assert r.decide("generate").model_id == "small"
    reg.add(ModelInfo("newcomer", "p", 0.01, 0.02, prior=0.99))
    assert r.decide("generate").model_id == "newcomer"  # a new model needs no refresh
    r.weights = Weights(1.0, 5.0)
    d = r.decide("generate")
    assert d.model_id == "newcomer"
    assert all(c.cost_penalty is not None for c in d.candidates if c.filtered is None)


@pytest.mark.parametrize("listed", [False, True])
def test_registry_edits_reach_the_next_decision_without_a_refresh(listed: bool) -> None:
    reg = ModelRegistry()
    reg.add(ModelInfo("a", "p", 1.0, 1.0, prior=0.9))
    reg.add(ModelInfo("b", "p", 1.0, 1.0, prior=0.5))
    r = Router(registry=reg, policy="greedy", refresh_s=3600.0)
    kw = {"candidates": ["a", "b"]} if listed else {}
    assert r.decide("generate", **kw).model_id == "a"
    reg.add(ModelInfo("a", "p", 1.0, 1.0, prior=0.1))  # same id, new prior
    assert r.decide("generate", **kw).model_id == "b"
    reg.add(ModelInfo("b", "p", 1.0, 1.0, prior=0.5, tasks=("code",)))
    d = r.decide("generate", **kw)
    assert d.model_id == "a"
    assert next(c for c in d.candidates if c.model_id == "b").filtered == (
        "does not serve task 'generate'"
    )
    # One model out, another in: the same number of entries.
    del reg.models["b"]
    reg.add(ModelInfo("c", "p", 1.0, 1.0, prior=0.8))
    d = r.decide("generate", candidates=["a", "c"] if listed else None)
    assert d.model_id == "c"
    assert sorted(c.model_id for c in d.candidates) == ["a", "c"]


def test_router_settings_apply_from_the_next_decision() -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    reg = ModelRegistry()
    reg.add(ModelInfo("x", "p", 1.0, 1.0, prior=0.9))
    reg.add(ModelInfo("y", "p", 1.0, 1.0))
    record(tracker, "x", "generate", ok=30, bad=34)  # Beta(40, 36) beats y's Beta(1, 1)
    r = Router(registry=reg, tracker=tracker, policy="greedy", clock=clock, refresh_s=3600)
    assert r.decide("generate").model_id == "x"
    r.degrade_rate = 0.5  # under half of x's outcomes succeed ...
    r.degrade_threshold = 3  # ... and 34 failures > 30 successes + 3
    d = r.decide("generate")
    assert d.model_id == "y"
    assert "degraded" in (next(c for c in d.candidates if c.model_id == "x").filtered or "")
    r.degrade_threshold = 5
    assert r.decide("generate").model_id == "x"
    r.prior_strength = 0.0  # Beta(31, 35) now
    d = r.decide("generate")
    assert d.model_id == "y"
    assert next(c for c in d.candidates if c.model_id == "x").prior_alpha == 1.0


def test_lazy_explanation_matches_the_choice() -> None:
    r = Router(registry=_many(12), policy="thompson", seed=3)
    d = r.decide("generate")
    scored = [c for c in d.candidates if c.filtered is None]
    assert len(scored) == 12
    assert d.model_id not in d.fallbacks
    assert sorted((*d.fallbacks, d.model_id)) == sorted(c.model_id for c in scored)
    by_score = sorted(scored, key=lambda c: -(c.score or 0.0))
    assert [c.model_id for c in by_score if c.model_id != d.model_id] == list(d.fallbacks)
    assert d.candidates is d.candidates  # built once
    assert d.as_dict()["fallbacks"] == list(d.fallbacks)


@pytest.mark.parametrize("n", [12, 80])  # the list path and the numpy path
def test_the_json_answer_is_the_dict_answer_with_the_extra_keys(n: int) -> None:
    r = Router(registry=_many(n), policy="thompson", seed=3)
    d = r.decide("generate", max_cost_usd=0.01)
    as_json = msgspec.json.decode(d.to_json(trace_id="t-1"))
    assert as_json == msgspec.json.decode(msgspec.json.encode({**d.as_dict(), "trace_id": "t-1"}))
    assert list(as_json) == [*d.as_dict(), "trace_id"]  # same keys, same order
    assert any(c["filtered"] for c in as_json["candidates"])  # filtered rows too


def _generic_json(d: object, **extra: object) -> bytes:
    """The answer encoded the plain way: every candidate row as a struct."""
    from outcomes.routing._decision import _ENCODER

    ex = d._explain  # type: ignore[attr-defined]
    rows = ex.candidate_structs() if ex is not None else []
    return _ENCODER.encode(d._head() | {"candidates": rows} | extra)  # type: ignore[attr-defined]


@pytest.mark.parametrize("policy", ["thompson", "greedy", "ucb", "epsilon", "ids", "elim"])
@pytest.mark.parametrize("n", [12, 80])
def test_the_answer_spliced_from_frames_is_byte_for_byte_the_plain_encoding(
    policy: str, n: int
) -> None:
    """Decision.to_json splices each decision's figures into the pool's encoded frames:
    the bytes must be those of encoding every row, through every state a pool goes
    through (nothing blocked, a model excluded after a 429, a breaker trip, a degraded
    model left as a last resort, an explicit list naming an unknown model, weights that
    make penalties non-zero)."""
    clock = FakeClock()
    tracker = tracked(clock)
    record(tracker, "m001", "generate", ok=2, bad=40)
    r = Router(
        registry=_many(n), tracker=tracker, policy=policy, seed=5, clock=clock,  # type: ignore[arg-type]
        weights=Weights(1.0, 0.3, 0.2),
    )  # fmt: skip
    r.degrade_rate, r.degrade_threshold = 0.5, 3

    def same(**kwargs: object) -> dict[str, str | None]:
        for _ in range(3):
            d = r.decide("generate", **kwargs)  # type: ignore[arg-type]
            assert d.to_json(trace_id="t-1") == _generic_json(d, trace_id="t-1")
            assert d.to_json() == _generic_json(d)
        return {c.model_id: c.filtered for c in d.candidates}

    assert "degraded" in (same()["m001"] or "")
    assert "expected cost" in (same(max_cost_usd=0.01)["m011"] or "")
    t = tracker.record_start("m002", "generate")
    tracker.record_failure(t, "429 Too Many Requests", retry_after=30)
    assert "429" in (same()["m002"] or "")
    r.report("m003", ok=False)
    same()
    same(candidates=["m000", "m001", "nobody", "m004"])
    assert r.decide("generate", candidates=["m001"]).degraded_fallback
    same(candidates=["m001"])  # only the degraded model: used, and said so


def star_gone_poor() -> tuple[FakeClock, OutcomeTracker, ModelRegistry]:
    """'old-star' was right 400 times in 400 a month ago, 4 in 20 lately; 'steady' 70 %
    then and now (a one-day half-life: the old outcomes weigh ~0 by age)."""
    clock = FakeClock(1_750_000_000.0)
    tracker = OutcomeTracker(MemoryStore(), clock=clock, half_life=86_400.0)
    reg = ModelRegistry()
    reg.add(ModelInfo("old-star", "p", 1.0, 1.0))
    reg.add(ModelInfo("steady", "p", 1.0, 1.0))
    record(tracker, "old-star", "code", ok=400, bad=0)
    record(tracker, "steady", "code", ok=140, bad=60)
    clock.advance(30 * 86_400)
    record(tracker, "old-star", "code", ok=4, bad=16)
    record(tracker, "steady", "code", ok=14, bad=6)
    return clock, tracker, reg


def test_forgetting_follows_a_model_that_got_worse() -> None:
    clock, tracker, reg = star_gone_poor()

    def star(r: Router) -> Candidate:
        return next(c for c in r.decide("code").candidates if c.model_id == "old-star")

    forgetting = Router(registry=reg, tracker=tracker, policy="greedy", clock=clock)
    # 400 a month ago weigh ~0 by age; the cell is topped up to min(420 outcomes,
    # min_evidence=200) at its all-time rate (404 in 420): 20 recent calls do not yet
    # outweigh the older ones, the cell is judged on its own last ~200 outcomes.
    s = star(forgetting)
    assert s.successes + s.failures == pytest.approx(200.0)
    assert s.successes == pytest.approx(4.0 + 180.0 * 404.0 / 420.0, abs=0.01)
    assert forgetting.decide("code").model_id == "old-star"
    forgetting.min_evidence = 0.0  # the age-weighted counts themselves
    s = star(forgetting)
    assert (s.successes, s.failures) == (
        pytest.approx(4.0, abs=0.01),
        pytest.approx(16.0, abs=0.01),
    )
    assert forgetting.decide("code").model_id == "steady"
    # With 200 poor calls of its own since, forgetting follows it; counting every outcome
    # the same does not (its 404 old successes still outweigh them).
    record(tracker, "old-star", "code", ok=36, bad=144)
    forgetting.min_evidence = 200.0
    remembering = Router(registry=reg, tracker=tracker, policy="greedy", clock=clock, forget=False)
    assert forgetting.decide("code").model_id == "steady"
    assert remembering.decide("code").model_id == "old-star"
    s = star(forgetting)
    assert s.successes / (s.successes + s.failures) == pytest.approx(0.2, abs=0.001)


def test_change_detection_keeps_a_steady_cell_whole_and_forgets_a_changed_one() -> None:
    clock, tracker, reg = star_gone_poor()
    r = Router(registry=reg, tracker=tracker, policy="greedy", clock=clock, change_z=3.0)

    def cell(model: str) -> Candidate:
        return next(c for c in r.decide("code").candidates if c.model_id == model)

    # 'steady' is right 70 % lately as before: nothing to forget, all 220 outcomes count.
    c = cell("steady")
    assert (c.successes, c.failures) == (pytest.approx(154.0), pytest.approx(66.0))
    # 'old-star' went from 400 in 400 to 4 in 20: judged as with plain forgetting (its
    # recent outcomes, topped up to min_evidence at its all-time rate).
    c = cell("old-star")
    assert c.successes + c.failures == pytest.approx(200.0)
    assert c.successes == pytest.approx(4.0 + 180.0 * 404.0 / 420.0, abs=0.01)
    # A looser test sees no change in 'steady' either way; an impossible one none in
    # 'old-star' (its all-time counts, as without forgetting).
    r.change_z = 1e9
    c = cell("old-star")
    assert (c.successes, c.failures) == (pytest.approx(404.0), pytest.approx(16.0))
    with pytest.raises(ValueError, match="change_z"):
        Router(registry=reg, change_z=-1.0)


@pytest.mark.parametrize("policy", ["thompson", "epsilon"])
def test_memoised_propensities_equal_fresh_ones(policy: str) -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    r = Router(registry=_many(8), tracker=tracker, policy=policy, seed=5, clock=clock, refresh_s=60)  # type: ignore[arg-type]
    seen = 0
    for k in range(300):
        if k == 150:  # a rate limit changes the candidate set: no memo for it
            t = tracker.record_start("m007", "generate")
            tracker.record_failure(t, "429", retry_after=5)
        d = r.decide("generate")
        assert d._explain is not None
        assert d._explain.sel is not None
        fresh = d._explain.sel.propensity
        assert d.propensity == pytest.approx(fresh, abs=1e-12)
        seen += d.model_id == "m007"
    assert seen > 0
    r.policy = "greedy"  # a new policy gets new pools, not the old memo
    assert r.decide("generate").propensity == 1.0


def test_many_candidates_with_degraded_ones_pick_only_healthy_ones() -> None:
    clock = FakeClock()
    tracker = tracked(clock)
    reg = _many(60)
    for i in range(0, 60, 2):  # every other model is degraded
        record(tracker, f"m{i:03d}", "generate", ok=0, bad=10)
    r = Router(registry=reg, tracker=tracker, policy="epsilon", epsilon=1.0, seed=2, clock=clock)
    picks = {r.decide("generate").model_id for _ in range(300)}
    assert picks <= {f"m{i:03d}" for i in range(1, 60, 2)}
    assert len(picks) > 20
    d = r.decide("generate")
    assert d.propensity == pytest.approx(1 / 30)
    assert d.fallbacks[-30:] == tuple(f"m{i:03d}" for i in range(0, 60, 2))


def test_a_weak_cheap_model_is_not_degraded_and_serves_a_cost_weight() -> None:
    """Degraded means calls that mostly fail: a model right 35% of the time stays a
    candidate, and a strong cost weight picks it because it is cheapest."""
    clock = FakeClock()
    tracker = tracked(clock)
    reg = ModelRegistry()
    reg.add(ModelInfo("cheap", "p", 0.1, 0.1))
    reg.add(ModelInfo("dear", "p", 10.0, 10.0))
    record(tracker, "cheap", "code", ok=35, bad=65)
    record(tracker, "dear", "code", ok=70, bad=30)
    r = Router(registry=reg, tracker=tracker, policy="greedy", clock=clock, refresh_s=0, seed=0)
    assert r.decide("code").model_id == "dear"
    r.weights = Weights(1.0, 5.0)
    d = r.decide("code")
    assert d.model_id == "cheap"
    assert not d.degraded_fallback
    assert all(c.filtered is None for c in d.candidates)
    with pytest.raises(ValueError, match="degrade_rate"):
        Router(registry=reg, degrade_rate=1.5)


def _recorded(counts: dict[str, tuple[int, int]]) -> tuple[ModelRegistry, OutcomeTracker]:
    """A registry of equal-priced models and a tracker holding (ok, bad) outcomes of
    each on task 'code' (a model with (0, 0) is untried)."""
    tracker = tracked(FakeClock())
    reg = ModelRegistry()
    for m, (ok, bad) in counts.items():
        reg.add(ModelInfo(m, "p", 1.0, 1.0))
        if ok or bad:
            record(tracker, m, "code", ok=ok, bad=bad)
    return reg, tracker


def test_sharpen_narrows_a_tried_cell_but_an_untried_model_is_still_tried() -> None:
    reg, tracker = _recorded({"better": (60, 40), "worse": (55, 45), "untried": (0, 0)})
    picks: dict[float, dict[str, int]] = {}
    for sharpen in (1.0, 16.0):
        r = Router(registry=reg, tracker=tracker, seed=11, sharpen=sharpen, forget=False)
        counts = {"better": 0, "worse": 0, "untried": 0}
        for _ in range(3000):
            counts[r.decide("code").model_id or ""] += 1
        picks[sharpen] = counts
        d = r.decide("code")
        worse = next(c for c in d.candidates if c.model_id == "worse")
        assert (worse.successes, worse.failures) == (55.0, 45.0)  # the counts as observed
    # Plain Thompson: 'worse' (5 points behind on 100 outcomes each) still gets a good
    # share; sharpened 16x its spread is a quarter, and it is nearly never drawn ...
    assert picks[1.0]["worse"] > 300
    assert picks[16.0]["worse"] < 60
    # ... while the untried model keeps its wide Beta(1, 1) and is tried either way
    # (P(Beta(1, 1) draw > ~0.6) is about 0.4; it still competes with a sharp 'better').
    assert picks[16.0]["untried"] > 600
    with pytest.raises(ValueError, match="sharpen"):
        Router(registry=reg, sharpen=0.5)


def test_sharpened_propensity_tracks_the_sharpened_draw() -> None:
    reg, tracker = _recorded({"a": (30, 20), "b": (27, 23), "c": (22, 28)})
    r = Router(registry=reg, tracker=tracker, seed=2, sharpen=4.0, forget=False)
    n = 4000
    freq = {"a": 0, "b": 0, "c": 0}
    props: dict[str, float] = {}
    for _ in range(n):
        d = r.decide("code")
        assert d.model_id is not None
        freq[d.model_id] += 1
        props[d.model_id] = d.propensity
    for m, p in props.items():
        assert freq[m] / n == pytest.approx(p, abs=0.02 + 0.1 * p)


def test_a_cost_weight_is_one_exchange_rate_across_tasks() -> None:
    """Cost is scored against the dearest candidate's cost per call over all tasks, not
    this task's: where every call costs 4x, the same quality gap is worth less than the
    price gap, so the cheap model serves that task, and the dear one the other."""
    from outcomes.routing._replay_router import ReplayProfiles, price_registry

    src = ReplayProfiles(("big", "small"), half_life=math.inf)
    for task, scale in (("short", 1.0), ("long", 4.0)):
        for i in range(100):
            src.observe(task, "big", float(i % 10 < 9), 1.0 * scale)
            src.observe(task, "small", float(i % 10 < 7), 0.1 * scale)
    router = Router(
        registry=price_registry(("big", "small"), (1.0, 0.1)),
        profiles=src,
        policy="greedy",
        weights=Weights(quality=1.0, cost=0.25),
        prior_strength=0.0,
        share_cap=0.0,
        clock=src.clock,
        refresh_s=0.0,
    )
    short, long = router.decide("short"), router.decide("long")
    assert (short.model_id, long.model_id) == ("big", "small")
    # big's penalty: 0.25 x its cost in the task / its cost over all tasks (2.5).
    by = {c.model_id: c for c in long.candidates}
    assert by["big"].cost_penalty == pytest.approx(0.25 * 4.0 / 2.5)
    assert {c.model_id: c for c in short.candidates}["big"].cost_penalty == pytest.approx(0.1)
