"""Every test of seed 000 (inference outcome tracker), ported; plus the seed behaviours the
issue lists that its tests did not pin."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from outcomes import CodeVerdict, ConversationVerdict, InferredOutcome, OutcomeTracker, Task
from outcomes.errors import UnsafePathError
from outcomes.inference import ModelProfile
from outcomes.ledger import export_jsonl, import_jsonl, prune
from outcomes.records import Receipt
from outcomes.store import MemoryStore
from outcomes.testing import FakeClock

QWEN = "qwen/qwen3-4b:q4_k_m"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_750_000_000.0)


@pytest.fixture
def tracker(clock: FakeClock) -> OutcomeTracker:
    return OutcomeTracker(clock=clock)


def test_lifecycle(tracker: OutcomeTracker) -> None:
    trace = tracker.record_start(QWEN, Task.CODE, "Code task -> Qwen3-4B")
    tracker.record_complete(trace, 1200.0, 100, 50)
    p = tracker.profile(QWEN)
    assert p is not None
    assert p.total_calls == 1
    assert p.avg_latency_ms() == 1200.0
    tracker.record_inferred_outcome(trace, InferredOutcome.accepted(0.9))
    p = tracker.profile(QWEN)
    assert p is not None
    assert p.success_count == 1
    assert p.ema_quality > 0.5


def test_failure_degrades(tracker: OutcomeTracker) -> None:
    for _ in range(5):
        trace = tracker.record_start("bad-model", Task.GENERATE, "test")
        tracker.record_failure(trace, "timeout")
    p = tracker.profile("bad-model")
    assert p is not None
    assert p.fail_count == 5
    assert p.success_count == 0
    assert p.should_degrade(2)
    assert p.ema_quality < 0.3


def test_code_outcome_ground_truth(tracker: OutcomeTracker) -> None:
    trace = tracker.record_start(QWEN, Task.CODE, "code")
    tracker.record_complete(trace, 500.0, 200, 100)
    tracker.record_code_outcome(trace, CodeVerdict.APPLIED)
    p = tracker.profile(QWEN)
    assert p is not None
    assert p.success_count == 1
    assert p.ema_quality == pytest.approx(0.6, abs=0.01)  # 0.5 * 0.8 + 1.0 * 0.2


def test_per_task_stats(tracker: OutcomeTracker) -> None:
    for _ in range(2):
        trace = tracker.record_start("m1", Task.CODE, "code")
        tracker.record_complete(trace, 1000.0, 100, 50)
        tracker.record_inferred_outcome(trace, InferredOutcome.accepted(0.8))
    trace = tracker.record_start("m1", Task.GENERATE, "gen")
    tracker.record_complete(trace, 500.0, 50, 25)
    tracker.record_inferred_outcome(trace, InferredOutcome.rejected(0.9))
    p = tracker.profile("m1")
    assert p is not None
    assert p.total_calls == 3
    code = p.task_stats_for(Task.CODE)
    assert code is not None
    assert (code.calls, code.successes) == (2, 2)
    gen = p.task_stats_for(Task.GENERATE)
    assert gen is not None
    assert (gen.calls, gen.failures) == (1, 1)


def test_export_populates_quality_per_1k_tokens(tracker: OutcomeTracker) -> None:
    trace = tracker.record_start("m1", Task.GENERATE, "test")
    tracker.record_complete(trace, 100.0, 800, 200)
    tracker.record_inferred_outcome(trace, InferredOutcome.accepted(1.0))
    exported = tracker.export_profiles()
    assert len(exported) == 1
    assert exported[0].quality_per_1k_tokens == pytest.approx(0.6, abs=1e-6)


def test_quality_per_1k_tokens_zero_without_tokens() -> None:
    assert ModelProfile.new("x").compute_quality_per_1k_tokens() == 0.0


def test_dirty_flag_and_save_if_dirty(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "sub" / "outcome_profiles.json"
    tracker = OutcomeTracker(clock=clock)
    assert not tracker.is_dirty()
    assert not tracker.save_if_dirty(path)
    assert not path.exists()
    trace = tracker.record_start("m1", Task.GENERATE, "router")
    tracker.record_complete(trace, 100.0, 10, 20)
    assert tracker.is_dirty()
    # Unlike the seed (create_dir_all), a missing folder is an error: no surprise folders.
    with pytest.raises(UnsafePathError, match="does not exist"):
        tracker.save_if_dirty(path)
    assert tracker.is_dirty()
    path.parent.mkdir()
    assert tracker.save_if_dirty(path)
    assert path.exists()
    assert (path.stat().st_mode & 0o777) == 0o600
    assert not tracker.is_dirty()
    assert not tracker.save_if_dirty(path)
    fresh = OutcomeTracker(clock=clock)
    assert fresh.load_from_file(path) == 1
    assert not fresh.is_dirty()
    loaded = fresh.profile("m1")
    assert loaded is not None
    assert (loaded.calls, loaded.successes, loaded.output_tokens) == (1, 1, 20)
    fresh.import_profiles([ModelProfile.new("seeded")])
    assert fresh.is_dirty()


def test_ledger_captures_resolved_outcomes(tmp_path: Path, tracker: OutcomeTracker) -> None:
    t1 = tracker.record_start("good-model", Task.GENERATE, "router:test")
    tracker.record_complete(t1, 1200.0, 50, 100)
    tracker.record_inferred_outcome(t1, InferredOutcome.accepted(0.9))
    t2 = tracker.record_start("bad-model", Task.CODE, "router:test")
    tracker.record_failure(t2, "boom: 500")
    drained = tracker.drain_ledger()
    assert len(drained) == 2
    assert tracker.drain_ledger() == []
    # Through the portable ledger and back.
    store = MemoryStore()
    store.write(drained)
    path = tmp_path / "ledger.jsonl"
    with path.open("w", encoding="utf-8") as out:
        assert export_jsonl(store, out) == 2
    back = MemoryStore()
    with path.open("rb") as stream:
        import_jsonl(back, stream)
    read = list(back.scan(Receipt.__table__))
    assert len(read) == 2
    good = next(r for r in read if r.model_id == "good-model")
    assert good.success is True
    assert good.quality is not None
    assert good.routing_reason == "router:test"
    assert good.latency_ms == 1200.0
    bad = next(r for r in read if r.model_id == "bad-model")
    assert bad.success is False
    assert bad.error == "boom: 500"
    assert len(list(back.scan(Receipt.__table__, order_by="seq", descending=True, limit=1))) == 1


def test_ledger_redacts_long_errors_and_prunes(tracker: OutcomeTracker) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_failure(t, "x" * 5000)
    drained = tracker.drain_ledger()
    assert drained[0].error is not None
    assert len(drained[0].error) <= 257
    store = MemoryStore()
    store.write(
        [
            Receipt(f"r{i}", f"t{i}", "m", "generate", 1_750_000_000.0 + i, True, 1.0, 1.0, 1, 1)
            for i in range(10)
        ]
    )
    prune(store, keep=3)
    kept = [r.trace_id for r in store.scan(Receipt.__table__)]
    assert kept == ["t7", "t8", "t9"]


def test_sweep_pending_credits_mechanical_success_or_inconclusive(
    tracker: OutcomeTracker, clock: FakeClock
) -> None:
    t1 = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t1, 500.0, 10, 20)
    t2 = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t2, 300.0, 5, 0)
    tracker.record_start("m", Task.GENERATE, "r")
    assert tracker.sweep_pending(0, now=clock.now() + 10) == 3
    receipts = sorted(tracker.drain_ledger(), key=lambda r: r.latency_ms)
    assert len(receipts) == 2
    assert (receipts[0].latency_ms, receipts[0].success) == (300.0, None)
    assert (receipts[1].latency_ms, receipts[1].success, receipts[1].quality) == (500.0, True, None)
    p = tracker.profile("m")
    assert p is not None
    assert p.success_count == 1
    assert p.ema_quality == 0.5
    assert p.inconclusive == 1
    assert tracker.pending_trace_ids() == []


def test_record_complete_credits_success_immediately(
    tracker: OutcomeTracker, clock: FakeClock
) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t, 500.0, 12, 20)
    p = tracker.profile("m")
    assert p is not None
    assert (p.success_count, p.total_calls, p.total_input_tokens, p.fail_count) == (1, 1, 12, 0)
    tracker.sweep_pending(0, now=clock.now() + 10)
    p = tracker.profile("m")
    assert p is not None
    assert p.success_count == 1


def test_record_complete_no_output_is_not_a_success(tracker: OutcomeTracker) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t, 300.0, 5, 0)
    p = tracker.profile("m")
    assert p is not None
    assert (p.success_count, p.total_calls) == (0, 1)


def test_record_failure_counts_total_calls(tracker: OutcomeTracker) -> None:
    for _ in range(3):
        t = tracker.record_start("m", Task.GENERATE, "r")
        tracker.record_failure(t, "boom 500")
    p = tracker.profile("m")
    assert p is not None
    assert (p.fail_count, p.total_calls) == (3, 3)


def test_real_failure_signal_reclassifies_mechanical_success(tracker: OutcomeTracker) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t, 100.0, 8, 15)
    p = tracker.profile("m")
    assert p is not None
    assert p.success_count == 1
    tracker.record_inferred_outcome(t, InferredOutcome.rejected(0.9))
    p = tracker.profile("m")
    assert p is not None
    assert (p.success_count, p.fail_count, p.calls) == (0, 1, 1)


def test_real_success_signal_does_not_double_count(tracker: OutcomeTracker) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t, 100.0, 8, 15)
    tracker.record_inferred_outcome(t, InferredOutcome.accepted(0.9))
    p = tracker.profile("m")
    assert p is not None
    assert p.success_count == 1


def test_export_import(tracker: OutcomeTracker, clock: FakeClock) -> None:
    trace = tracker.record_start("m1", Task.GENERATE, "test")
    tracker.record_complete(trace, 100.0, 10, 5)
    tracker.record_inferred_outcome(trace, InferredOutcome.accepted(0.9))
    exported = tracker.export_profiles()
    assert len(exported) == 1
    other = OutcomeTracker(clock=clock)
    other.import_profiles(exported)
    p = other.profile("m1")
    assert p is not None
    assert (p.calls, p.successes, p.ema_quality) == (1, 1, exported[0].ema_quality)


# -- seed behaviours the issue lists beyond the seed's own tests -------------------------


def test_rate_limit_multiplies_quality_and_excludes_for_the_session(
    tracker: OutcomeTracker,
) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_failure(t, "HTTP 429 Too Many Requests")
    assert tracker.is_excluded("m")
    p = tracker.profile("m")
    assert p is not None
    assert p.ema_quality == pytest.approx(0.05)
    t = tracker.record_start("g", Task.GENERATE, "r")
    tracker.record_failure(t, "RESOURCE_EXHAUSTED: quota")
    assert tracker.is_excluded("g")
    assert not tracker.is_excluded("other")


@pytest.mark.parametrize(
    ("verdict", "confidence", "quality"),
    [
        (ConversationVerdict.ACCEPTED, 0.8, 0.8),
        (ConversationVerdict.ACCEPTED_WITH_EDITS, 0.8, 0.56),
        (ConversationVerdict.REJECTED, 0.8, 0.06),
    ],
)
def test_conversation_verdicts_map_to_quality_as_in_the_seed(
    tracker: OutcomeTracker, verdict: ConversationVerdict, confidence: float, quality: float
) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t, 10.0, 1, 1)
    tracker.record_inferred_outcome(t, verdict, confidence)
    (receipt,) = tracker.drain_ledger()
    assert receipt.quality == pytest.approx(quality)
    p = tracker.profile("m")
    assert p is not None
    assert p.ema_quality == pytest.approx(0.5 * 0.8 + quality * 0.2)


def test_inconclusive_verdict_moves_nothing(tracker: OutcomeTracker) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t, 10.0, 1, 1)
    tracker.record_inferred_outcome(t, InferredOutcome.inconclusive())
    p = tracker.profile("m")
    assert p is not None
    assert (p.successes, p.failures, p.ema_quality, p.quality) == (1, 0, 0.5, None)


@pytest.mark.parametrize(("verdict", "quality"), [(v, v.quality()) for v in CodeVerdict])
def test_code_verdicts_map_to_quality_as_in_the_seed(
    tracker: OutcomeTracker, verdict: CodeVerdict, quality: float
) -> None:
    t = tracker.record_start("m", Task.CODE, "r")
    tracker.record_complete(t, 10.0, 1, 1)
    tracker.record_code_outcome(t, verdict)
    (receipt,) = tracker.drain_ledger()
    assert receipt.quality == quality
    assert receipt.success is (verdict is not CodeVerdict.IGNORED)


def test_action_sequence_inference_follows_the_seed_rules(tracker: OutcomeTracker) -> None:
    got = tracker.infer_outcomes_from_action_sequence(
        [
            ("a", True, 0.9, "out"),  # next succeeded -> accepted
            ("b", True, 0.8, "out"),  # next failed -> accepted with edits, c * 0.7
            ("c", False, 0.6, ""),  # failed -> rejected
            ("", True, 0.9, "x"),  # no trace -> skipped
            ("d", True, 0.5, "   "),  # no output -> inconclusive
            ("e", True, 0.7, "last"),  # last with output -> accepted
        ]
    )
    assert [(t, o.verdict) for t, o in got] == [
        ("a", ConversationVerdict.ACCEPTED),
        ("b", ConversationVerdict.ACCEPTED_WITH_EDITS),
        ("c", ConversationVerdict.REJECTED),
        ("d", ConversationVerdict.INCONCLUSIVE),
        ("e", ConversationVerdict.ACCEPTED),
    ]
    verdicts = dict(got)
    assert verdicts["a"] == InferredOutcome.accepted(0.9)
    assert verdicts["b"].confidence == pytest.approx(0.56)
    assert verdicts["c"] == InferredOutcome.rejected(0.6)
    assert verdicts["d"].verdict is ConversationVerdict.INCONCLUSIVE
    assert verdicts["e"] == InferredOutcome.accepted(0.7)
    assert "" not in verdicts


def test_resolve_pending_from_signals_applies_each(tracker: OutcomeTracker) -> None:
    ids = [tracker.record_start("m", Task.REASONING, "r") for _ in range(3)]
    for t in ids:
        tracker.record_complete(t, 10.0, 1, 1)
    outcomes = tracker.infer_outcomes_from_action_sequence(
        [(ids[0], True, 0.9, "a"), (ids[1], False, 0.9, ""), (ids[2], True, 0.9, "c")]
    )
    assert tracker.resolve_pending_from_signals(outcomes) == 3
    p = tracker.profile("m")
    assert p is not None
    assert (p.successes, p.failures) == (2, 1)
    assert tracker.pending_trace_ids() == []


def test_trace_ids_are_unique_and_routing_reason_is_capped(tracker: OutcomeTracker) -> None:
    ids = {tracker.record_start("m", "my-task", "r") for _ in range(1000)}
    assert len(ids) == 1000
    t = tracker.record_start("m", "generate", "why " * 500 + "sk-abcdefghijklmnopqrstuvwxyz123456")
    call = tracker.get_pending(t)
    assert call is not None
    assert len(call.routing_reason) <= 257
    assert "sk-abcdefghijklmnop" not in call.routing_reason


def test_user_defined_tasks_work(tracker: OutcomeTracker) -> None:
    t = tracker.record_start("m", "summarise-legal", "r")
    tracker.record_complete(t, 10.0, 1, 1)
    p = tracker.profile("m", task="summarise-legal")
    assert p is not None
    assert p.calls == 1


def test_success_rate_is_half_when_empty_and_null_in_json() -> None:
    p = ModelProfile.new("m")
    assert p.success_rate() == 0.5
    assert p.to_json()["success_rate"] is None
    assert json.loads(json.dumps(p.to_json()))["success_interval"] is None


def test_corrupt_profile_file_is_quarantined_not_emptied(
    tmp_path: Path, tracker: OutcomeTracker, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "profiles.json"
    path.write_text('{"format": "outcomes.profiles", "version": 1, "state": {"cel', "utf-8")
    assert tracker.load_from_file(path) == 0
    assert not path.exists()
    aside = [p for p in os.listdir(tmp_path) if p.startswith("profiles.json.corrupt-")]
    assert len(aside) == 1
    assert (tmp_path / aside[0]).read_text("utf-8").startswith('{"format"')
    assert "unreadable" in caplog.text


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path: Path, tracker: OutcomeTracker) -> None:
    t = tracker.record_start("m", Task.GENERATE, "r")
    tracker.record_complete(t, 10.0, 1, 1)
    path = tmp_path / "p.json"
    tracker.save_to_file(path)
    tracker.save_to_file(path)
    assert os.listdir(tmp_path) == ["p.json"]
    assert json.loads(path.read_text("utf-8"))["format"] == "outcomes.profiles"
