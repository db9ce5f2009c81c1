"""Cut-offs replayed from stored calls agree with the live router's breaker and the
tracker's rate-limit rule, and survive a restart (they come from the store)."""

from __future__ import annotations

import random
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.testclient import TestClient

from outcomes.inference import OutcomeTracker
from outcomes.inference._limits import RateLimits
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing import Router
from outcomes.server.dashboard import create_dashboard_app
from outcomes.server.dashboard._cutoffs import cutoffs, summary
from outcomes.server.dashboard._data import failure_kind
from outcomes.store import SQLiteStore
from outcomes.testing import FakeClock

ERRORS = (
    "429 Too Many Requests",
    "429 rate limit reached (retry-after: 5)",
    "upstream 503: service unavailable",
    "request timed out after 30 s",
    "invalid tool call",
)


def _calls(*events: tuple[float, str, str | None]) -> list[tuple[float, str, int, str | None]]:
    return [(ts, m, 1 if err else 0, err) for ts, m, err in events]


def test_three_errors_in_a_row_trip_the_breaker_and_a_success_resets_its_backoff() -> None:
    e = "upstream 503: service unavailable"
    calls = _calls(
        (0, "m", e), (1, "m", e), (2, "m", e),  # trip: 30 s
        (40, "m", e), (41, "m", e), (42, "m", e),  # second trip: 60 s
        (200, "m", None),  # success: the next trip starts at 30 s again
        (201, "m", e), (202, "m", e), (203, "m", None), (204, "m", e), (205, "m", None),
        (300, "m", e), (301, "m", e), (302, "m", e),
    )  # fmt: skip
    cuts = cutoffs(calls, failure_kind)
    assert [(c["cause"], c["start"], c["seconds"]) for c in cuts] == [
        ("breaker: server errors", 2, 30.0),
        ("breaker: server errors", 42, 60.0),
        ("breaker: server errors", 302, 30.0),
    ]


def test_rate_limits_cool_down_for_their_retry_after_and_overlapping_ones_merge() -> None:
    calls = _calls(
        (0, "a", "429 rate limit reached (retry-after: 20)"),
        (5, "a", "429 rate limit reached (retry-after: 20)"),  # extends to 25
        (50, "a", None),  # (else a third failure in a row would trip the breaker too)
        (100, "a", "429 Too Many Requests"),  # default 60 s
        (100, "b", "request timed out"),  # neither rule on its own
        (101, "b", None),
    )  # fmt: skip
    cuts = cutoffs(calls, failure_kind)
    assert [(c["model_id"], c["cause"], c["start"], c["until"], c["cooldowns"]) for c in cuts] == [
        ("a", "rate limit cooldown", 0, 25.0, 2),
        ("a", "rate limit cooldown", 100, 160.0, 1),
    ]
    assert summary(cuts) == [
        {"model_id": "a", "cause": "rate limit cooldown", "cutoffs": 2, "seconds": 85.0,
         "longest_s": 60.0},
    ]  # fmt: skip


def test_a_quality_failure_is_not_an_error_for_the_breaker() -> None:
    e = "upstream 503"
    calls = [(0.0, "m", 1, e), (1.0, "m", 1, e), (2.0, "m", 0, None), (3.0, "m", 1, e)]
    assert cutoffs(calls, failure_kind) == []


@pytest.mark.parametrize("seed", range(20))
def test_replay_ends_where_the_live_router_and_tracker_rules_end(seed: int) -> None:
    rng = random.Random(seed)
    clock = FakeClock(1_700_000_000.0)
    reg = ModelRegistry()
    for m in ("a", "b"):
        reg.add(ModelInfo(m, "p", 1.0, 1.0))
    router = Router(registry=reg, clock=clock)
    limits = RateLimits(SimpleNamespace(clock=clock))  # type: ignore[arg-type]
    calls: list[tuple[float, str, int, str | None]] = []
    for _ in range(rng.randint(20, 300)):
        clock.advance(rng.choice((0.0, 1.0, 5.0, 20.0, 90.0)))
        model = rng.choice("ab")
        error = rng.choice(ERRORS) if rng.random() < 0.4 else None
        router.report(model, ok=error is None)
        if error is not None:
            limits.note_failure(model, error, None, clock.now())
        calls.append((clock.now(), model, 1 if error else 0, error))
    cuts = cutoffs(calls, failure_kind)
    for model in "ab":
        breaker = [c["until"] for c in cuts if c["model_id"] == model and "breaker" in c["cause"]]
        live = router._breakers.get(model)
        assert max(breaker, default=0.0) == pytest.approx(live.until if live else 0.0)
        cooled = [c["until"] for c in cuts if c["model_id"] == model and "cooldown" in c["cause"]]
        assert max(cooled, default=None) == pytest.approx(limits._cooldown.get(model))


def _cutoffs_of(db: Path) -> dict[str, Any]:
    store = SQLiteStore(db)
    tracker = OutcomeTracker(store)
    try:
        with TestClient(create_dashboard_app(tracker)) as c:
            data = c.get("/v1/dashboard/routing").json()
            html = c.get("/routing").text
            assert tracker.rate_limits()[1] == {}  # this process saw no failure itself
            return {"data": data["cutoffs"], "html": html}
    finally:
        tracker.close()
        store.close()


def test_the_routing_page_shows_the_demo_outage_the_same_after_a_restart(demo_db: Path) -> None:
    first, again = _cutoffs_of(demo_db), _cutoffs_of(demo_db)
    cuts = first["data"]["cutoffs"]
    outage = [c for c in cuts if c["model_id"] == "claude-3-5-sonnet"]  # the demo's outage
    assert {"rate limit cooldown", "breaker: rate limits"} == {c["cause"] for c in outage}
    # Any other cut-off is the breaker after a run of the fleet's simulated server errors
    # (which models get such a run depends on the router's picks), never a rate limit.
    assert {c["cause"] for c in cuts if c not in outage} <= {"breaker: server errors"}
    assert first["data"]["calls_replayed"] > 0
    assert first["data"]["failures"] > 0
    assert all(c["until"] > c["start"] for c in cuts)
    without_now = {k: v for k, v in first["data"].items() if k != "now"}
    assert without_now == {k: v for k, v in again["data"].items() if k != "now"}
    chart = re.search(r'<svg class="chart" data-chart="lanes".*?</svg>', first["html"], re.S)
    assert chart is not None
    assert {c["cause"] for c in cuts} == set(re.findall(r'data-series="([^"]*)"', chart.group()))
    assert "rate limit cooldown" in re.search(r"<desc[^>]*>([^<]*)</desc>", chart.group())[1]
