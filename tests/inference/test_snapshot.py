"""Published snapshots: the same profiles as the folded reads, per task, frozen."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes.inference import ProfileState, profiles_of
from outcomes.inference._snapshot import EMPTY_SNAPSHOT, build_snapshot
from outcomes.records import Receipt

MODELS = ["a", "b", "c"]
TASKS = ["code", "generate", "embed"]

receipt_values = st.tuples(
    st.sampled_from(MODELS),
    st.sampled_from(TASKS),
    st.sampled_from([None, "p1", "p2"]),
    st.sampled_from([True, False, None]),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
    st.floats(0.0, 5000.0),
    st.integers(0, 4000),
    st.one_of(st.none(), st.floats(0.0, 0.1)),
    st.sampled_from(["complete", "failure", "signal"]),
)


def state_of(rows: list[tuple[object, ...]]) -> ProfileState:
    state = ProfileState(half_life=86_400.0)
    for i, (m, t, p, ok, q, lat, tokens, cost, source) in enumerate(rows):
        state.fold(
            Receipt(
                receipt_id=f"r{i}", trace_id=f"t{i}", model_id=str(m), task=str(t),
                timestamp=1_750_000_000.0 + 60 * i, success=ok, quality=q,  # type: ignore[arg-type]
                latency_ms=float(lat), input_tokens=int(tokens), output_tokens=int(tokens) // 2,  # type: ignore[call-overload]
                cost_usd=cost, project_id=p, source=str(source),  # type: ignore[arg-type]
                error="500" if source == "failure" else None,
            )
        )  # fmt: skip
    return state


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(receipt_values, max_size=40))
def test_a_snapshot_holds_what_the_folded_reads_give_for_every_task(
    rows: list[tuple[object, ...]],
) -> None:
    state = state_of(rows)
    snap = build_snapshot(state, 123.0)
    assert (snap.taken_at, snap.receipts) == (123.0, len(rows))
    for task in [None, *TASKS]:
        want = {p.model_id: p.to_json() for p in profiles_of(state, task=task)}
        got = {m: p.to_json() for m, p in snap.profiles(task).items()}
        assert got == want
        now = 1_750_000_000.0 + 3600 * 24
        for p in profiles_of(state, task=task):
            mine = snap.profile(p.model_id, task)
            assert mine is not None
            assert mine.decayed_counts(now) == pytest.approx(p.decayed_counts(now))


def test_a_snapshot_does_not_follow_later_folds() -> None:
    state = state_of([("a", "code", None, True, 0.9, 100.0, 10, None, "complete")])
    snap = build_snapshot(state, 1.0)
    before = snap.profile("a", "code")
    assert before is not None
    state.fold(
        Receipt(receipt_id="x", trace_id="x", model_id="a", task="code", timestamp=2.0,
                success=False)
    )  # fmt: skip
    after = snap.profile("a", "code")
    assert after is before
    assert (after.calls, after.successes, after.failures) == (1, 1, 0)


def test_a_snapshot_cannot_be_changed_by_its_readers() -> None:
    snap = build_snapshot(state_of([("a", "code", None, True, None, 1.0, 1, None, "complete")]), 0)
    with pytest.raises(TypeError):
        snap.by_task["code"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        snap.profiles("code")["b"] = snap.profiles("code")["a"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        snap.taken_at = 5.0  # type: ignore[misc]


def test_the_empty_snapshot_knows_nothing() -> None:
    assert EMPTY_SNAPSHOT.empty
    assert EMPTY_SNAPSHOT.taken_at == -math.inf
    assert EMPTY_SNAPSHOT.profiles("code") == {}
    assert EMPTY_SNAPSHOT.profile("a") is None
    assert not build_snapshot(ProfileState(), 0.0).empty
