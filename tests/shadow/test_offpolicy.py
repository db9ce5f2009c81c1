"""Any decision can run in shadow: off-policy estimates of a candidate policy."""

from __future__ import annotations

import numpy as np
import pytest

from outcomes.errors import ValidationError
from outcomes.shadow import ShadowConfig, ShadowRecorder, offpolicy_report
from outcomes.store import MemoryStore, Store
from outcomes.testing import FakeClock

ARMS = ("small", "medium", "large")
TRUE_RATE = {"small": 0.3, "medium": 0.5, "large": 0.8}


def _simulate(recorder: ShadowRecorder, n: int, seed: int) -> None:
    """Live policy: uniform over three arms. Candidates: always 'large'; 70/30 mix."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        live = ARMS[int(rng.integers(0, 3))]
        reward = float(rng.random() < TRUE_RATE[live])
        a = recorder.log_decision(
            "router",
            "always-large",
            live_choice=live,
            live_propensity=1 / 3,
            candidate_choice="large",
        )
        b = recorder.log_decision(
            "router",
            "mix",
            live_choice=live,
            live_propensity=1 / 3,
            candidate_choice="large",
            candidate_probability={"large": 0.7, "medium": 0.3, "small": 0.0}[live],
        )
        recorder.reward(a, reward)
        recorder.reward(b, reward)


def test_ips_recovers_the_value_of_a_candidate_never_run_live() -> None:
    recorder = ShadowRecorder(MemoryStore(), config=ShadowConfig(enabled=True))
    _simulate(recorder, 3_000, seed=4)
    est = {e.candidate: e for e in offpolicy_report(recorder.store, point="router")}
    large, mix = est["always-large"], est["mix"]
    assert large.rewarded == 3_000
    assert large.live_value == pytest.approx(np.mean(list(TRUE_RATE.values())), abs=0.03)
    for e, truth in ((large, 0.8), (mix, 0.7 * 0.8 + 0.3 * 0.5)):
        assert e.ips_interval
        assert e.snips_interval
        assert e.ips
        assert e.snips
        assert e.ips_interval[0] < truth < e.ips_interval[1]
        assert e.snips_interval[0] < truth < e.snips_interval[1]
        assert e.ips == pytest.approx(truth, abs=0.06)
    assert large.agreement == pytest.approx(1 / 3, abs=0.03)
    assert large.effective_sample_size == pytest.approx(1_000, rel=0.1)


def test_hand_computed_estimates(store: Store) -> None:
    recorder = ShadowRecorder(store, config=ShadowConfig(enabled=True), clock=FakeClock())
    rows = [("a", 0.5, "a", 1.0), ("b", 0.25, "a", 0.0), ("a", 0.5, "b", 1.0), ("a", 0.5, "a", 0.0)]
    for live, p, cand, r in rows:
        i = recorder.log_decision(
            "p", "c", live_choice=live, live_propensity=p, candidate_choice=cand
        )
        recorder.reward(i, r)
    recorder.log_decision("p", "c", live_choice="a", live_propensity=1, candidate_choice="a")
    (e,) = offpolicy_report(store)
    w = [2.0, 0.0, 0.0, 2.0]
    r = [1.0, 0.0, 1.0, 0.0]
    assert (e.decisions, e.rewarded) == (5, 4)
    assert e.ips == pytest.approx(sum(a * b for a, b in zip(w, r, strict=True)) / 4)
    assert e.snips == pytest.approx(0.5)
    assert e.live_value == pytest.approx(0.5)
    assert e.agreement == pytest.approx(0.5)
    wr = [a * b for a, b in zip(w, r, strict=True)]
    se = np.std(wr, ddof=1) / 2
    assert e.ips_interval == pytest.approx(
        (0.5 - 1.959963984540054 * se, 0.5 + 1.959963984540054 * se)
    )
    assert e.as_dict()["candidate"] == "c"


def test_unrewarded_candidates_report_counts_only() -> None:
    recorder = ShadowRecorder(MemoryStore(), config=ShadowConfig(enabled=True))
    recorder.log_decision("p", "c", live_choice="a", live_propensity=0.5, candidate_choice="b")
    (e,) = offpolicy_report(recorder.store)
    assert (e.decisions, e.rewarded, e.ips, e.snips) == (1, 0, None, None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"live_propensity": 0.0},
        {"live_propensity": 1.5},
        {"live_propensity": float("nan")},
        {"candidate_probability": -0.1},
    ],
)
def test_invalid_propensities_are_rejected(kwargs: dict[str, float]) -> None:
    recorder = ShadowRecorder(MemoryStore(), config=ShadowConfig(enabled=True))
    args: dict[str, object] = {"live_choice": "a", "live_propensity": 0.5, "candidate_choice": "a"}
    args.update(kwargs)
    with pytest.raises(ValidationError):
        recorder.log_decision("p", "c", **args)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        recorder.reward("x", 2.0)
