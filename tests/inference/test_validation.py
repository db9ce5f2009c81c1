"""Bad input at the edges: clear errors when strict, dropped without damage otherwise."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes import OutcomeTracker, Signal
from outcomes.errors import ValidationError
from outcomes.store import MemoryStore
from outcomes.testing import FakeClock, receipts

BAD_LATENCY = [math.nan, math.inf, -1.0, "12", None, True]
BAD_TOKENS = [-1, 1.5, "3", None, True, math.nan]


@pytest.mark.parametrize("latency", BAD_LATENCY)
def test_bad_latency_is_a_clear_error_when_strict(latency: object) -> None:
    tracker = OutcomeTracker(clock=FakeClock(), strict=True)
    t = tracker.record_start("m", "code")
    with pytest.raises(ValidationError, match="latency_ms"):
        tracker.record_complete(t, latency, 1, 1)  # type: ignore[arg-type]
    assert tracker.profile("m") is None


@pytest.mark.parametrize("ttft", [math.nan, math.inf, -1.0, "12", True])
def test_bad_ttft_is_refused_like_a_bad_latency(ttft: object) -> None:
    tracker = OutcomeTracker(clock=FakeClock(), strict=True)
    t = tracker.record_start("m", "code")
    with pytest.raises(ValidationError, match="ttft_ms"):
        tracker.record_complete(t, 10.0, 1, 1, ttft_ms=ttft)  # type: ignore[arg-type]
    assert tracker.profile("m") is None


def test_ttft_is_stored_on_the_receipt() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    streamed, plain = tracker.record_start("m", "code"), tracker.record_start("m", "code")
    tracker.record_complete(streamed, 40.0, 1, 1, ttft_ms=12.5)
    tracker.record_complete(plain, 40.0, 1, 1)
    tracker.flush()
    by_id = {r.trace_id: r.ttft_ms for r in receipts(store)}
    assert by_id == {streamed: 12.5, plain: None}
    tracker.close()


@pytest.mark.parametrize("tokens", BAD_TOKENS)
def test_bad_tokens_are_dropped_without_damage_when_lenient(
    tokens: object, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    t = tracker.record_start("m", "code")
    tracker.record_complete(t, 10.0, tokens, 1)  # type: ignore[arg-type]
    tracker.record_complete(t, 10.0, 1, 1)  # the call can still complete properly
    tracker.flush()
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.input_tokens) == (1, 1)
    assert len(receipts(store)) == 1
    assert "ignored" in caplog.text
    tracker.close()


@pytest.mark.parametrize(
    ("model", "task", "kwargs"),
    [
        ("", "code", {}),
        ("m", "not a task!", {}),
        ("m", "code", {"propensity": 1.5}),
        ("m", "code", {"project_id": ""}),
        ("m", "code", {"trace_id": "has spaces"}),
    ],
)
def test_bad_start_is_rejected(model: str, task: str, kwargs: dict[str, object]) -> None:
    strict = OutcomeTracker(strict=True)
    with pytest.raises(ValidationError):
        strict.record_start(model, task, **kwargs)  # type: ignore[arg-type]
    lenient = OutcomeTracker()
    t = lenient.record_start(model, task, **kwargs)  # type: ignore[arg-type]
    lenient.record_complete(t, 1.0, 1, 1)
    assert lenient.profiles() == []


def test_bad_signals_are_rejected() -> None:
    tracker = OutcomeTracker(strict=True)
    t = tracker.record_start("m", "code")
    tracker.record_complete(t, 1.0, 1, 1)
    with pytest.raises(ValidationError, match="confidence"):
        tracker.record_signal(Signal("s", t, "conversation", "accepted", 0.0, 1.5))
    with pytest.raises(ValidationError, match="verdict"):
        tracker.record_signal(Signal("s", t, "conversation", "applied", 0.0))
    with pytest.raises(ValidationError, match="signal_id"):
        tracker.record_signal(Signal("", t, "code", "applied", 0.0))
    p = tracker.profile("m")
    assert p is not None
    assert (p.successes, p.quality) == (1, None)


def test_unknown_traces_and_double_completion_change_nothing() -> None:
    tracker = OutcomeTracker()
    tracker.record_complete("nope", 1.0, 1, 1)
    tracker.record_failure("nope", "500")
    assert not tracker.record_inferred_outcome("nope", "accepted", 0.9)
    t = tracker.record_start("m", "code")
    tracker.record_complete(t, 1.0, 1, 1)
    tracker.record_complete(t, 1.0, 1, 1)
    p = tracker.profile("m")
    assert p is not None
    assert p.calls == 1


def test_failure_after_completion_supersedes_instead_of_counting_twice() -> None:
    tracker = OutcomeTracker()
    t = tracker.record_start("m", "code")
    tracker.record_complete(t, 1.0, 1, 1)
    tracker.record_failure(t, "stream broke: 500")
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures) == (1, 0, 1)


junk = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300), st.binary(max_size=20), st.lists(st.integers(), max_size=3),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(model=junk, task=junk, reason=junk, latency=junk, tin=junk, tout=junk, err=junk)
def test_hostile_input_never_raises_into_the_host_app(
    model: object, task: object, reason: object, latency: object, tin: object, tout: object,
    err: object,
) -> None:  # fmt: skip
    store = MemoryStore()
    tracker = OutcomeTracker(store)
    t = tracker.record_start(model, task, reason)  # type: ignore[arg-type]
    tracker.record_complete(t, latency, tin, tout)  # type: ignore[arg-type]
    tracker.record_failure(t, err)  # type: ignore[arg-type]
    tracker.record_inferred_outcome(t, "accepted", 0.5)
    tracker.flush()
    for p in tracker.profiles():
        assert p.calls <= 1
        assert p.successes + p.failures + p.inconclusive == p.calls
    for r in receipts(store):
        assert math.isfinite(r.latency_ms)
        assert r.latency_ms >= 0
        assert len(r.routing_reason) <= 257
    tracker.close()


def test_pending_calls_stay_bounded_without_a_sweep() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    tracker.max_pending = 100
    for i in range(1000):
        t = tracker.record_start("m", "code")
        if i % 2:
            tracker.record_complete(t, 1.0, 1, 1)
    assert len(tracker.pending_trace_ids()) <= 100
    p = tracker.profile("m")
    assert p is not None
    assert p.calls == 500  # completed calls are never lost, only evicted from memory


def test_an_error_object_that_cannot_be_printed_does_not_escape() -> None:
    class Nasty:
        def __str__(self) -> str:
            raise RuntimeError("no")

    tracker = OutcomeTracker()
    t = tracker.record_start("m", "code")
    tracker.record_failure(t, Nasty())  # type: ignore[arg-type]
    assert tracker.get_pending(t) is not None  # dropped; the call can still be resolved
    tracker.record_failure(t, "500")
    p = tracker.profile("m")
    assert p is not None
    assert p.failures == 1


def test_an_adopted_trace_id_cannot_be_started_twice() -> None:
    strict = OutcomeTracker(strict=True)
    assert strict.record_start("m", "code", trace_id="req-1") == "req-1"
    with pytest.raises(ValidationError, match="already started"):
        strict.record_start("m", "code", trace_id="req-1")


_ID_CHARS = st.sampled_from([*"aAbBgGhHkKlLpPsStTwWxXyY019:._/-\n", "sk-", "AKIA", "eyJ", "token"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_ID_CHARS, min_size=1, max_size=12).map("".join), max_size=8))
def test_trace_ids_checked_together_agree_with_each_checked_alone(ids: list[str]) -> None:
    from outcomes.inference._validate import all_trace_ids_valid, check_trace_id

    def valid(one: str) -> bool:
        with contextlib.suppress(ValidationError):
            return check_trace_id(one) == one
        return False

    if all_trace_ids_valid(ids):  # may say no when unsure, never yes wrongly
        assert all(valid(one) for one in ids)


def test_a_batch_of_checked_ids_still_refuses_a_bad_one() -> None:
    tracker = OutcomeTracker(strict=True)
    with tracker.checked_trace_ids(["ok-1", "ok-2"]) as ok:
        assert ok
        assert tracker.record_call("m", "code", 1.0, 1, 1, trace_id="ok-1") == "ok-1"
        with pytest.raises(ValidationError, match="trace_id"):
            tracker.record_call("m", "code", 1.0, 1, 1, trace_id="bad id")
    with tracker.checked_trace_ids(["ok-3", "sk-" + "a1B2c3D4e5F6g7H8i9J0" * 2]) as ok:
        assert not ok  # one may hold a credential: each is checked as it starts
    with pytest.raises(ValidationError, match="trace_id"):
        tracker.record_start("m", "code", trace_id="trailing-newline\n")


def test_ids_a_batch_check_passed_are_stored_as_given_and_a_credential_never_skips_the_scrub() -> (
    None
):
    """The batch check of trace ids tells the store's scrub which ids it proved clean (so
    the writer does not scan them again); a batch holding a credential-like id proves
    nothing, and the scrub still replaces that id when a record carries it."""
    from outcomes import _redact
    from outcomes.records import Receipt

    key = "sk-" + "a1B2c3D4e5F6g7H8i9J0" * 2
    store = MemoryStore()
    tracker = OutcomeTracker(store, strict=True)
    ids = [f"batch-{i}" for i in range(50)]
    with tracker.checked_trace_ids(ids) as ok:
        assert ok
        for trace_id in ids:
            tracker.record_call("m", "code", 1.0, 1, 1, trace_id=trace_id)
    tracker.flush()
    stored = {r.trace_id for r in store.scan(Receipt.__table__)}
    assert stored == set(ids)
    with tracker.checked_trace_ids(["batch-x", key]) as ok:
        assert not ok
    scrubbed = _redact.scrub_column(["batch-y", key])
    assert scrubbed[0] == "batch-y"
    assert key not in scrubbed[1]
    assert _redact.REDACTED in scrubbed[1]


def test_an_id_the_tracker_issued_starts_its_call_once_and_outside_ids_are_still_checked() -> None:
    from outcomes.inference._validate import check_trace_id
    from outcomes.records import Receipt

    store = MemoryStore()
    tracker = OutcomeTracker(store, strict=True)
    issued = tracker.new_trace_id()
    assert check_trace_id(issued) == issued  # what the skipped check would have said
    assert tracker.record_call("m", "code", 1.0, 1, 1, trace_id=issued, ttft_ms=0.5) == issued
    tracker.flush()
    [stored] = store.scan(Receipt.__table__)
    assert (stored.trace_id, stored.ttft_ms) == (issued, 0.5)
    with pytest.raises(ValidationError, match="already started"):
        tracker.record_start("m", "code", trace_id=issued)
    with pytest.raises(ValidationError, match="trace_id"):
        tracker.record_start("m", "code", trace_id="sk-" + "a1B2c3D4e5F6g7H8i9J0" * 2)
