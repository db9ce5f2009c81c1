"""Thompson sampling with elimination by the value of information (``policy="elim"``):
who stays in the draw, who comes back, and the probability logged for each pick."""

from __future__ import annotations

import numpy as np
import pytest

from outcomes.routing import Router, Weights, select
from outcomes.routing._elim import worth_trying
from outcomes.routing._select import ArmView, prepare
from tests.routing._cells import (
    propensities_match_frequencies,
    record,
    recorded,
    sixty_with_priors,
)


def _kept(horizon: float) -> list[bool]:
    # lead: 60 % on 1,000; close: 58 % on 100; far: 47 % on 30; rare: 2 of 5 (wide).
    pre = prepare([600, 58, 14, 2], [400, 42, 16, 3], [None] * 4, [None] * 4, Weights())
    return worth_trying(pre.mean, pre.evidence, pre.spread, pre.base, 1.0, horizon)


def test_what_is_worth_trying_depends_on_the_gap_the_evidence_and_the_horizon() -> None:
    # At the task's own horizon (1,135 outcomes) the close rival is worth trying, the
    # one 13 points behind on 30 outcomes is not; the wide one and the leader always are.
    assert _kept(1_135) == [True, True, False, True]
    # Before there is traffic to repay it, no settled rival is tried.
    assert _kept(0) == [True, False, False, True]
    assert _kept(100) == [True, False, False, True]
    # A long enough future makes even the far one worth resolving.
    assert _kept(20_000) == [True, True, True, True]


def test_a_leader_alone_in_the_draw_is_picked_with_probability_one() -> None:
    reg, tracker = recorded({"lead": (150, 50), "weak": (10, 40)})
    r = Router(registry=reg, tracker=tracker, seed=1, policy="elim", sharpen=1.0, forget=False)
    for _ in range(50):
        d = r.decide("code")
        assert d.model_id == "lead"
        assert d.propensity == 1.0
    assert d.reason == "elim code: lead"


def test_a_left_out_model_comes_back_when_its_evidence_shifts() -> None:
    reg, tracker = recorded({"lead": (120, 80), "far": (10, 20)})
    r = Router(
        registry=reg, tracker=tracker, seed=2, policy="elim", sharpen=1.0, forget=False, refresh_s=0
    )
    assert {r.decide("code").model_id for _ in range(300)} == {"lead"}
    # 'far' turns out to succeed on 40 more calls (made elsewhere): it leads now.
    record(tracker, "far", 40, 0)
    tracker.refresh_view()
    picks = [r.decide("code").model_id for _ in range(300)]
    assert picks.count("far") > 150


@pytest.mark.parametrize("sharpen", [1.0, 2.0])
def test_logged_propensity_is_the_frequency_of_the_pick(sharpen: float) -> None:
    cells = {"a": (30, 20), "b": (27, 23), "c": (15, 35), "new": (0, 0), "rare": (2, 1)}
    reg, tracker = recorded(cells)
    r = Router(registry=reg, tracker=tracker, seed=4, policy="elim", sharpen=sharpen, forget=False)
    freq = propensities_match_frequencies(r)
    # 'c', 15 points behind on 50 outcomes of a 153-outcome task, is left out; the wide
    # ones are drawn.
    assert "c" not in freq
    assert freq.get("new", 0) > 0
    assert freq.get("rare", 0) > 0


def test_the_same_seed_gives_the_same_choices() -> None:
    cells = {"a": (30, 20), "b": (27, 23), "new": (0, 0)}
    runs = []
    for _ in range(2):
        reg, tracker = recorded(cells)
        r = Router(registry=reg, tracker=tracker, seed=7, policy="elim", forget=False)
        runs.append([r.decide("code").model_id for _ in range(200)])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) > 1


def test_select_refuses_elim_without_the_router() -> None:
    with pytest.raises(ValueError, match="through Router"):
        select([ArmView("a", 1, 1)], Weights(), policy="elim", rng=np.random.default_rng(0))


def test_many_candidates_take_the_numpy_path_and_priors_alone_are_no_traffic() -> None:
    # Registry priors are pseudo-counts, not outcomes of this task: with no traffic yet
    # there is nothing to repay trying a settled rival, so the best prior is called
    # alone until outcomes come in (a wide posterior would still be drawn).
    r = sixty_with_priors("elim")
    d = r.decide("code")
    assert d.model_id == "m59"
    assert d.propensity == 1.0
