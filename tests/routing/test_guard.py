"""The opt-in lock-in guard (``Router.guard_n``): a rarely tried model that may still
beat the leader is drawn from its unsharpened posterior; nothing else changes."""

from __future__ import annotations

import math

import pytest

from outcomes.routing import Router, Weights
from outcomes.routing._replay_router import RouterPolicy

MODELS = ("lead", "unlucky", "behind", "settled")


def _picks(
    guard_n: float | None, cells: dict[str, tuple[float, float]], n: int = 4000
) -> list[str]:
    """``n`` decisions on fixed profiles (no outcome fed back), the replay's router."""
    policy = RouterPolicy(
        "guard",
        MODELS,
        (0.0,) * len(MODELS),
        weights=Weights(),
        seed=5,
        guard_n=guard_n,
        change_z=Router.change_z,
    )
    for model, (s, f) in cells.items():
        policy.source.history("t", model, s, f, int(s + f), 0.0)
    out = []
    for _ in range(n):
        d = policy.router.decide("t", candidates=list(cells))
        assert d.model_id is not None
        out.append(d.model_id)
    return out


def test_an_unlucky_start_keeps_a_larger_chance_of_a_second_look() -> None:
    # The issue-19 state: the leader at 85 % on 800 outcomes, a model 9 of its first 14.
    cells = {"lead": (680.0, 120.0), "unlucky": (9.0, 5.0)}
    plain = _picks(None, cells).count("unlucky")
    guarded = _picks(20.0, cells).count("unlucky")
    # Sharpened: about 0.6 % of the picks; unsharpened about 1.4 % (a Beta(10, 6) draw
    # above 0.85 against a Beta(19, 11) one).
    assert 10 < plain < 50
    assert guarded > 1.5 * plain


def test_a_model_clearly_behind_or_tried_enough_is_left_as_it_was() -> None:
    # "behind": 0 of 10, whose unsharpened upper bound is far below the leader's mean;
    # "settled": 30 of 50, at least guard_n outcomes. The guard changes neither's
    # posterior, so the seeded choices are the same decision for decision.
    cells = {"lead": (680.0, 120.0), "behind": (0.0, 10.0), "settled": (30.0, 20.0)}
    assert _picks(20.0, cells, 1000) == _picks(None, cells, 1000)


def test_guard_zero_is_no_guard() -> None:
    cells = {"lead": (680.0, 120.0), "unlucky": (9.0, 5.0)}
    assert _picks(0.0, cells, 1000) == _picks(None, cells, 1000)


@pytest.mark.parametrize("bad", [-1.0, math.nan, -math.inf])
def test_a_negative_or_nan_guard_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="guard_n"):
        Router(guard_n=bad)
