"""Shared by the selection-policy tests: a tracker with given outcomes per model, and
how often a router picks each model next to the propensity it logs."""

from __future__ import annotations

from outcomes import OutcomeTracker, Router
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.store import MemoryStore


def record(tracker: OutcomeTracker, model: str, ok: int, bad: int) -> None:
    """``ok`` successful and ``bad`` failed calls of ``model`` on task ``code``."""
    for _ in range(ok):
        tracker.record_complete(tracker.record_start(model, "code"), 100.0, 10, 10)
    for _ in range(bad):
        tracker.record_failure(tracker.record_start(model, "code"), "boom 500")


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
