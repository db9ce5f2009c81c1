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
from hypothesis import given

from outcomes.inference._filter import ProfileFilter, matching_profiles
from outcomes.inference._profiles import ProfileState
from outcomes.inference._queries import FOLD_ROWS_SINCE
from outcomes.inference._since import NEWEST_SINCE, since_state
from outcomes.inference._view import profiles_of
from outcomes.records import Receipt
from outcomes.store import Store
from tests.ledger.test_stats_since import EXAMPLES, cutoffs, stored
from tests.store.test_rollups import T0, receipts_of, reset
from tests.store.test_rollups import calls as call_tuples

late = st.tuples(
    st.integers(0, 1000),  # which call (mod count)
    st.sampled_from([True, False, None]),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
    st.floats(-2 * 3600.0, 2 * 86_400.0),  # recorded this long after the current head
)
calls_and_signals = st.tuples(
    st.lists(call_tuples, min_size=1, max_size=30),
    st.lists(late, max_size=25),  # chains of signals, some dated before the receipt they replace
)
batch_sizes = st.lists(st.integers(1, 13), min_size=1, max_size=4)  # cycled
_EMA_FIELDS = ("ema_quality", "quality_per_1k_tokens")


def signal(rid: str, prior: Receipt, at: float, success: bool | None) -> Receipt:
    """A receipt that supersedes ``prior``, recorded at ``at``."""
    return Receipt(
        receipt_id=rid, trace_id=prior.trace_id, model_id=prior.model_id, task=prior.task,
        timestamp=at, success=success, source="signal", supersedes=prior.receipt_id,
        superseded_success=prior.success, superseded_at=prior.timestamp,
    )  # fmt: skip


def call(rid: str, model: str, task: str, at: float, latency: float = 0.0) -> Receipt:
    return Receipt(
        receipt_id=rid, trace_id=rid, model_id=model, task=task, timestamp=at, success=True,
        latency_ms=latency,
    )  # fmt: skip


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


@EXAMPLES
@given(both=calls_and_signals, sizes=batch_sizes, offsets=cutoffs)
def test_models_since_from_rollups_equal_the_fold_of_the_matching_calls(
    store: Store, both: Any, sizes: list[int], offsets: list[Any]
) -> None:
    receipts = receipts_of((*both, sizes, False))
    for since in stored(store, receipts, sizes, offsets):
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
    old = call("r1", "m", "generate", hour - 7200, 100.0)
    new = call("r2", "m", "generate", hour - 600, 200.0)
    store.write([old, new, signal("s1", new, hour + 9000, False)])
    (p,) = matching_profiles(store, ProfileFilter(since=hour - 1200))
    # The call before the cut-off is left out; the late signal still counts for its call.
    assert (p.calls, p.successes, p.failures, p.updated_at) == (1, 0, 1, hour + 9000)


def test_a_cell_whose_only_receipts_are_another_calls_late_signals_is_left_out(
    store: Store,
) -> None:
    reset(store)
    hour = (int(T0) // 3600 + 1) * 3600
    first = call("r1", "m", "code", hour - 7200)
    s1 = signal("s1", first, hour + 100, False)
    # s2 is booked in the hour of s1, after the cut-off, though its call is before it.
    store.write([first, s1, signal("s2", s1, hour + 5000, True)])
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
    first = call("r1", "m", "code", hour + 600, 90.0)
    # Recorded by a clock behind the call's (before the cut-off): booked in the call's
    # hour; the next signal is booked at its time, in the hour before the cut-off, and
    # recorded before the hour too: only s1 marks the call as one to read.
    s1 = signal("s1", first, hour - 3000, False)
    store.write([first, s1, signal("s2", s1, hour - 100, None)])
    want = scanned(store, since)
    got = since_state(store, since)
    assert got is not None
    assert_close(profiles_json(got), profiles_json(want), since)
    (p,) = profiles_of(got)
    assert (p.calls, p.successes, p.failures, p.inconclusive) == (1, 0, 0, 1)


def test_a_cells_newest_receipt_counts_a_signal_of_a_call_begun_since(store: Store) -> None:
    # inference.since_newest: a signal counts when its call's first receipt is at or
    # after `since`, found by the first receipt's id on PostgreSQL when that is the
    # trace (as the tracker writes it), through the trace index otherwise.
    reset(store)
    hour = T0 // 3600 * 3600
    own = call("c1", "m", "code", hour + 100)  # receipt id = trace id
    imported = Receipt(
        receipt_id="i1", trace_id="t-imported", model_id="m", task="code",
        timestamp=hour + 200, success=True,
    )  # fmt: skip
    older = call("c0", "m", "code", hour - 7200)
    store.write([older, own, imported])
    store.write([signal("s0", older, hour + 900, False)])  # its call began before since
    params = ("m", "code", "", float(hour), float(hour + 3600), float(hour))
    assert store.query(NEWEST_SINCE, params) == [(hour + 200,)]
    store.write([signal("s1", own, hour + 300, False)])
    assert store.query(NEWEST_SINCE, params) == [(hour + 300,)]
    store.write([signal("s2", imported, hour + 400, True)])
    assert store.query(NEWEST_SINCE, params) == [(hour + 400,)]
