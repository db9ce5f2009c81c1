"""``outcomes models --since`` from the rollups equals the fold of the matching calls.

``since_state`` reads the rollup hours from ``since`` rounded up, the first receipts of
the partial hour, and the receipts of the calls at the edge. On memory, SQLite and
PostgreSQL, on random streams with chains of late signals (some dated before their
call, some across days), batches of any split and cut-offs anywhere, every profile
equals the one folded from the receipts of the calls first recorded since then; only
``ema_quality`` (and what derives from it) is the whole history's by design.
"""

from __future__ import annotations

import math
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, Phase, given, settings

from outcomes.inference._filter import ProfileFilter, matching_profiles
from outcomes.inference._profiles import ProfileState
from outcomes.inference._queries import FOLD_ROWS_SINCE
from outcomes.inference._since import since_state
from outcomes.inference._view import profiles_of
from outcomes.records import Receipt
from outcomes.store import Store
from tests.store.test_rollups import MODELS, PROJECTS, T0, TASKS, reset, write_in_batches
from tests.store.test_rollups import calls as call_tuples

late = st.tuples(
    st.integers(0, 1000),  # which call (mod count)
    st.sampled_from([True, False, None]),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
    st.floats(-2 * 3600.0, 2 * 86_400.0),  # recorded this long after the current head
)
streams = st.tuples(
    st.lists(call_tuples, min_size=1, max_size=30),
    st.lists(late, max_size=25),
    st.lists(st.integers(1, 13), min_size=1, max_size=4),  # batch sizes, cycled
)
cutoffs = st.lists(
    st.one_of(
        st.floats(-3 * 3600.0, 8 * 86_400.0).map(lambda off: T0 + off),  # anywhere
        st.integers(-3, 8 * 24).map(lambda h: float((int(T0) // 3600 + h) * 3600)),  # on an hour
        st.tuples(st.integers(0, 60), st.floats(-3600.0, 3600.0)),  # near a receipt
    ),
    min_size=1,
    max_size=5,
)
_EMA_FIELDS = ("ema_quality", "quality_per_1k_tokens")


def receipts_of(stream: Any) -> list[Receipt]:
    call_list, late_list, _ = stream
    heads: list[Receipt] = []
    for i, (m, t, p, ok, q, lat, tokens, cost, off) in enumerate(call_list):
        heads.append(
            Receipt(
                receipt_id=f"r{i}",
                trace_id=f"t{i}",
                model_id=MODELS[m],
                task=TASKS[t],
                timestamp=T0 + off,
                success=ok,
                quality=q,
                latency_ms=lat,
                input_tokens=tokens,
                cost_usd=cost,
                project_id=PROJECTS[p],
            )
        )
    out = list(heads)
    for k, (which, ok, q, delay) in enumerate(late_list):
        head = heads[which % len(heads)]
        s = Receipt(
            receipt_id=f"s{k}", trace_id=head.trace_id, model_id=head.model_id,
            task=head.task, project_id=head.project_id, timestamp=head.timestamp + delay,
            success=ok, quality=q, source="signal", supersedes=head.receipt_id,
            superseded_success=head.success, superseded_quality=head.quality,
            superseded_at=head.timestamp,
        )  # fmt: skip
        heads[which % len(heads)] = s
        out.append(s)
    return out


def scanned(store: Store, since: float) -> ProfileState:
    """The fold of every receipt of the calls first recorded at or after ``since``."""
    state = ProfileState()
    for row in store.iter_query(FOLD_ROWS_SINCE, ("inference", "inference", since)):
        state.fold_values(*row[:-1])
    return state


def assert_close(got: Any, want: Any, where: Any) -> None:
    if isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for k in want:
            assert_close(got[k], want[k], (where, k))
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for a, b in zip(got, want, strict=True):
            assert_close(a, b, where)
    elif isinstance(want, float) and not isinstance(want, bool):
        assert isinstance(got, float | int), where
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (where, got, want)
    else:
        assert got == want, (where, got, want)


def profiles_json(state: ProfileState, **kw: Any) -> list[dict[str, Any]]:
    out = []
    for p in profiles_of(state, **kw):
        d = p.to_json()
        for name in _EMA_FIELDS:
            d.pop(name)
        out.append(d)
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(stream=streams, offsets=cutoffs)
def test_models_since_from_rollups_equal_the_fold_of_the_matching_calls(
    store: Store, stream: Any, offsets: list[Any]
) -> None:
    reset(store)
    receipts = receipts_of(stream)
    write_in_batches(store, receipts, stream[2])
    times = [r.timestamp for r in receipts]
    for cut in offsets:
        since = cut if isinstance(cut, float) else times[cut[0] % len(times)] + cut[1]
        got, want = since_state(store, since), scanned(store, since)
        assert got is not None
        assert got.receipts == want.receipts, since
        assert set(got.parts) == set(want.parts), since
        for key, cell in want.parts.items():
            mine = got.parts[key]
            counts = ("calls", "successes", "failures", "inconclusive", "quality_n")
            assert [getattr(mine, c) for c in counts] == [getattr(cell, c) for c in counts]
            assert mine.latency.items() == cell.latency.items(), (since, key)
            assert mine.last_at == cell.last_at, (since, key)
        for kw in ({}, {"task": "code"}, {"project_id": "alpha"}):
            assert_close(profiles_json(got, **kw), profiles_json(want, **kw), (since, kw))


def test_the_leaderboard_since_a_time_reads_the_rollups(store: Store) -> None:
    reset(store)
    hour = (int(T0) // 3600 + 1) * 3600
    old = Receipt(
        receipt_id="r1", trace_id="t1", model_id="m", task="generate", timestamp=hour - 7200,
        success=True, latency_ms=100.0,
    )  # fmt: skip
    new = Receipt(
        receipt_id="r2", trace_id="t2", model_id="m", task="generate", timestamp=hour - 600,
        success=True, latency_ms=200.0,
    )  # fmt: skip
    late = Receipt(
        receipt_id="s1", trace_id="t2", model_id="m", task="generate", timestamp=hour + 9000,
        success=False, source="signal", supersedes="r2", superseded_success=True,
        superseded_at=hour - 600,
    )  # fmt: skip
    store.write([old, new, late])
    (p,) = matching_profiles(store, ProfileFilter(since=hour - 1200))
    # The call before the cut-off is left out; the late signal still counts for its call.
    assert (p.calls, p.successes, p.failures, p.updated_at) == (1, 0, 1, hour + 9000)


def test_a_cell_whose_only_receipts_are_another_calls_late_signals_is_left_out(
    store: Store,
) -> None:
    reset(store)
    hour = (int(T0) // 3600 + 1) * 3600
    call = Receipt(
        receipt_id="r1", trace_id="t1", model_id="m", task="code", timestamp=hour - 7200,
        success=True,
    )  # fmt: skip
    s1 = Receipt(
        receipt_id="s1", trace_id="t1", model_id="m", task="code", timestamp=hour + 100,
        success=False, source="signal", supersedes="r1", superseded_success=True,
        superseded_at=hour - 7200,
    )  # fmt: skip
    # Booked in the hour of s1, after the cut-off, though its call is before it.
    s2 = Receipt(
        receipt_id="s2", trace_id="t1", model_id="m", task="code", timestamp=hour + 5000,
        success=True, source="signal", supersedes="s1", superseded_success=False,
        superseded_at=hour + 100,
    )  # fmt: skip
    store.write([call, s1, s2])
    state = since_state(store, hour - 3600)
    assert state is not None
    assert state.parts == {}
    assert matching_profiles(store, ProfileFilter(since=hour - 3600)) == []


def test_a_signal_dated_before_its_call_and_the_cut_off_keeps_the_call_whole(
    store: Store,
) -> None:
    reset(store)
    hour = (int(T0) // 3600 + 1) * 3600
    since = hour - 1800.0
    call = Receipt(
        receipt_id="r1", trace_id="t1", model_id="m", task="code", timestamp=hour + 600,
        success=True, latency_ms=90.0,
    )  # fmt: skip
    # Recorded by a clock behind the call's (before the cut-off): booked in the call's
    # hour; the next signal is booked at its time, in the hour before the cut-off, and
    # recorded before the hour too: only s1 marks the call as one to read.
    s1 = Receipt(
        receipt_id="s1", trace_id="t1", model_id="m", task="code", timestamp=hour - 3000,
        success=False, source="signal", supersedes="r1", superseded_success=True,
        superseded_at=hour + 600,
    )  # fmt: skip
    s2 = Receipt(
        receipt_id="s2", trace_id="t1", model_id="m", task="code", timestamp=hour - 100,
        success=None, source="signal", supersedes="s1", superseded_success=False,
        superseded_at=hour - 3000,
    )  # fmt: skip
    store.write([call, s1, s2])
    want = scanned(store, since)
    got = since_state(store, since)
    assert got is not None
    assert_close(profiles_json(got), profiles_json(want), since)
    (p,) = profiles_of(got)
    assert (p.calls, p.successes, p.failures, p.inconclusive) == (1, 0, 0, 1)
