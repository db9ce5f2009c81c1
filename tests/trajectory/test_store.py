"""Trajectories in every store: save/get/list/delete, all-or-nothing import, verdict receipts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from outcomes.errors import ImportFormatError, ValidationError
from outcomes.records import Receipt
from outcomes.store import SQLiteStore, Store
from outcomes.testing import FakeClock, receipts
from outcomes.trajectory import (
    ChunksRetrieved,
    FinalDecision,
    LlmCall,
    PastVerdictsRecalled,
    RecalledVerdict,
    RulesApplied,
    RuleSource,
    SelfCheck,
    TrajectoryStore,
    UnknownStep,
    steps_to_wire,
)
from outcomes.trajectory._records import StoredStep, TrajectoryRun


def review_steps(issues: list[str], trace: str = "trace-1") -> list[object]:
    return [
        ChunksRetrieved(3, ["handler", "parse"], [0.91, 0.85, 0.5], started_at=10.0),
        RulesApplied(["r1"], RuleSource.TEAM),
        PastVerdictsRecalled(1, [0.9], [RecalledVerdict("v1", "no unwrap", 0.9, "x" * 300)]),
        LlmCall("safety", 1200, 80, raw_output="model output text", trace_id=trace),
        SelfCheck(len(issues), 1, 0.8, duration_ms=4.5),
        FinalDecision(issues),
        UnknownStep("from_the_future", {"payload": {"a": 1}}),
    ]


def test_save_then_get_returns_equal_steps_except_raw_output(store: Store) -> None:
    ts = TrajectoryStore(store, clock=FakeClock(1000.0))
    steps = review_steps(["i1", "i2"])
    header = ts.save("run-1", steps, project_id="proj")  # type: ignore[arg-type]
    assert header == TrajectoryRun(
        "run-1", 1000.0, "review", "proj", 7, 1, ["i1", "i2"], save_id=header.save_id
    )
    assert header.save_id
    assert ts.run("run-1") == header
    back = ts.get("run-1")
    assert back is not None
    assert back[3] == LlmCall("safety", 1200, 80, raw_output=None, trace_id="trace-1")
    assert back[:3] + back[4:] == steps[:3] + steps[4:]
    wire = ts.get_json("run-1")
    assert wire is not None
    assert [w["seq"] for w in wire] == list(range(7))
    # Key order survives storage: what a reader gets is what the builder emits.
    expected = [json.dumps(w) for w in steps_to_wire(steps)]  # type: ignore[arg-type]
    expected[3] = expected[3].replace('"raw_output": "model output text", ', "")
    assert [json.dumps(w) for w in wire] == expected
    assert "raw_output" not in json.dumps(wire)
    assert "model output text" not in json.dumps([s.body for s in store.scan(StoredStep.__table__)])


def test_get_of_an_unknown_run_is_none(store: Store) -> None:
    ts = TrajectoryStore(store)
    assert ts.get("nope") is None
    assert ts.get_json("nope") is None
    assert ts.run("nope") is None


def test_list_is_newest_first_and_filters_by_pipeline(store: Store) -> None:
    clock = FakeClock(100.0)
    ts = TrajectoryStore(store, clock=clock)
    for i in range(3):
        clock.advance(1)
        ts.save(f"run-{i}", review_steps([f"i{i}"]), pipeline="review" if i < 2 else "agent")  # type: ignore[arg-type]
    assert [r.run_id for r in ts.list_runs()] == ["run-2", "run-1", "run-0"]
    assert [r.run_id for r in ts.list_runs(pipeline="review", limit=1)] == ["run-1"]


def test_list_filters_by_time_and_project_before_the_limit(store: Store) -> None:
    clock = FakeClock(100.0)
    ts = TrajectoryStore(store, clock=clock)
    for i in range(4):
        clock.advance(1)
        ts.save(f"run-{i}", review_steps([f"i{i}"]), project_id="a" if i % 2 else "b")  # type: ignore[arg-type]
    assert [r.run_id for r in ts.list_runs(project_id="b", limit=1)] == ["run-2"]
    assert [r.run_id for r in ts.list_runs(since=103.0)] == ["run-3", "run-2"]
    assert [r.run_id for r in ts.list_runs(since=102.0, project_id="a")] == ["run-3", "run-1"]
    assert ts.list_runs(project_id="none-such") == []


def test_delete_removes_the_run_and_a_new_save_of_the_id_starts_clean(store: Store) -> None:
    ts = TrajectoryStore(store)
    ts.save("run-1", review_steps(["i1"]))  # type: ignore[arg-type]
    assert ts.delete("run-1") is True
    assert ts.delete("run-1") is False
    assert ts.get("run-1") is None
    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    assert ts.get("run-1") == [SelfCheck(1, 0, 0.5)]


def test_saving_a_run_twice_is_refused_and_changes_nothing(store: Store) -> None:
    ts = TrajectoryStore(store)
    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    with pytest.raises(ValidationError, match="already has a trajectory"):
        ts.save("run-1", [SelfCheck(2, 0, 0.5)])
    assert ts.get("run-1") == [SelfCheck(1, 0, 0.5)]


def test_a_bad_step_rejects_the_whole_trajectory_and_stores_nothing(store: Store) -> None:
    ts = TrajectoryStore(store)
    steps = [*review_steps(["i1"]), ChunksRetrieved(1, ["a"], [float("nan")])]
    with pytest.raises(ValidationError) as info:
        ts.save("run-1", steps)  # type: ignore[arg-type]
    assert info.value.where == "steps[7].similarity_scores[0]"
    assert ts.run("run-1") is None
    assert store.count(StoredStep.__table__) == 0
    assert store.count(TrajectoryRun.__table__) == 0


def test_a_non_step_object_is_refused_with_its_index(store: Store) -> None:
    ts = TrajectoryStore(store)
    with pytest.raises(ValidationError) as info:
        ts.save("run-1", [SelfCheck(1, 0, 0.5), {"kind": "self_check"}])  # type: ignore[list-item]
    assert info.value.where == "steps[1]"


def test_bad_run_ids_are_refused(store: Store) -> None:
    ts = TrajectoryStore(store)
    for bad in ["", " run", "a" * 200, "run\n1"]:
        with pytest.raises(ValidationError):
            ts.save(bad, [])


def test_import_is_all_or_nothing_and_names_the_bad_step(store: Store) -> None:
    ts = TrajectoryStore(store)
    good = [{"kind": "retrieval_filter", "before": 10, "after": 4}]
    bad = [*good * 3, {"kind": "retrieval_filter", "before": 10}]
    with pytest.raises(ValidationError) as info:
        ts.import_json("run-1", json.dumps(bad))
    assert info.value.where == "steps[3].after"
    assert ts.run("run-1") is None
    with pytest.raises(ImportFormatError):
        ts.import_json("run-1", "[{")
    header = ts.import_json("run-1", json.dumps(good))
    assert header.step_count == 1


def test_runs_are_found_by_the_inference_trace_id_of_their_llm_calls(store: Store) -> None:
    ts = TrajectoryStore(store)
    ts.save("run-1", review_steps(["i1"], trace="t-a"))  # type: ignore[arg-type]
    ts.save("run-2", review_steps(["i1"], trace="t-b"))  # type: ignore[arg-type]
    assert ts.runs_for_trace("t-b") == ["run-2"]
    assert ts.runs_for_trace("t-none") == []


def test_verdicts_become_receipts_and_measure_precision(store: Store) -> None:
    clock = FakeClock(5000.0)
    ts = TrajectoryStore(store, clock=clock)
    ts.save("run-1", review_steps(["i1", "i2", "i3"]), project_id="p")  # type: ignore[arg-type]
    ts.save("run-2", review_steps(["j1"]))  # type: ignore[arg-type]
    first = ts.record_verdict("run-1", "i1", "accepted")
    assert first == Receipt(
        receipt_id=first.receipt_id,
        trace_id="run-1",
        model_id="review",
        task="review",
        timestamp=5000.0,
        success=True,
        quality=1.0,
        project_id="p",
        intent="accepted",
        kind="review_finding",
        source="verdict",
        signal_id="i1",
    )
    assert ts.record_verdict("run-1", "i1", "accepted") == first  # repeating changes nothing
    ts.record_verdict("run-1", "i2", "fixed")
    ts.record_verdict("run-1", "i3", "accepted")
    changed = ts.record_verdict("run-1", "i3", "dismissed")
    assert changed.supersedes is not None
    assert changed.success is False
    assert len(receipts(store)) == 4  # append-only: the superseded receipt stays
    p1 = ts.precision(run_id="run-1")
    assert (p1.accepted, p1.fixed, p1.dismissed, p1.pending) == (1, 1, 1, 0)
    assert p1.precision == pytest.approx(2 / 3)
    everything = ts.precision()
    assert (everything.runs, everything.issues, everything.pending) == (2, 4, 1)
    assert set(ts.verdicts("run-1")) == {"i1", "i2", "i3"}


def test_verdicts_on_unknown_runs_issues_or_values_are_refused(store: Store) -> None:
    ts = TrajectoryStore(store)
    ts.save("run-1", review_steps(["i1"]))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="never emitted"):
        ts.record_verdict("run-1", "i9", "accepted")
    with pytest.raises(ValidationError, match="no trajectory"):
        ts.record_verdict("run-9", "i1", "accepted")
    with pytest.raises(ValidationError) as info:
        ts.record_verdict("run-1", "i1", "loved")
    assert info.value.where == "verdict"
    assert receipts(store) == []


def test_trajectories_survive_reopening_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    first = SQLiteStore(path)
    TrajectoryStore(first).save("run-1", review_steps(["i1"]))  # type: ignore[arg-type]
    first.close()
    again = SQLiteStore(path)
    try:
        steps = TrajectoryStore(again).get("run-1")
        assert steps is not None
        assert len(steps) == 7
    finally:
        again.close()


def test_public_names_of_the_wing_resolve() -> None:
    import outcomes.trajectory as wing

    assert len(set(wing.__all__)) == len(wing.__all__)
    for name in wing.__all__:
        assert getattr(wing, name) is not None


_roundtrip_counter = iter(range(10**9))


def _without_raw_output(step: object) -> object:
    import dataclasses

    return dataclasses.replace(step, raw_output=None) if isinstance(step, LlmCall) else step  # type: ignore[arg-type]


def test_any_trajectory_round_trips_through_sqlite(tmp_path: Path) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tests.trajectory.test_wire_validation import steps_strategy

    sqlite = SQLiteStore(tmp_path / "rt.db")
    ts = TrajectoryStore(sqlite)

    @settings(max_examples=60, deadline=None)
    @given(st.lists(steps_strategy, max_size=10))
    def check(steps: list[object]) -> None:
        run_id = f"run-{next(_roundtrip_counter)}"
        ts.save(run_id, steps)  # type: ignore[arg-type]
        assert ts.get(run_id) == [_without_raw_output(s) for s in steps]

    try:
        check()
    finally:
        sqlite.close()


def test_a_save_that_loses_a_race_for_the_run_id_leaves_the_winner_intact(store: Store) -> None:
    ts = TrajectoryStore(store)

    class Racing(TrajectoryStore):
        """Sees no run at its check, as if another writer committed right after it."""

        def run(self, run_id: str) -> TrajectoryRun | None:
            if getattr(self, "checked", False):
                return super().run(run_id)
            self.checked = True
            return None

    ts.save("run-1", [SelfCheck(1, 0, 0.5)])
    loser = Racing(store)
    with pytest.raises(ValidationError, match="already has a trajectory"):
        loser.save("run-1", [SelfCheck(2, 0, 0.5), SelfCheck(3, 0, 0.5)])
    assert ts.get("run-1") == [SelfCheck(1, 0, 0.5)]
    assert store.count(StoredStep.__table__) == 1


def test_the_outcomes_of_a_runs_model_calls_attach_through_trace_ids(store: Store) -> None:
    ts = TrajectoryStore(store)
    ts.save("run-1", review_steps(["i1"], trace="t-a"))  # type: ignore[arg-type]
    store.write(
        [
            Receipt("r1", "t-a", "model-x", "code", 1.0, success=True, latency_ms=800.0),
            Receipt("r2", "t-other", "model-y", "code", 2.0, success=False),
        ]
    )
    calls = ts.call_receipts("run-1")
    assert list(calls) == ["t-a"]
    assert [r.receipt_id for r in calls["t-a"]] == ["r1"]
    assert ts.call_receipts("nope") == {}
