"""Mergeable profiles: any order, any split across processes, rebuild == incremental."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outcomes import OutcomeTracker, Signal
from outcomes.inference import ModelProfile, ProfileBook, ProfileState, rebuild
from outcomes.records import Receipt
from outcomes.stats._profiles import COUNTS_HALF_LIFE_SHARE
from outcomes.store import MemoryStore, Store
from outcomes.testing import FakeClock, receipts

MODELS = ["a", "b", "c"]
TASKS = ["code", "generate"]
VERDICTS = ["accepted", "accepted_with_edits", "rejected", "inconclusive"]

event = st.one_of(
    st.tuples(
        st.just("call"),
        st.sampled_from(MODELS),
        st.sampled_from(TASKS),
        st.sampled_from([None, "p1", "p2"]),
        st.floats(0.0, 90_000.0),
        st.integers(0, 5000),
        st.integers(0, 5000),
    ),
    st.tuples(st.just("fail"), st.sampled_from(MODELS), st.sampled_from(["500", "429 slow down"])),
    st.tuples(
        st.just("signal"),
        st.integers(0, 50),
        st.sampled_from(VERDICTS),
        st.floats(0.0, 1.0),
        st.integers(0, 8),
    ),
    st.tuples(st.just("sweep"), st.floats(0.0, 3600.0)),
    st.tuples(st.just("tick"), st.floats(0.0, 86_400.0)),
)


def run_workload(
    tracker: OutcomeTracker, clock: FakeClock, events: list[tuple[object, ...]]
) -> None:
    traces: list[str] = []
    for ev in events:
        kind = ev[0]
        if kind == "call":
            _, model, task, project, lat, i, o = ev
            t = tracker.record_start(str(model), str(task), "prop", project_id=project)  # type: ignore[arg-type]
            tracker.record_complete(t, float(lat), int(i), int(o))  # type: ignore[arg-type]
            traces.append(t)
        elif kind == "fail":
            t = tracker.record_start(str(ev[1]), "code", "prop")
            tracker.record_failure(t, str(ev[2]))
            traces.append(t)
        elif kind == "signal" and traces:
            _, idx, verdict, conf, sid = ev
            trace = traces[int(idx) % len(traces)]  # type: ignore[call-overload]
            tracker.record_signal(
                Signal(
                    f"s{sid}-{trace}", trace, "conversation", str(verdict), clock.now(), float(conf)
                )  # type: ignore[arg-type]
            )
        elif kind == "sweep":
            tracker.sweep_pending(float(ev[1]))  # type: ignore[arg-type]
        elif kind == "tick":
            clock.advance(float(ev[1]))  # type: ignore[arg-type]


def rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def assert_same(a: ProfileState, b: ProfileState) -> None:
    assert a.summary() == b.summary()
    for key, sa in a.parts.items():
        sb = b.parts[key]
        assert sa.quality_sum == pytest.approx(sb.quality_sum, abs=1e-9)
        assert sa.cost_usd == pytest.approx(sb.cost_usd, rel=1e-9, abs=1e-12)
        assert sa.latency_ms_total == pytest.approx(sb.latency_ms_total, rel=1e-9)
        qa, qb = sa.decayed_quality, sb.decayed_quality
        assert (qa is None) == (qb is None)
        if qa is not None and qb is not None:
            assert qa == pytest.approx(qb, abs=1e-6)
        now = sa.last_at + 3 * 86_400.0
        for x, y in zip(
            sa.decayed_counts(now, 86_400.0), sb.decayed_counts(now, 86_400.0), strict=True
        ):
            assert x == pytest.approx(y, abs=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(event, max_size=60), seed=st.integers(0, 2**32 - 1), parts=st.integers(1, 5))
def test_fold_in_any_order_and_any_split_gives_the_same_profile(
    events: list[tuple[object, ...]], seed: int, parts: int
) -> None:
    clock = FakeClock(1_750_000_000.0)
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=clock, strict=True)
    run_workload(tracker, clock, events)
    tracker.flush()
    stored = receipts(store)
    # rebuild from the store == the incremental state of the tracker
    assert_same(rebuild(store), tracker.state())
    # any order, any split across "processes" (each folds a share, then merge)
    rng = random.Random(seed)
    shuffled = stored[:]
    rng.shuffle(shuffled)
    merged = ProfileState()
    for k in range(parts):
        share = ProfileState().fold_all(shuffled[k::parts])
        merged.merge(share)
    assert_same(merged, tracker.state())
    # invariants
    for s in tracker.state().parts.values():
        assert s.successes >= 0
        assert s.failures >= 0
        assert s.inconclusive >= 0
        assert s.successes + s.failures + s.inconclusive == s.calls
    tracker.close()


def test_rebuild_equals_incremental_on_every_store(store: Store) -> None:
    clock = FakeClock(1_750_000_000.0)
    tracker = OutcomeTracker(store, clock=clock, strict=True)
    rng = random.Random(7)
    traces = []
    for _ in range(200):
        t = tracker.record_start(rng.choice(MODELS), rng.choice(TASKS), "r", project_id="p")
        if rng.random() < 0.2:
            tracker.record_failure(t, "429" if rng.random() < 0.3 else "boom")
        else:
            tracker.record_complete(t, rng.uniform(1, 5000), rng.randint(1, 99), rng.randint(0, 9))
            traces.append(t)
        clock.advance(30)
    for i, t in enumerate(traces[::3]):
        tracker.record_signal(
            Signal(f"sig{i}", t, "conversation", rng.choice(VERDICTS), clock.now(), 0.8)
        )
    tracker.sweep_pending(0)
    for i, t in enumerate(traces[::5]):  # late signals, after the sweep
        tracker.record_signal(Signal(f"late{i}", t, "code", "applied", clock.now()))
    assert tracker.flush()
    rebuilt = rebuild(store)
    assert_same(rebuilt, tracker.state())
    assert rebuilt.ema == pytest.approx(tracker.state().ema)
    book = ProfileBook(store)
    shared = [rounded(p.to_json()) for p in book.profiles()]
    own = [rounded(p.to_json()) for p in tracker.profiles()]
    for row in own:
        row["excluded"] = False  # exclusions are per process, not in the store
    assert shared == own
    tracker.close()


def test_processes_sharing_a_store_see_the_same_profiles(store: Store) -> None:
    clock = FakeClock(1_750_000_000.0)
    one = OutcomeTracker(store, clock=clock)
    two = OutcomeTracker(store, clock=clock)
    book_a, book_b = ProfileBook(store), ProfileBook(store)
    for tracker, n in ((one, 30), (two, 20)):
        for _ in range(n):
            t = tracker.record_start("m", "code", "r")
            tracker.record_complete(t, 100.0, 10, 5)
    one.flush()
    two.flush()
    assert book_a.profile("m") is not None
    p = book_a.profile("m")
    assert p is not None
    assert p.calls == 50
    # incremental refresh: only new receipts are folded, nothing twice
    t = one.record_start("m", "code", "r")
    one.record_failure(t, "boom")
    one.flush()
    pa, pb = book_a.profile("m"), book_b.profile("m")
    assert pa is not None
    assert pb is not None
    assert rounded(pa.to_json()) == rounded(pb.to_json())
    assert (pa.calls, pa.successes, pa.failures) == (51, 50, 1)
    one.close()
    two.close()


def test_a_signal_recorded_in_another_process_supersedes_through_the_store(store: Store) -> None:
    clock = FakeClock(1_750_000_000.0)
    caller = OutcomeTracker(store, clock=clock)
    t = caller.record_start("m", "code", "r")
    caller.record_complete(t, 100.0, 10, 5)
    caller.flush()
    judge = OutcomeTracker(store, clock=clock)  # knows nothing of t in memory
    clock.advance(3600)
    assert judge.record_signal(Signal("s1", t, "code", "ignored", clock.now()))
    assert not judge.record_signal(Signal("s1", t, "code", "ignored", clock.now()))
    judge.flush()
    other = OutcomeTracker(store, clock=clock)
    assert not other.record_signal(Signal("s1", t, "code", "ignored", clock.now()))
    p = ProfileBook(store).profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures, p.quality) == (1, 0, 1, pytest.approx(0.1))
    chain = receipts(store)
    assert [r.source for r in chain] == ["complete", "signal"]
    assert chain[1].supersedes == chain[0].receipt_id
    for tr in (caller, judge, other):
        tr.close()


def test_late_signal_within_the_window_supersedes_and_after_it_is_ignored() -> None:
    clock = FakeClock(1_750_000_000.0)
    tracker = OutcomeTracker(MemoryStore(), clock=clock, late_window=3600)
    t = tracker.record_start("m", "code", "r")
    tracker.record_complete(t, 100.0, 10, 5)
    tracker.sweep_pending(0, now=clock.now() + 1)
    clock.advance(600)
    assert tracker.record_signal(Signal("s1", t, "conversation", "rejected", clock.now(), 1.0))
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures) == (1, 0, 1)
    # a later, better signal supersedes the earlier one: still one call
    assert tracker.record_signal(Signal("s2", t, "conversation", "accepted", clock.now(), 0.9))
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures) == (1, 1, 0)
    assert p.quality == pytest.approx(0.9)
    clock.advance(7200)
    assert not tracker.record_signal(Signal("s3", t, "conversation", "rejected", clock.now(), 1.0))
    p = tracker.profile("m")
    assert p is not None
    assert (p.successes, p.failures) == (1, 0)


def test_the_same_signal_id_counts_once() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    t = tracker.record_start("m", "code", "r")
    tracker.record_complete(t, 100.0, 10, 5)
    sig = Signal("dup", t, "conversation", "rejected", 0.0, 0.9)
    assert tracker.record_signal(sig)
    assert not tracker.record_signal(sig)
    p = tracker.profile("m")
    assert p is not None
    assert (p.failures, p.quality_count) == (1, 1)


def test_inconclusive_outcomes_never_enter_a_mean() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    for verdict in ("inconclusive", "accepted"):
        t = tracker.record_start("m", "code", "r")
        tracker.record_complete(t, 100.0, 10, 0)
        tracker.record_inferred_outcome(t, verdict, 0.5)
    p = tracker.profile("m")
    assert p is not None
    assert (p.quality, p.quality_count, p.inconclusive, p.successes) == (
        pytest.approx(0.5),
        1,
        1,
        1,
    )


def test_decayed_quality_follows_recent_outcomes() -> None:
    clock = FakeClock(1_750_000_000.0)
    tracker = OutcomeTracker(clock=clock, half_life=86_400.0)
    for verdict, days in (("rejected", 0), ("accepted", 10)):
        clock.set(1_750_000_000.0 + days * 86_400)
        for _ in range(10):
            t = tracker.record_start("m", "code", "r")
            tracker.record_complete(t, 10.0, 1, 1)
            tracker.record_inferred_outcome(t, verdict, 1.0)
    p = tracker.profile("m")
    assert p is not None
    assert p.quality_mean == pytest.approx(0.5)
    assert p.quality is not None
    assert p.quality > 0.99


def test_decayed_counts_halve_per_quarter_half_life_and_take_back_superseded_outcomes() -> None:
    """The router's counts age with a quarter of the tracker's half-life (4 days here:
    they halve per day); the decayed quality keeps the whole."""
    assert COUNTS_HALF_LIFE_SHARE == 0.25
    clock = FakeClock(1_750_000_000.0)
    tracker = OutcomeTracker(clock=clock, half_life=4 * 86_400.0)
    for _ in range(8):
        t = tracker.record_start("m", "code", "r")
        tracker.record_complete(t, 10.0, 1, 1)  # a mechanical success, no quality
    t = tracker.record_start("m", "code", "r")
    tracker.record_failure(t, "boom")
    p = tracker.profile("m")
    assert p is not None
    start = 1_750_000_000.0
    assert p.decayed_counts(start) == pytest.approx((8.0, 1.0))
    assert p.decayed_counts(start + 86_400.0) == pytest.approx((4.0, 0.5))
    assert p.decayed_counts(start + 3 * 86_400.0) == pytest.approx((1.0, 0.125))
    # A clock running behind the receipts never inflates them past the raw counts.
    assert p.decayed_counts(start - 86_400.0) == pytest.approx((8.0, 1.0))
    # A signal that turns one success into a failure moves its decayed weight too.
    t = tracker.record_start("m", "code", "r")
    tracker.record_complete(t, 10.0, 1, 1)
    tracker.record_inferred_outcome(t, "rejected", 0.9)
    p = tracker.profile("m")
    assert p is not None
    assert p.decayed_counts(start) == pytest.approx((8.0, 2.0))


@pytest.mark.parametrize("saved", [None, "decay_counts"])
def test_states_saved_before_counts_of_this_half_life_age_from_their_last_update(
    saved: str | None,
) -> None:
    """Saved without decayed counts, or with counts decayed at the whole half-life (the
    format before a quarter of it): aged as if all outcomes came at the last update."""
    tracker = OutcomeTracker(clock=FakeClock(1_750_000_000.0), half_life=4 * 86_400.0)
    for ok in (True, True, False):
        t = tracker.record_start("m", "code", "r")
        if ok:
            tracker.record_complete(t, 10.0, 1, 1)
        else:
            tracker.record_failure(t, "boom")
    data = tracker.state().to_json()
    for cell in data["cells"]:
        counts = cell.pop("decayed_counts")
        if saved is not None:
            cell[saved] = [c + 1.0 if c is not None else None for c in counts]
    old = ProfileState.from_json(data)
    p = ModelProfile.from_state(old, "m")
    assert p.decayed_counts(1_750_000_000.0) == pytest.approx((2.0, 1.0))
    assert p.decayed_counts(1_750_000_000.0 + 86_400.0) == pytest.approx((1.0, 0.5))


def test_latency_quantiles_cost_and_intervals() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    for i in range(100):
        t = tracker.record_start("gpt-4o-mini", "generate", "r")
        tracker.record_complete(t, 100.0 if i < 90 else 5000.0, 1_000, 500 if i % 2 else 0)
    p = tracker.profile("gpt-4o-mini")
    assert p is not None
    assert p.latency_p50_ms is not None
    assert 80.0 <= p.latency_p50_ms <= 160.0
    assert p.latency_p99_ms is not None
    assert p.latency_p99_ms > 2560.0
    assert p.latency_mean_ms == pytest.approx(590.0)
    per_call = (1_000 * 0.15) / 1e6 + (250 * 0.60) / 1e6
    assert p.cost_per_call == pytest.approx(per_call)
    assert p.cost_per_success == pytest.approx(per_call * 100 / 50)
    low, high = p.success_interval() or (math.nan, math.nan)
    assert (p.successes, p.inconclusive) == (50, 50)
    assert 0.9 < low < high <= 1.0  # 50 successes, 0 failures; inconclusive ones do not count
    assert p.to_json()["latency_ms"]["p95"] is not None


def test_profiles_are_queryable_per_project_and_task() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    for project, n in (("alpha", 3), ("beta", 2)):
        for _ in range(n):
            t = tracker.record_start("m", "code", "r", project_id=project, intent="fix-bug")
            tracker.record_complete(t, 10.0, 1, 1)
    t = tracker.record_start("m", "embed", "r", project_id="alpha")
    tracker.record_failure(t, "500")
    alpha = tracker.profile("m", project_id="alpha")
    beta = tracker.profile("m", project_id="beta")
    code = tracker.profile("m", task="code")
    assert alpha is not None
    assert beta is not None
    assert code is not None
    assert (alpha.calls, alpha.failures, beta.calls, code.calls) == (4, 1, 2, 5)
    assert [p.model_id for p in tracker.profiles(project_id="gamma")] == []
    assert tracker.drain_ledger()[0].project_id == "alpha"


def test_rate_limit_cooldown_honours_retry_after() -> None:
    clock = FakeClock(1_000.0)
    tracker = OutcomeTracker(clock=clock, cooldown=60.0)
    t = tracker.record_start("m", "code", "r")
    tracker.record_failure(t, "429 Too Many Requests", retry_after=30.0)
    assert tracker.cooldown_until("m") == 1_030.0
    assert not tracker.is_available("m")
    clock.advance(31)
    assert tracker.cooldown_until("m") is None
    assert tracker.is_excluded("m")  # the session exclusion stays
    t = tracker.record_start("n", "code", "r")
    tracker.record_failure(t, "429: Retry-After: 12")
    assert tracker.cooldown_until("n") == clock.now() + 12
    t = tracker.record_start("o", "code", "r")
    tracker.record_failure(t, "RESOURCE_EXHAUSTED")
    assert tracker.cooldown_until("o") == clock.now() + 60
    tracker.clear_exclusion("o")
    assert tracker.is_available("o")
    p = tracker.profile("m")
    assert p is not None
    assert p.excluded


def test_rate_limits_are_snapshots_without_passed_cooldowns() -> None:
    clock = FakeClock(1_000.0)
    tracker = OutcomeTracker(clock=clock)
    assert tracker.rate_limits() == (frozenset(), {})
    t = tracker.record_start("m", "code", "r")
    tracker.record_failure(t, "429", retry_after=30.0)
    excluded, cooldowns = tracker.rate_limits()
    assert (set(excluded), dict(cooldowns)) == ({"m"}, {"m": 1_030.0})
    t = tracker.record_start("n", "code", "r")
    tracker.record_failure(t, "429", retry_after=5.0)
    assert set(excluded) == {"m"}  # an earlier read does not change under the caller
    clock.advance(10)
    excluded, cooldowns = tracker.rate_limits()
    assert (set(excluded), dict(cooldowns)) == ({"m", "n"}, {"m": 1_030.0})
    tracker.clear_exclusion()
    assert tracker.rate_limits() == (frozenset(), {})


def test_profile_state_survives_json_round_trip() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    t = tracker.record_start("m", "code", "r", project_id="p")
    tracker.record_complete(t, 10.0, 1, 1)
    tracker.record_inferred_outcome(t, "accepted", 0.7)
    state = tracker.state()
    back = ProfileState.from_json(state.to_json())
    assert_same(back, state)
    assert (
        ModelProfile.from_state(back, "m").to_json()
        == ModelProfile.from_state(state, "m").to_json()
    )


def test_receipts_hold_no_prompt_text() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    t = tracker.record_start("m", "code", "route: code")
    tracker.record_complete(t, 10.0, 1, 1)
    tracker.flush()
    (r,) = receipts(store)
    assert isinstance(r, Receipt)
    assert set(Receipt.__table__.column_names).isdisjoint({"prompt", "output", "response"})
    tracker.close()


def test_windows_and_half_life_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTCOMES_LATE_SIGNAL_WINDOW", "10")
    monkeypatch.setenv("OUTCOMES_RATE_LIMIT_COOLDOWN", "5")
    monkeypatch.setenv("OUTCOMES_QUALITY_HALF_LIFE", "not-a-number")
    clock = FakeClock(1_000.0)
    tracker = OutcomeTracker(clock=clock)
    assert (tracker.late_window, tracker.default_cooldown) == (10.0, 5.0)
    assert tracker.state().half_life == 14 * 86_400.0  # malformed: the default, no error
    t = tracker.record_start("m", "code", "r")
    tracker.record_complete(t, 1.0, 1, 1)
    tracker.sweep_pending(0, now=clock.now() + 1)
    clock.advance(20)
    assert not tracker.record_signal(Signal("late", t, "code", "ignored", clock.now()))


def test_detail_signals_do_not_replace_the_calls_verdict() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    t = tracker.record_start("m", "code", "r")
    tracker.record_complete(t, 1.0, 1, 1)
    assert tracker.record_signal(Signal("v", t, "code", "applied", 0.0))
    assert not tracker.record_signal(Signal("d", t, "code.symbol", "symbol_removed", 0.0))
    assert not tracker.record_signal(Signal("s", t, "code.survival", "7d", 0.0, 0.4))
    p = tracker.profile("m")
    assert p is not None
    assert (p.successes, p.quality) == (1, pytest.approx(1.0))


def test_wilson_and_posterior_intervals_agree_roughly() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    for i in range(200):
        t = tracker.record_start("m", "code", "r")
        tracker.record_complete(t, 1.0, 1, 1)
        if i % 4 == 0:
            tracker.record_inferred_outcome(t, "rejected", 0.9)
    p = tracker.profile("m")
    assert p is not None
    wilson, beta = p.wilson_interval(), p.success_interval()
    assert wilson is not None
    assert beta is not None
    assert wilson[0] < 0.75 < wilson[1]
    assert abs(wilson[0] - beta[0]) < 0.01
    assert abs(wilson[1] - beta[1]) < 0.01


def test_shared_profiles_include_other_processes_and_own_exclusions(store: Store) -> None:
    mine = OutcomeTracker(store)
    other = OutcomeTracker(store)
    t = other.record_start("m", "code", "r")
    other.record_complete(t, 1.0, 1, 1)
    other.flush()
    t = mine.record_start("m", "code", "r")
    mine.record_failure(t, "429")
    (p,) = mine.shared_profiles()
    assert (p.calls, p.successes, p.failures, p.excluded) == (2, 1, 1, True)
    assert mine.profile("m") is not None
    own = mine.profile("m")
    assert own is not None
    assert own.calls == 1
    mine.close()
    other.close()


def test_failures_are_final_for_later_signals(store: Store) -> None:
    tracker = OutcomeTracker(store, clock=FakeClock())
    t = tracker.record_start("m", "code", "r")
    tracker.record_failure(t, "500")
    assert not tracker.record_signal(Signal("s", t, "conversation", "accepted", 0.0, 1.0))
    tracker.flush()
    other = OutcomeTracker(store, clock=FakeClock())
    assert not other.record_signal(Signal("s2", t, "conversation", "accepted", 0.0, 1.0))
    p = ProfileBook(store).profile("m")
    assert p is not None
    assert (p.calls, p.failures, p.successes) == (1, 1, 0)
    tracker.close()
    other.close()
