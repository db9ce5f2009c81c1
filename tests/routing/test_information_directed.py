"""Information-directed sampling (``policy="ids"``): what it tries, what it skips, and the
probability it logs for each pick."""

from __future__ import annotations

import numpy as np
import pytest

from outcomes.routing import Router, Weights, select
from outcomes.routing._ids import ids_pair
from outcomes.routing._select import ArmView
from tests.routing._cells import propensities_match_frequencies, recorded, sixty_with_priors


def test_a_certain_leader_is_played_alone() -> None:
    mu = np.array([0.7, 0.5, 0.4])
    sd = np.array([0.01, 0.01, 0.02])
    assert ids_pair(mu, sd) == (0, 0, 1.0)
    assert ids_pair(np.array([0.3]), np.array([0.2])) == (0, 0, 1.0)


def test_two_open_candidates_are_mixed_and_a_hopeless_one_is_left_out() -> None:
    mu = np.array([0.60, 0.58, 0.30])
    sd = np.array([0.02, 0.05, 0.02])
    i, j, q = ids_pair(mu, sd)
    assert {i, j} == {0, 1}
    assert 0.0 < q < 1.0


def _picks(arms: list[ArmView], policy: str, n: int = 4000) -> dict[str, int]:
    rng = np.random.default_rng(3)
    counts: dict[str, int] = {}
    for _ in range(n):
        sel = select(arms, Weights(), policy=policy, rng=rng)  # type: ignore[arg-type]
        name = arms[sel.index].model_id
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_a_clearly_worse_settled_model_is_skipped_where_thompson_keeps_trying_it() -> None:
    # 'far' is 13 points behind on 30 outcomes: Thompson sampling still draws it about
    # one time in fifteen; what it would tell about which model is best is not worth its
    # expected shortfall, while the close rival is worth trying.
    arms = [ArmView("lead", 600, 400), ArmView("close", 58, 42), ArmView("far", 14, 16)]
    thompson, ids = _picks(arms, "thompson"), _picks(arms, "ids")
    assert thompson.get("far", 0) > 100
    assert ids.get("far", 0) == 0
    assert ids.get("close", 0) > 100


def test_a_model_with_few_outcomes_is_tried_at_thompsons_rate() -> None:
    # Two failures in three calls say little: 'rare' is not written off (IDS alone, on
    # a normal approximation, would leave it untried for thousands of decisions).
    arms = [ArmView("lead", 600, 400), ArmView("close", 58, 42), ArmView("rare", 2, 3)]
    thompson, ids = _picks(arms, "thompson"), _picks(arms, "ids")
    assert ids.get("rare", 0) == pytest.approx(thompson.get("rare", 0), rel=0.25)
    assert ids.get("rare", 0) > 100


@pytest.mark.parametrize("sharpen", [1.0, 2.0])
def test_logged_propensity_is_the_frequency_of_the_pick(sharpen: float) -> None:
    # 'new' and 'rare' are still wide (Thompson's draw decides whether they are tried);
    # the other three are settled (IDS decides among them).
    cells = {"a": (30, 20), "b": (27, 23), "c": (20, 30), "new": (0, 0), "rare": (2, 1)}
    reg, tracker = recorded(cells)
    r = Router(registry=reg, tracker=tracker, seed=4, policy="ids", sharpen=sharpen, forget=False)
    propensities_match_frequencies(r)


def test_many_candidates_take_the_numpy_path_with_the_same_rule() -> None:
    r = sixty_with_priors("ids")
    chosen = {r.decide("code").model_id for _ in range(200)}
    # Priors of 400 pseudo-counts half a point apart: only the top few can be best.
    assert chosen <= {f"m{i:02d}" for i in range(52, 60)}
    assert r.decide("code").propensity > 0.0
