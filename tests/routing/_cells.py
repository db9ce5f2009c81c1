"""Shared by the router and profile tests: calls with given outcomes per model, a
tracker holding them, and how often a router picks each model next to the propensity it
logs."""

from __future__ import annotations

import pytest

from outcomes import OutcomeTracker, Router
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.store import MemoryStore


def record(tracker: OutcomeTracker, model: str, ok: int, bad: int = 0, task: str = "code") -> None:
    """``ok`` successful and ``bad`` failed calls of ``model`` on ``task``."""
    for _ in range(ok):
        tracker.record_complete(tracker.record_start(model, task), 100.0, 10, 10)
    for _ in range(bad):
        tracker.record_failure(tracker.record_start(model, task), "boom 500")


def recorded(cells: dict[str, tuple[int, int]]) -> tuple[ModelRegistry, OutcomeTracker]:
    """A registry of the models of ``cells`` and a tracker holding their outcomes."""
    reg = ModelRegistry()
    tracker = OutcomeTracker(MemoryStore())
    for m, (ok, bad) in cells.items():
        reg.add(ModelInfo(m, "p", 1.0, 1.0))
        record(tracker, m, ok, bad)
    tracker.refresh_view()
    return reg, tracker


def picks(r: Router, n: int) -> tuple[dict[str, int], dict[str, float]]:
    """How often each model is picked in ``n`` decisions on ``code``, and the
    propensity logged with its pick."""
    freq: dict[str, int] = {}
    props: dict[str, float] = {}
    for _ in range(n):
        d = r.decide("code")
        assert d.model_id is not None
        freq[d.model_id] = freq.get(d.model_id, 0) + 1
        props[d.model_id] = d.propensity
    return freq, props


def propensities_match_frequencies(r: Router, n: int = 4000) -> dict[str, int]:
    """Assert that each logged propensity is the frequency of its pick over ``n``
    decisions (within 0.02 + 10 %) and that they sum to 1; returns the frequencies."""
    freq, props = picks(r, n)
    for m, p in props.items():
        assert freq[m] / n == pytest.approx(p, abs=0.02 + 0.1 * p), (m, freq, props)
    assert sum(props.values()) == pytest.approx(1.0, abs=0.02)  # every pick was seen
    return freq


def sixty_with_priors(policy: str) -> Router:
    """A router over 60 models (the numpy path) known only by registry priors of 400
    pseudo-counts, half a point apart from 30 % (m00) to 59.5 % (m59)."""
    reg = ModelRegistry()
    for i in range(60):
        reg.add(ModelInfo(f"m{i:02d}", "p", 1.0, 1.0, prior=0.3 + 0.005 * i))
    r = Router(registry=reg, seed=1, policy=policy, prior_strength=400.0)  # type: ignore[arg-type]
    r.max_prior = 400.0
    return r
