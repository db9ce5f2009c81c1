"""Conversation follow-ups: what the user's next turn says about the previous response.

Given the question, the response, the user's next message (and optionally the one after
it), a :class:`FollowUpClassifier` infers a
:class:`~outcomes.records.ConversationVerdict` with a confidence. The texts are used in
memory only: nothing here stores or logs them, and the signal that reaches the tracker
carries the verdict, the confidence and the names of the cues that fired.

The default :class:`RuleClassifier` reads failures, corrections, re-asks, edits and
acceptance clause by clause in English, German, Spanish, Portuguese, French, Russian,
Chinese and Japanese (:mod:`outcomes.inference._conversation_rules`); questions and new
requests carry no verdict, sarcasm and pasted errors are failures. Its confidence is
calibrated on held-out follow-ups and it abstains (``inconclusive``) below 0.6.
:class:`outcomes.inference.judge.ModelJudge` asks the user's own model when the rules
abstain; or bring any classifier through the one-method :class:`FollowUpClassifier`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._ids import derived_id
from outcomes._table import Table
from outcomes.errors import ValidationError
from outcomes.inference._conversation_calibration import (
    ABSTAIN_BELOW,
    CALIBRATION,
    Curve,
    calibrated,
)
from outcomes.inference._conversation_cues import STOPWORDS
from outcomes.inference._conversation_rules import MAX_TEXT_CHARS, Evidence, read_message
from outcomes.inference._conversation_schema import MIGRATIONS
from outcomes.records import ConversationVerdict, Signal
from outcomes.store import Store

SIGNAL_KIND = "conversation"
_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One exchange and what came after it. ``next_message`` ``None`` means silence."""

    question: str | None
    response: str | None
    next_message: str | None
    after_next: str | None = None


@dataclass(frozen=True, slots=True)
class FollowUpVerdict:
    """A verdict, the confidence in it (0-1) and the cues that produced it (names only)."""

    verdict: ConversationVerdict
    confidence: float
    cues: tuple[str, ...] = field(default=())

    @property
    def quality(self) -> float | None:
        return self.verdict.quality(self.confidence)


class FollowUpClassifier(Protocol):
    """Anything that can judge a follow-up: the rules below, or a model you bring."""

    def classify(self, followup: FollowUp) -> FollowUpVerdict: ...


def _words(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS or len(w) < 2:
            continue
        out.append(w[:-1] if len(w) > 4 and w.endswith("s") else w)
    return out


def similarity(a: str, b: str) -> float:
    """Overlap of content words (Dice coefficient on sets), 0-1."""
    wa, wb = set(_words(a)), set(_words(b))
    if not wa or not wb:
        return 0.0
    return 2 * len(wa & wb) / (len(wa) + len(wb))


def decide(evidence: Evidence) -> tuple[ConversationVerdict, float]:
    """The verdict the evidence points to and its strength (0 when there is none).

    A reported failure outweighs praise and edits beside it ("thanks, but it still
    fails"; sarcasm); an edit beside an acceptance is an acceptance with edits.
    """
    accept, edit, reject = evidence.accept, evidence.edit, evidence.reject
    if "sarcasm_marker" in evidence.cues and reject > 0:
        reject, accept = reject + 1.0, 0.0
    if "waiting" in evidence.cues and not (reject or edit) and accept <= 0.8:
        return ConversationVerdict.INCONCLUSIVE, 0.0
    if reject >= 1.0 and reject >= 0.5 * (accept + edit):
        return ConversationVerdict.REJECTED, reject - 0.3 * (accept + edit)
    if edit > 0:
        return ConversationVerdict.ACCEPTED_WITH_EDITS, edit + 0.5 * accept - reject
    if accept > 0:
        return ConversationVerdict.ACCEPTED, accept - reject
    return ConversationVerdict.INCONCLUSIVE, 0.0


@dataclass(frozen=True, slots=True)
class Reading:
    """What the rules read in a follow-up before calibration: verdict, strength, cues."""

    verdict: ConversationVerdict
    strength: float
    cues: tuple[str, ...]


class RuleClassifier:
    """Cue-based classifier with abstention; deterministic and dependency-free.

    The confidence of a verdict is its strength mapped through ``calibration`` (fitted on
    held-out follow-ups, see :mod:`outcomes.inference._conversation_calibration`);
    under ``abstain_below`` it answers ``inconclusive`` rather than commit.
    ``reask_at`` is the similarity to the question that reads as a re-ask.
    """

    def __init__(
        self,
        *,
        abstain_below: float = ABSTAIN_BELOW,
        reask_at: float = 0.55,
        calibration: Curve = CALIBRATION,
    ) -> None:
        self.abstain_below = abstain_below
        self.reask_at = reask_at
        self.calibration = calibration

    def classify(self, followup: FollowUp) -> FollowUpVerdict:
        first = self._verdict(
            self.read(followup.question, followup.response, followup.next_message)
        )
        if followup.after_next is None or first.verdict is not ConversationVerdict.INCONCLUSIVE:
            return first
        second = self._verdict(self.read(followup.question, followup.response, followup.after_next))
        if second.verdict is ConversationVerdict.INCONCLUSIVE:
            return first
        return FollowUpVerdict(second.verdict, second.confidence, ("after_next", *second.cues))

    def _verdict(self, reading: Reading) -> FollowUpVerdict:
        if reading.verdict is ConversationVerdict.INCONCLUSIVE:
            return FollowUpVerdict(reading.verdict, 0.0, reading.cues)
        confidence = calibrated(reading.strength, self.calibration)
        if confidence < self.abstain_below:
            return FollowUpVerdict(
                ConversationVerdict.INCONCLUSIVE, 0.0, (*reading.cues, "abstained")
            )
        return FollowUpVerdict(reading.verdict, confidence, reading.cues)

    def read(self, question: str | None, response: str | None, message: str | None) -> Reading:
        """The uncalibrated reading of one message (``message`` ``None``: silence)."""
        if message is None or not message.strip():
            return Reading(ConversationVerdict.INCONCLUSIVE, 0.0, ("silence",))
        evidence = read_message(message, response)
        if question and not evidence.accept:
            sim = similarity(question, message[:MAX_TEXT_CHARS])
            if sim >= self.reask_at:
                evidence.reject += 1.5 + sim
                evidence.note("re_ask")
        verdict, strength = decide(evidence)
        return Reading(verdict, strength, tuple(evidence.cues) or ("no_cue",))


DEFAULT_CLASSIFIER = RuleClassifier()


class SignalSink(Protocol):
    """Where conversation signals go: the inference tracker's ``record_signal``."""

    def record_signal(self, signal: Signal) -> Any: ...


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """One stored conversation verdict: no text, only the verdict and the cue names."""

    signal_id: str
    trace_id: str
    verdict: str
    confidence: float
    cues: str
    turns: int
    timestamp: float

    __table__: ClassVar[Table[ConversationRecord]]


ConversationRecord.__table__ = Table.of(
    "conversation_verdicts", ConversationRecord, key="signal_id"
)


class ConversationSignals:
    """Turn follow-ups into idempotent conversation signals on a call.

    The signal id derives from the trace id and how many follow-up turns were seen, so
    observing the same follow-up twice counts once, and a later look that includes the
    turn after next may refine it (the tracker supersedes the earlier receipt).
    ``sink`` (the tracker) receives committed verdicts; an ``inconclusive`` one carries
    no evidence and is only logged. With a ``store``, every verdict is logged in the
    ``conversation_verdicts`` table (what ``outcomes signals`` lists).
    """

    def __init__(
        self,
        sink: SignalSink | None = None,
        *,
        store: Store | None = None,
        classifier: FollowUpClassifier = DEFAULT_CLASSIFIER,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.sink = sink
        self.store = store
        self.classifier = classifier
        self.clock = clock
        if store is not None:
            store.migrate(MIGRATIONS)

    def recent(self, limit: int | None = 50) -> list[ConversationRecord]:
        """The latest logged verdicts, newest first (empty without a store)."""
        if self.store is None:
            return []
        return list(
            self.store.scan(
                ConversationRecord.__table__, order_by="timestamp", descending=True, limit=limit
            )
        )

    def observe(
        self,
        trace_id: str,
        *,
        question: str | None,
        response: str | None,
        next_message: str | None,
        after_next: str | None = None,
    ) -> tuple[FollowUpVerdict, Signal]:
        """Classify the follow-up of call ``trace_id`` and deliver the signal to the sink.

        Raises :class:`~outcomes.errors.ValidationError` for a non-string message or an
        empty trace id. The texts are not kept.
        """
        if not isinstance(trace_id, str) or not trace_id:
            raise ValidationError("trace_id must be a non-empty string", where="observe.trace_id")
        for name, value in (
            ("question", question),
            ("response", response),
            ("next_message", next_message),
            ("after_next", after_next),
        ):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{name} must be a string or None", where=f"observe.{name}")
        result = self.classifier.classify(FollowUp(question, response, next_message, after_next))
        if not 0.0 <= result.confidence <= 1.0:
            raise ValidationError(
                f"classifier returned confidence {result.confidence!r} outside [0, 1]",
                where="observe.confidence",
            )
        turns = 0 if next_message is None else (2 if after_next is not None else 1)
        signal = Signal(
            signal_id=derived_id("conversation", trace_id, str(turns)),
            trace_id=trace_id,
            kind=SIGNAL_KIND,
            verdict=result.verdict.value,
            timestamp=self.clock.now(),
            confidence=result.confidence,
            detail=",".join(result.cues) or None,
        )
        if self.sink is not None and result.verdict is not ConversationVerdict.INCONCLUSIVE:
            self.sink.record_signal(signal)
        if self.store is not None:
            self.store.write(
                [
                    ConversationRecord(
                        signal.signal_id,
                        trace_id,
                        result.verdict.value,
                        result.confidence,
                        signal.detail or "",
                        turns,
                        signal.timestamp,
                    )
                ]
            )
        return result, signal


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Accuracy and confusion matrix of a classifier on labeled follow-ups."""

    total: int
    correct: int
    confusion: dict[str, dict[str, int]]
    """``confusion[true][predicted]`` counts."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def committed_precision(self) -> float:
        """Accuracy on the examples where the classifier did not abstain."""
        inc = ConversationVerdict.INCONCLUSIVE.value
        made = sum(n for row in self.confusion.values() for p, n in row.items() if p != inc)
        right = sum(row.get(t, 0) for t, row in self.confusion.items() if t != inc)
        return right / made if made else 0.0


def evaluate(
    classifier: FollowUpClassifier, examples: Sequence[tuple[FollowUp, ConversationVerdict]]
) -> Evaluation:
    """Score ``classifier`` on ``(followup, true verdict)`` pairs."""
    labels = [v.value for v in ConversationVerdict]
    confusion = {t: dict.fromkeys(labels, 0) for t in labels}
    correct = 0
    for followup, truth in examples:
        got = classifier.classify(followup).verdict
        confusion[truth.value][got.value] += 1
        correct += got is truth
    return Evaluation(len(examples), correct, confusion)
