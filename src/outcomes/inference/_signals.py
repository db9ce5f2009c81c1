"""Verdicts and what they mean for a call: success, failure or unknown, and a quality."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from outcomes.errors import ValidationError
from outcomes.records import CodeVerdict, ConversationVerdict, Signal

_GENERIC = {"success": (True, None), "failure": (False, None), "inconclusive": (None, None)}


@dataclass(frozen=True, slots=True)
class InferredOutcome:
    """A conversation verdict with its confidence (``InferredOutcome`` of the earlier
    Rust tracker, same name and fields)."""

    verdict: ConversationVerdict
    confidence: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", ConversationVerdict(self.verdict))
        check_confidence(self.confidence)

    @classmethod
    def accepted(cls, confidence: float) -> InferredOutcome:
        return cls(ConversationVerdict.ACCEPTED, confidence)

    @classmethod
    def accepted_with_edits(cls, confidence: float) -> InferredOutcome:
        return cls(ConversationVerdict.ACCEPTED_WITH_EDITS, confidence)

    @classmethod
    def rejected(cls, confidence: float) -> InferredOutcome:
        return cls(ConversationVerdict.REJECTED, confidence)

    @classmethod
    def inconclusive(cls) -> InferredOutcome:
        return cls(ConversationVerdict.INCONCLUSIVE, 0.0)

    def quality_score(self) -> float | None:
        return self.verdict.quality(self.confidence)

    def is_success(self) -> bool | None:
        return self.verdict.is_success()


def check_confidence(value: object, where: str = "confidence") -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise ValidationError(f"{where} must be a number in [0, 1], got {value!r}", where=where)
    return float(value)


def outcome_of(signal: Signal) -> tuple[bool | None, float | None]:
    """(success, quality) that ``signal`` says about its call.

    ``conversation`` verdicts use :meth:`ConversationVerdict.quality` (confidence default
    1.0); ``code`` verdicts :meth:`CodeVerdict.quality`. Any other kind may use either
    vocabulary, or ``success``/``failure``/``inconclusive`` with an optional confidence
    as the quality.
    """
    verdict = signal.verdict
    conf = 1.0 if signal.confidence is None else check_confidence(signal.confidence)
    if signal.kind != "code" and verdict in ConversationVerdict._value2member_map_:
        cv = ConversationVerdict(verdict)
        return cv.is_success(), cv.quality(conf)
    if signal.kind != "conversation" and verdict in CodeVerdict._value2member_map_:
        code = CodeVerdict(verdict)
        return code.is_success(), code.quality()
    if signal.kind not in ("code", "conversation") and verdict in _GENERIC:
        ok, _ = _GENERIC[verdict]
        quality = None if signal.confidence is None or ok is None else conf
        return ok, quality
    raise ValidationError(
        f"unknown verdict {verdict!r} for a {signal.kind!r} signal", where="verdict"
    )


ActionResult = tuple[str, bool, float, str]
"""(trace_id, success, confidence, output) of one action in a reasoning session."""


def infer_from_action_sequence(
    action_results: Sequence[ActionResult],
) -> list[tuple[str, InferredOutcome]]:
    """The earlier tracker's rules, unchanged so its callers get the same verdicts: a failed
    action is rejected; an action with output is accepted when
    the next action succeeded (or it is last), accepted with edits (confidence x 0.7) when
    the next one failed; an action without output is inconclusive. Empty trace ids skip.
    The output text is only tested for emptiness, never kept.
    """
    out: list[tuple[str, InferredOutcome]] = []
    for i, (trace_id, success, confidence, output) in enumerate(action_results):
        if not trace_id:
            continue
        if not success:
            out.append((trace_id, InferredOutcome.rejected(confidence)))
            continue
        next_ok = action_results[i + 1][1] if i + 1 < len(action_results) else True
        has_output = bool(output.strip())
        if has_output and next_ok:
            out.append((trace_id, InferredOutcome.accepted(confidence)))
        elif has_output:
            out.append((trace_id, InferredOutcome.accepted_with_edits(confidence * 0.7)))
        else:
            out.append((trace_id, InferredOutcome.inconclusive()))
    return out
