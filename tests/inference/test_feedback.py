"""Open feedback: how scores, thumbs and labels become success and quality; ids, tags
and metadata stored without text; profiles filtered by tag and by start time."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes import OutcomeTracker
from outcomes.errors import ValidationError
from outcomes.inference._feedback import DEFAULT_LABELS, feedback_outcome
from outcomes.inference._feedback_schema import FeedbackRecord, TraceTag
from outcomes.inference._filter import ProfileFilter, matching_profiles, parse_since
from outcomes.inference._ingest import ingest_lines
from outcomes.store import MemoryStore, SQLiteStore, Store
from outcomes.testing import FakeClock, receipts


def completed(tracker: OutcomeTracker, model: str = "m", **kw: Any) -> str:
    t = tracker.record_start(model, "generate", **kw)
    tracker.record_complete(t, 100.0, 10, 5)
    return t


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ({"score": 0.7}, (True, 0.7)),
        ({"score": 0.49}, (False, 0.49)),
        ({"score": 7, "score_range": (0, 10)}, (True, 0.7)),
        ({"score": -1, "score_range": (-1, 1)}, (False, 0.0)),
        ({"score": 4, "score_range": (1, 5)}, (True, 0.75)),
        ({"thumbs": True}, (True, 1.0)),
        ({"thumbs": False}, (False, 0.0)),
        ({"thumbs": False, "score": 0.9}, (False, 0.9)),  # thumbs decide success
        ({"label": "correct"}, (True, 1.0)),
        ({"label": "Incorrect"}, (False, 0.0)),  # case-insensitive
        ({"label": "accepted_with_edits"}, (True, 0.7)),
        ({"label": "neutral"}, (None, None)),
        ({"label": "blue"}, (None, None)),  # outside the vocabulary: says nothing
        ({"label": "correct", "score": 0.2}, (True, 0.2)),  # score decides quality
        ({"label": "bad", "thumbs": True}, (True, 1.0)),  # thumbs win over the label
        ({}, (None, None)),
    ],
)
def test_the_documented_mapping_of_feedback_into_success_and_quality(
    given: dict[str, Any], want: tuple[bool | None, float | None]
) -> None:
    success, quality = feedback_outcome(**given)
    assert success is want[0]
    assert quality == (None if want[1] is None else pytest.approx(want[1]))


@pytest.mark.parametrize(
    ("given", "where"),
    [
        ({"score": 1.5}, "score"),
        ({"score": float("nan")}, "score"),
        ({"score": True}, "score"),
        ({"score": 5, "score_range": (10, 0)}, "score_range"),
        ({"score": 5, "score_range": (0, float("inf"))}, "score_range"),
        ({"thumbs": "yes"}, "thumbs"),
    ],
)
def test_bad_scores_and_thumbs_are_refused_naming_the_field(
    given: dict[str, Any], where: str
) -> None:
    with pytest.raises(ValidationError) as info:
        feedback_outcome(**given)
    assert info.value.where == where


def test_feedback_sets_the_outcome_of_a_completed_call() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    t = completed(tracker)
    assert tracker.feedback(t, score=3, score_range=(1, 5), user_id="user-42")
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures, p.quality_count) == (1, 1, 0, 1)
    assert p.quality == pytest.approx(0.5)
    assert tracker.feedback(t, thumbs=False)  # a later, different verdict supersedes
    p = tracker.profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures) == (1, 0, 1)
    tracker.flush()
    assert [r.source for r in receipts(store)] == ["complete", "feedback", "feedback"]
    rows = list(store.scan(FeedbackRecord.__table__))
    assert [(r.score, r.score_min, r.score_max, r.user_id) for r in rows] == [
        (3.0, 1.0, 5.0, "user-42"),
        (None, None, None, None),
    ]
    assert [(r.success, r.quality, r.applied) for r in rows] == [
        (True, 0.5, True),
        (False, 0.0, True),
    ]
    tracker.close()


def test_a_signal_id_makes_feedback_idempotent() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    t = completed(tracker)
    taken = [tracker.feedback(t, thumbs=True, tags=["ui"], signal_id="fb-1") for _ in range(3)]
    assert taken == [True, False, False]
    tracker.flush()
    assert len(receipts(store)) == 2
    assert len(list(store.scan(FeedbackRecord.__table__))) == 1
    assert len(list(store.scan(TraceTag.__table__))) == 1
    tracker.close()


def test_a_label_outside_the_vocabulary_is_stored_without_changing_the_outcome() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    t = completed(tracker)
    assert tracker.feedback(t, label="too-verbose", session_id="s-1")
    tracker.flush()
    assert [r.source for r in receipts(store)] == ["complete"]
    (row,) = store.scan(FeedbackRecord.__table__)
    assert (row.label, row.session_id, row.applied, row.success) == (
        "too-verbose", "s-1", False, None,
    )  # fmt: skip
    tracker.feedback_labels["too-verbose"] = (True, 0.6)  # the vocabulary can grow
    assert tracker.feedback(t, label="too-verbose")
    p = tracker.profile("m")
    assert p is not None
    assert p.quality == pytest.approx(0.6)
    tracker.close()


def test_feedback_for_an_unknown_call_is_kept_but_not_applied() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock())
    assert tracker.feedback("never-started", thumbs=True, tags=["x"])
    tracker.flush()
    (row,) = store.scan(FeedbackRecord.__table__)
    assert row.applied is False
    assert receipts(store) == []
    tracker.close()


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"tags": "one-string"}, "tags"),
        ({"tags": ["ok", "has space"]}, "tags[1]"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"user_id": "u" * 129}, "user_id"),
        ({"user_id": "bad\u202eid"}, "user_id"),
        ({"session_id": ""}, "session_id"),
        ({"metadata": {"k": [1, 2]}}, "metadata.k"),
        ({"metadata": {f"k{i}": i for i in range(17)}}, "metadata"),
        ({"metadata": {"k": float("inf")}}, "metadata.k"),
        ({"metadata": "flat"}, "metadata"),
        ({"score": 11, "score_range": (0, 10)}, "score"),
        ({"label": "x" * 300}, "label"),
    ],
)
def test_hostile_feedback_is_refused_with_the_field_named(
    kwargs: dict[str, Any], where: str
) -> None:
    strict = OutcomeTracker(clock=FakeClock(), strict=True)
    t = completed(strict)
    with pytest.raises(ValidationError) as info:
        strict.feedback(t, **kwargs)
    assert info.value.where == where
    lenient = OutcomeTracker(clock=FakeClock())
    t = completed(lenient)
    assert lenient.feedback(t, **kwargs) is False  # logged and dropped, never raised
    p = lenient.profile("m")
    assert p is not None
    assert p.quality_count == 0


def test_metadata_strings_are_redacted_and_capped(tmp_path: Any) -> None:
    store = SQLiteStore(tmp_path / "o.db")
    tracker = OutcomeTracker(store, clock=FakeClock())
    t = completed(tracker)
    key = "sk-" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9T0"
    assert tracker.feedback(t, thumbs=True, metadata={"note": f"key {key} " + "x" * 500, "n": 3})
    tracker.close()
    (row,) = store.scan(FeedbackRecord.__table__)
    assert row.metadata is not None
    assert key not in row.metadata["note"]
    assert len(row.metadata["note"]) == 256 + 1  # cut, with an ellipsis
    assert row.metadata["n"] == 3
    store.close()
    assert key.encode() not in (tmp_path / "o.db").read_bytes()


def _tagged_calls(store: Store, clock: FakeClock) -> OutcomeTracker:
    tracker = OutcomeTracker(store, clock=clock)
    a = completed(tracker, "alpha", project_id="p1")
    b = completed(tracker, "alpha", project_id="p2")
    c = completed(tracker, "beta", project_id="p1")
    tracker.feedback(a, thumbs=True, tags=["beta-users", "ui"])
    tracker.feedback(b, thumbs=False, tags=["ui"])
    tracker.feedback(c, score=0.2, tags=["beta-users"])
    completed(tracker, "beta")  # untagged
    tracker.flush()
    return tracker


def test_profiles_filter_by_tag_and_project_on_every_store(store: Store) -> None:
    tracker = _tagged_calls(store, FakeClock())
    everyone = {p.model_id: p.calls for p in tracker.shared_profiles()}
    assert everyone == {"alpha": 2, "beta": 2}
    ui = {p.model_id: (p.calls, p.successes, p.failures) for p in tracker.shared_profiles(tag="ui")}
    assert ui == {"alpha": (2, 1, 1)}
    beta = tracker.shared_profiles(tag="beta-users", project_id="p1")
    assert {p.model_id: (p.calls, p.successes, p.failures) for p in beta} == {
        "alpha": (1, 1, 0),
        "beta": (1, 0, 1),
    }
    assert tracker.shared_profiles(tag="none-such") == []
    tracker.close()


def test_since_keeps_whole_calls_even_when_a_late_signal_arrives(store: Store) -> None:
    clock = FakeClock(1_760_000_000.0)
    tracker = OutcomeTracker(store, clock=clock)
    old = completed(tracker, "m")
    clock.advance(10 * 86_400)
    completed(tracker, "m")
    tracker.feedback(old, thumbs=False)  # today, on a call from ten days ago
    tracker.flush()
    since = parse_since("7d", clock.now())
    (recent,) = tracker.shared_profiles(since=since)
    assert (recent.calls, recent.successes, recent.failures, recent.inconclusive) == (1, 1, 0, 0)
    (whole,) = tracker.shared_profiles()
    assert (whole.calls, whole.successes, whole.failures) == (2, 1, 1)
    (both,) = matching_profiles(store, ProfileFilter(since=since - 11 * 86_400, tag=None))
    assert both.calls == 2
    tracker.close()


def test_tag_and_since_together(store: Store) -> None:
    clock = FakeClock(1_760_000_000.0)
    tracker = OutcomeTracker(store, clock=clock)
    old = completed(tracker, "m")
    clock.advance(3600)
    new = completed(tracker, "m")
    tracker.feedback(old, tags=["x"])
    tracker.feedback(new, tags=["x"])
    tracker.flush()
    got = matching_profiles(store, ProfileFilter(tag="x", since=clock.now() - 60))
    assert [(p.model_id, p.calls) for p in got] == [("m", 1)]
    tracker.close()


@pytest.mark.parametrize("text", ["7", "7y", "-1d", "", "d7", "1e400d"])
def test_since_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValidationError, match="since"):
        parse_since(text, 1_760_000_000.0)


def test_filters_without_a_store_are_refused_clearly() -> None:
    tracker = OutcomeTracker(clock=FakeClock())
    with pytest.raises(ValidationError, match="store"):
        tracker.shared_profiles(tag="x")
    with pytest.raises(ValidationError, match=r"^tag: 'not a tag' must be"):
        ProfileFilter(tag="not a tag")


def test_feedback_lines_through_ingest_with_extras_dropped_and_counted() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock(), strict=True)
    lines = [
        {"event": "start", "trace_id": "t1", "model_id": "m", "task": "generate"},
        {"event": "complete", "trace_id": "t1", "latency_ms": 10, "output_tokens": 3},
        {
            "event": "feedback", "trace_id": "t1", "score": 8, "score_range": [0, 10],
            "tags": ["beta"], "user_id": "u1", "metadata": {"source": "judge"},
            "signal_id": "j-1", "judge_model": "some-judge",
        },
        {"event": "feedback", "trace_id": "t1", "score": 20, "score_range": [0, 10]},
        {"event": "feedback", "trace_id": "t1", "thumbs": "up"},
        {"event": "feedback", "trace_id": "t1", "tags": ["bad tag"]},
        {"event": "feedback", "trace_id": "t1", "score": 8, "score_range": [0, 10],
         "signal_id": "j-1"},
    ]  # fmt: skip
    report = ingest_lines(tracker, [json.dumps(x) for x in lines])
    assert (report.applied, report.ignored, report.invalid) == (3, 1, 3)
    assert report.extra_names == {"judge_model": 1}
    assert [p.line for p in report.problems] == [4, 5, 6]
    assert "outside the declared score_range" in report.problems[0].reason
    assert report.problems[2].reason.startswith("tags[0]")
    p = tracker.profile("m")
    assert p is not None
    assert (p.successes, p.quality) == (1, pytest.approx(0.8))
    tracker.close()


def test_retention_takes_feedback_with_the_receipts_it_describes(tmp_path: Any) -> None:
    from outcomes.inference import prune_feedback
    from outcomes.ledger import prune

    store = SQLiteStore(tmp_path / "o.db")
    clock = FakeClock(1_760_000_000.0)
    tracker = OutcomeTracker(store, clock=clock)
    old = completed(tracker)
    tracker.feedback(old, thumbs=True, user_id="user-old", tags=["a"])
    clock.advance(40 * 86_400)
    new = completed(tracker)
    tracker.feedback(new, thumbs=True, user_id="user-new", tags=["b"])
    tracker.close()
    assert prune(store, older_than=30 * 86_400, clock=clock) == 2
    assert prune_feedback(store) == 2  # the old feedback row and its tag
    assert [r.user_id for r in store.scan(FeedbackRecord.__table__)] == ["user-new"]
    assert [t.tag for t in store.scan(TraceTag.__table__)] == ["b"]
    assert prune(store, keep=0) == 2
    assert prune_feedback(store) == 2
    assert list(store.scan(FeedbackRecord.__table__)) == []
    store.close()


@given(
    lo=st.floats(-1e6, 1e6),
    width=st.floats(1e-3, 1e6),
    at=st.floats(0.0, 1.0),
    thumbs=st.none() | st.booleans(),
    label=st.none() | st.sampled_from(sorted(DEFAULT_LABELS)) | st.text(max_size=8),
)
def test_any_valid_feedback_maps_into_a_valid_outcome(
    lo: float, width: float, at: float, thumbs: bool | None, label: str | None
) -> None:
    hi = lo + width
    score = min(hi, lo + at * width)
    success, quality = feedback_outcome(
        score=score, score_range=(lo, hi), thumbs=thumbs, label=label
    )
    assert quality is not None
    assert 0.0 <= quality <= 1.0
    if thumbs is not None:
        assert success is thumbs
    elif label is not None and label.lower() in DEFAULT_LABELS:
        said = DEFAULT_LABELS[label.lower()][0]
        assert success is (said if said is not None else quality >= 0.5)
    else:
        assert success is (quality >= 0.5)
