"""Conversation follow-ups: verdicts, abstention, idempotent signals, measured accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.errors import ValidationError
from outcomes.inference.conversation import (
    ConversationSignals,
    FollowUp,
    FollowUpVerdict,
    RuleClassifier,
    evaluate,
    similarity,
)
from outcomes.records import ConversationVerdict as V
from outcomes.testing import FakeClock

DATA = Path(__file__).parent / "data" / "conversation_followups.jsonl"
Q = "How do I sort a list of dicts by a key in Python?"
R = "Use sorted(items, key=lambda d: d['age'])."


def load(split: str) -> list[tuple[FollowUp, V]]:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    return [
        (FollowUp(r["question"], r["response"], r["next"], r["after"]), V(r["label"]))
        for r in rows
        if r["split"] == split
    ]


class Recorder:
    def __init__(self) -> None:
        self.signals: dict[str, object] = {}

    def record_signal(self, signal: object) -> bool:
        sid = signal.signal_id
        new = sid not in self.signals
        self.signals[sid] = signal
        return new


def classify(next_message: str | None, after: str | None = None) -> FollowUpVerdict:
    return RuleClassifier().classify(FollowUp(Q, R, next_message, after))


def test_labeled_set_is_large_varied_and_split() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 250
    assert {r["label"] for r in rows} == {v.value for v in V}
    assert {r["lang"] for r in rows} >= {"en", "de", "fr", "es"}
    assert sum(r["split"] == "holdout" for r in rows) >= 80
    assert len({r["id"] for r in rows}) == len(rows)


def test_accuracy_floor_on_the_rules_development_split() -> None:
    result = evaluate(RuleClassifier(), load("dev"))
    assert result.total >= 180
    assert result.accuracy >= 0.93


def test_accuracy_floor_on_the_held_out_split() -> None:
    # Written before the rules; never used to tune them (see docs/signals.md).
    result = evaluate(RuleClassifier(), load("holdout"))
    assert result.total >= 80
    assert result.accuracy >= 0.72
    assert result.committed_precision() >= 0.88, "when it commits, it is usually right"


def test_accuracy_floor_on_the_fresh_split() -> None:
    # Written after the first rules (which scored 0.50 on it, blind); the second round of
    # rules was written on new dev examples by the same author, so this is not blind.
    result = evaluate(RuleClassifier(), load("fresh"))
    assert result.total >= 45
    assert result.accuracy >= 0.75


def test_silence_is_inconclusive() -> None:
    got = classify(None)
    assert got.verdict is V.INCONCLUSIVE
    assert got.quality is None


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Thanks, that works!", V.ACCEPTED),
        ("Great, and how do I sort descending?", V.ACCEPTED),
        ("That's wrong, I get a KeyError", V.REJECTED),
        ("Thanks, but it doesn't work for nested keys.", V.REJECTED),
        ("Works after I changed it to d.get('age', 0)", V.ACCEPTED_WITH_EDITS),
        ("how do I sort a list of dicts by a key in python", V.REJECTED),
        ("Danke, hat funktioniert!", V.ACCEPTED),
        ("No funciona, me sale un error.", V.REJECTED),
        ("What's the capital of Peru?", V.INCONCLUSIVE),
        ("let me try", V.INCONCLUSIVE),
    ],
)
def test_typical_follow_ups(message: str, expected: V) -> None:
    assert classify(message).verdict is expected


def test_code_pasted_back_with_edits_reads_accepted_with_edits() -> None:
    response = "def area(r):\n    import math\n    return math.pi * r * r\n"
    pasted = "def area(r):\n    import math\n    return math.pi * r ** 2\n"
    got = RuleClassifier().classify(FollowUp("area of a circle?", response, pasted))
    assert got.verdict is V.ACCEPTED_WITH_EDITS
    assert "code_pasted_with_edits" in got.cues


def test_turn_after_next_resolves_a_waiting_follow_up() -> None:
    assert classify("ok let me try").verdict is V.INCONCLUSIVE
    assert classify("ok let me try", "nope, still fails").verdict is V.REJECTED
    assert classify("one sec", "that fixed it, thanks").verdict is V.ACCEPTED


def test_similarity_is_symmetric_and_bounded() -> None:
    assert similarity(Q, Q) == 1.0
    assert similarity("", Q) == 0.0
    assert similarity("sort dicts python", Q) == similarity(Q, "sort dicts python")


def test_observe_emits_one_idempotent_signal_without_text() -> None:
    sink = Recorder()
    signals = ConversationSignals(sink, clock=FakeClock(1000.0))
    verdict, signal = signals.observe(
        "trace-1", question=Q, response=R, next_message="That's wrong, secret-plan-X fails"
    )
    again = signals.observe(
        "trace-1", question=Q, response=R, next_message="That's wrong, secret-plan-X fails"
    )
    assert verdict.verdict is V.REJECTED
    assert signal.kind == "conversation"
    assert signal.verdict == "rejected"
    assert again[1].signal_id == signal.signal_id
    assert len(sink.signals) == 1
    assert "secret-plan-X" not in repr(signal)


def test_a_user_can_bring_their_own_classifier() -> None:
    class Always:
        def classify(self, followup: FollowUp) -> FollowUpVerdict:
            return FollowUpVerdict(V.ACCEPTED, 0.8, ("model",))

    _, signal = ConversationSignals(classifier=Always()).observe(
        "t", question=None, response=None, next_message="anything"
    )
    assert (signal.verdict, signal.confidence, signal.detail) == ("accepted", 0.8, "model")


def test_bad_input_is_a_validation_error() -> None:
    signals = ConversationSignals()
    with pytest.raises(ValidationError):
        signals.observe("", question=None, response=None, next_message="x")
    with pytest.raises(ValidationError):
        signals.observe("t", question=None, response=None, next_message=42)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=400)),
    st.one_of(st.none(), st.text(max_size=400)),
    st.one_of(st.none(), st.text(max_size=2000)),
    st.one_of(st.none(), st.text(max_size=400)),
)
def test_any_text_gives_a_valid_verdict(
    q: str | None, r: str | None, n: str | None, a: str | None
) -> None:
    got = RuleClassifier().classify(FollowUp(q, r, n, a))
    assert got.verdict in set(V)
    assert 0.0 <= got.confidence <= 1.0


def test_huge_message_is_handled() -> None:
    got = classify("thanks " + "x" * 1_000_000)
    assert got.verdict in set(V)
