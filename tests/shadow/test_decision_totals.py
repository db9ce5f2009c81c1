"""The off-policy report reads sums the store keeps with the decisions and their rewards.

On memory, SQLite and PostgreSQL, random decisions logged in batches, rewarded later (an
update of the decision), some rewarded twice, some never, the oldest pruned: the
``offpolicy_report`` equals the estimates folded from every stored decision, as the
report computed them before (floats to 1e-9 relative, 1e-6 absolute: a reward moves
its row's contribution out and in again, and an interval's bound is the square root of a
difference of sums, where rounding of 1e-16 is 1e-8).
"""

from __future__ import annotations

import math
from typing import Any

import hypothesis.strategies as st
from hypothesis import given

from outcomes.shadow import ShadowConfig, ShadowRecorder
from outcomes.shadow._offpolicy import estimates_of, offpolicy_report
from outcomes.shadow._records import TINY, ShadowDecision
from outcomes.shadow._schema import MIGRATIONS
from outcomes.store import Store, rebuild_aggregates
from tests.ledger.test_stats_since import EXAMPLES

# Values below TINY count as 0 in the sums (a documented rule, tested below on its own).
probabilities = st.floats(0.0, 1.0).map(lambda x: 0.0 if x < TINY else x)
decisions = st.lists(
    st.tuples(
        st.integers(0, 1),  # point
        st.integers(0, 2),  # candidate
        st.integers(0, 2),  # live choice
        st.sampled_from([1.0, 0.5, 1 / 3, 0.1]),  # live propensity
        st.integers(0, 2),  # candidate choice
        probabilities,  # candidate probability
    ),
    max_size=40,
)
rewards = st.lists(st.tuples(st.integers(0, 1000), probabilities), max_size=50)


def scanned(store: Store, point: str | None) -> list[Any]:
    """The report as it was computed before: every decision read and folded."""
    decisions = store.scan(ShadowDecision.__table__)
    return [e.as_dict() for e in estimates_of(decisions, point=point)]


def assert_close(got: Any, want: Any) -> None:
    if isinstance(want, dict | list | tuple):
        assert type(got) is type(want)
        assert len(got) == len(want)
        pairs = (got.values(), want.values()) if isinstance(want, dict) else (got, want)
        for a, b in zip(*pairs, strict=True):
            assert_close(a, b)
    elif isinstance(want, float):
        # An interval's half-width is the square root of a difference of sums: float
        # rounding of 1e-16 there (in either fold, in any order) is 1e-8 in the bound.
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6), (got, want)
    else:
        assert got == want


@EXAMPLES
@given(items=decisions, later=rewards, size=st.integers(1, 7), cut=st.integers(0, 45))
def test_the_offpolicy_report_equals_the_fold_of_every_decision(
    store: Store, items: list[Any], later: list[Any], size: int, cut: int
) -> None:
    store.migrate(MIGRATIONS)
    store.delete(ShadowDecision.__table__)
    logged = [
        ShadowDecision(
            id=f"d{i}",
            point=("router", "judge")[p],
            candidate=f"c{c}",
            live_choice=f"a{a}",
            live_propensity=lp,
            candidate_choice=f"a{cc}",
            candidate_probability=cp,
            decided_at=1_760_000_000.0 + i,
        )
        for i, (p, c, a, lp, cc, cp) in enumerate(items)
    ]
    for i in range(0, len(logged), size):
        store.write(logged[i : i + size])
    store.write(logged[:3])  # re-delivered: counted once
    for k, (which, reward) in enumerate(later):
        if logged:
            key = logged[which % len(logged)].id
            store.update(ShadowDecision.__table__, key, {"reward": reward, "rewarded_at": k})
        for point in (None, "router"):
            got = [e.as_dict() for e in offpolicy_report(store, point=point)]
            assert_close(got, scanned(store, point))
    # Retention takes the pruned decisions back (and drops a group left with none).
    store.prune(ShadowDecision.__table__, column="decided_at", before=1_760_000_000.0 + cut)
    assert_close([e.as_dict() for e in offpolicy_report(store)], scanned(store, None))
    rebuild_aggregates(store)
    assert_close([e.as_dict() for e in offpolicy_report(store)], scanned(store, None))


def test_weights_beyond_what_a_double_holds_do_not_lose_a_decision(store: Store) -> None:
    recorder = ShadowRecorder(store, config=ShadowConfig(enabled=True))
    kw = {"live_choice": "a", "candidate_choice": "a"}
    tiny = recorder.log_decision("p", "c", live_propensity=1e-300, **kw)
    fine = recorder.log_decision("p", "c", live_propensity=0.5, candidate_probability=1e-300, **kw)
    # Squares of these underflow or overflow a double: PostgreSQL refuses to compute them.
    assert recorder.reward(tiny, 1e-300)
    assert recorder.reward(fine, 1e-200)
    (est,) = offpolicy_report(recorder.store)
    # The first counts as a decision only (propensity below 1e-9); the second's tiny
    # probability and reward count as 0.
    assert (est.decisions, est.rewarded, est.ips, est.live_value) == (2, 1, 0.0, 0.0)
    recorder.flush()
