"""Conversation follow-ups: verdicts, abstention, idempotent signals, measured accuracy."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.errors import ValidationError
from outcomes.inference._conversation_calibration import CAP, calibrated, fit
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

DATA_DIR = Path(__file__).parent / "data"
DATA = DATA_DIR / "conversation_followups.jsonl"
LANGUAGES = {"en", "de", "es", "pt", "fr", "ru", "zh", "ja"}
Q = "How do I sort a list of dicts by a key in Python?"
R = "Use sorted(items, key=lambda d: d['age'])."


def rows_of(name: str) -> list[dict[str, object]]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def load(split: str, name: str = "conversation_followups.jsonl") -> list[tuple[FollowUp, V]]:
    return [
        (FollowUp(r["question"], r["response"], r["next"], r["after"]), V(r["label"]))  # type: ignore[arg-type]
        for r in rows_of(name)
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


@pytest.mark.parametrize(
    ("name", "per_label_per_language"),
    [
        ("conversation_dev.jsonl", 8),
        ("conversation_calib.jsonl", 5),
        ("conversation_blind.jsonl", 6),
    ],
)
def test_issue_20_sets_are_balanced_over_labels_and_eight_languages(
    name: str, per_label_per_language: int
) -> None:
    rows = rows_of(name)
    counts: dict[tuple[object, object], int] = {}
    for r in rows:
        counts[r["lang"], r["label"]] = counts.get((r["lang"], r["label"]), 0) + 1
    assert {lang for lang, _ in counts} == LANGUAGES
    assert {label for _, label in counts} == {v.value for v in V}
    assert all(n >= per_label_per_language for n in counts.values())
    assert len({r["id"] for r in rows}) == len(rows)


def test_accuracy_floor_on_the_rules_development_split() -> None:
    result = evaluate(RuleClassifier(), load("dev"))
    assert result.total >= 180
    assert result.accuracy >= 0.93


def test_accuracy_floor_on_the_issue_20_development_set() -> None:
    result = evaluate(RuleClassifier(), load("dev", "conversation_dev.jsonl"))
    assert result.total == 320
    assert result.accuracy >= 0.95
    assert result.committed_precision() >= 0.95


def test_accuracy_floor_on_the_calibration_set() -> None:
    # Never used to write a rule; the confidence curve and threshold were fitted on it.
    result = evaluate(RuleClassifier(), load("calib", "conversation_calib.jsonl"))
    assert result.accuracy >= 0.80
    assert result.committed_precision() >= 0.90


def test_accuracy_floor_on_the_held_out_split() -> None:
    # Written before the rules; never used to tune them (see docs/signals.md).
    result = evaluate(RuleClassifier(), load("holdout"))
    assert result.total >= 80
    assert result.accuracy >= 0.85
    assert result.committed_precision() >= 0.88, "when it commits, it is usually right"


def test_accuracy_floor_on_the_fresh_split() -> None:
    # Written after the first rules (which scored 0.50 on it, blind); the second round of
    # rules was written on new dev examples by the same author, so this is not blind.
    result = evaluate(RuleClassifier(), load("fresh"))
    assert result.total >= 45
    assert result.accuracy >= 0.85


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


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # sarcasm: praise, then what broke
        ("wow great, it also deleted the active log", V.REJECTED),
        ("oh perfect, now nothing compiles", V.REJECTED),
        ("thanks a lot, now every row is null", V.REJECTED),
        # questions and new requests carry no verdict unless they say one
        ("does this also work for OrderedDict?", V.INCONCLUSIVE),
        ("ok now do the same for median", V.INCONCLUSIVE),
        ("would this work with pydantic models?", V.INCONCLUSIVE),
        ("works, now do the same for median", V.ACCEPTED),
        ("why does it still fail on empty lists?", V.REJECTED),
        # an edit beside a thanks is an edit
        ("works, I just bumped the interval", V.ACCEPTED_WITH_EDITS),
        ("thanks! had to add a None check, fine now", V.ACCEPTED_WITH_EDITS),
        # clear messages it used to abstain on
        ("still broken", V.REJECTED),
        ("same error as before", V.REJECTED),
        ("worsk now thnx", V.ACCEPTED),
        ("doesnt wrok", V.REJECTED),
        ("Traceback (most recent call last):\n  File 'a.py', line 3\nKeyError: 'age'", V.REJECTED),
        ("error[E0308]: mismatched types\n --> src/main.rs:4:5", V.REJECTED),
        # failures said to be over are acceptance
        ("cors error gone 🎉", V.ACCEPTED),
        ("no more crashes, thanks", V.ACCEPTED),
        # naming errors is not reporting one
        ("how do I handle errors in that?", V.INCONCLUSIVE),
        ("great, how do I handle errors in that?", V.ACCEPTED),
    ],
)
def test_the_failure_kinds_of_issue_20(message: str, expected: V) -> None:
    assert classify(message).verdict is expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Danke, läuft jetzt!", V.ACCEPTED),
        ("funktioniert immer noch nicht", V.REJECTED),
        ("gracias, aunque cambié el 30 por 40", V.ACCEPTED_WITH_EDITS),
        ("valeu, funcionou!", V.ACCEPTED),
        ("continua dando o mesmo erro", V.REJECTED),
        ("funcionou, só troquei o nome da coluna", V.ACCEPTED_WITH_EDITS),
        ("ça ne marche pas", V.REJECTED),
        ("спасибо, работает", V.ACCEPTED),
        ("всё ещё падает", V.REJECTED),
        ("работает, но я поменял порт", V.ACCEPTED_WITH_EDITS),
        ("а это работает с большими файлами?", V.INCONCLUSIVE),
        ("谢谢，可以了", V.ACCEPTED),
        ("还是不行", V.REJECTED),
        ("可以了，我把 lambda 改成了 itemgetter", V.ACCEPTED_WITH_EDITS),
        ("这个对嵌套字典也有效吗？", V.INCONCLUSIVE),
        ("ありがとうございます、動きました", V.ACCEPTED),
        ("まだ直りません", V.REJECTED),
        ("少し修正して使いました", V.ACCEPTED_WITH_EDITS),
        ("これは辞書でも使えますか？", V.INCONCLUSIVE),
    ],
)
def test_the_listed_languages(message: str, expected: V) -> None:
    assert classify(message).verdict is expected


def test_typo_correction_leaves_real_words_alone() -> None:
    assert classify("in other words, what is a fork?").verdict is V.INCONCLUSIVE
    assert classify("write a function to check primes").verdict is not V.ACCEPTED


def test_confidence_grows_with_the_evidence_and_is_capped() -> None:
    weak = classify("thanks")
    strong = classify("thanks, works perfectly, exactly what I needed 👍")
    assert weak.verdict is strong.verdict is V.ACCEPTED
    assert 0.6 <= weak.confidence < strong.confidence <= CAP


def test_the_calibration_fit_recovers_a_known_curve() -> None:
    rng = random.Random(7)
    points = []
    for _ in range(4000):
        strength = rng.uniform(0.0, 4.0)
        p = 1 / (1 + math.exp(-(2.0 * strength - 3.0)))
        points.append((strength, rng.random() < p))
    slope, intercept = fit(points)
    assert slope == pytest.approx(2.0, abs=0.3)
    assert intercept == pytest.approx(-3.0, abs=0.4)
    assert calibrated(0.0, (slope, intercept)) < calibrated(3.0, (slope, intercept))


def test_the_calibration_fit_survives_separable_and_empty_data() -> None:
    for points in ([(1.0, True), (2.0, True)], [(0.5, False), (3.0, True)], []):
        slope, intercept = fit(points)
        assert math.isfinite(slope)
        assert math.isfinite(intercept)


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
