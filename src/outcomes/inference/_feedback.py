"""Open feedback on a call: scores, labels, thumbs, ids, tags and small metadata.

Feedback that applications already produce (a judge's 0.7, a thumbs-down, a "correct"
label, the user and session it came from, tags) is taken as it is and turned into the
call's outcome by one documented rule (:func:`feedback_outcome`, ``docs/integrations.md``
"Feedback"):

- ``score`` in a declared range ``(lo, hi)`` (default ``(0, 1)``) gives the quality
  ``(score - lo) / (hi - lo)``, and success when that quality is at least one half;
- ``thumbs`` gives success (up) or failure (down), and quality 1 or 0 when no score
  does;
- a ``label`` from the tracker's vocabulary (:data:`DEFAULT_LABELS`, extensible) gives
  what neither of the others gave; a label outside it is stored but says nothing.

The outcome supersedes the call's latest receipt like any signal (``source="feedback"``),
idempotently by ``signal_id``. Everything else (ids, tags, metadata, the raw values) is
stored in the ``feedback`` table, and each tag once per call in ``trace_tags``, which is
what profiles filter on (:mod:`._filter`). No free text beyond a few capped, redacted
metadata strings: feedback carries no prompt or answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from outcomes._ids import derived_id, new_id
from outcomes._redact import redact, refuse_secret
from outcomes._validate import check_task
from outcomes.errors import ValidationError
from outcomes.inference._context import TrackerContext
from outcomes.inference._feedback_schema import FeedbackRecord, TraceTag
from outcomes.inference._resolution import SignalResolution
from outcomes.inference._validate import check_label, check_trace_id

MAX_TAGS = 20
"""Tags one feedback may carry."""
MAX_ID_CHARS = 128
"""Longest user or session id (an id, not free text)."""
MAX_METADATA_KEYS = 16
MAX_METADATA_VALUE_CHARS = 256
"""A metadata string longer than this is cut (and redacted like every stored text)."""
MAX_METADATA_BYTES = 4096
"""Encoded size limit of one feedback's metadata."""
SUCCESS_AT = 0.5
"""A normalized score at or above this is a success."""

Outcome = tuple[bool | None, float | None]
"""(success, quality) a piece of feedback says; ``(None, None)`` says nothing."""

_GOOD: Outcome = (True, 1.0)
_BAD: Outcome = (False, 0.0)
DEFAULT_LABELS: Mapping[str, Outcome] = {
    **dict.fromkeys(
        ("accepted", "correct", "good", "helpful", "pass", "positive", "success"), _GOOD
    ),
    "accepted_with_edits": (True, 0.7),
    **dict.fromkeys(
        ("bad", "fail", "failure", "incorrect", "negative", "rejected", "unhelpful"), _BAD
    ),
    **dict.fromkeys(("inconclusive", "neutral", "unknown"), (None, None)),
}
"""The label vocabulary (matched case-insensitively): what each label says about the
call. ``tracker.feedback_labels`` may add or replace entries."""


def check_score_range(score_range: object) -> tuple[float, float]:
    """``(lo, hi)`` as floats, finite with ``lo < hi``; else raise ``ValidationError``."""
    if not isinstance(score_range, tuple | list) or len(score_range) != 2:
        raise ValidationError("must be a pair (low, high)", where="score_range")
    lo, hi = (_finite(v, "score_range") for v in score_range)
    if not lo < hi:
        raise ValidationError(f"low {lo} must be below high {hi}", where="score_range")
    return lo, hi


def _finite(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"{where} must be a finite number, got {value!r}", where=where)
    return float(value)


def feedback_outcome(
    *,
    score: float | None = None,
    score_range: tuple[float, float] = (0.0, 1.0),
    label: str | None = None,
    thumbs: bool | None = None,
    labels: Mapping[str, Outcome] = DEFAULT_LABELS,
) -> Outcome:
    """(success, quality) that one piece of feedback says about its call.

    Quality comes from the score (normalized into [0, 1] by ``score_range``), else from
    thumbs (1 or 0), else from the label. Success comes from thumbs, else from the label,
    else from the normalized score (``>= 0.5``). A label outside ``labels`` says nothing.
    Raises :class:`ValidationError` for a score outside its range or a non-bool thumbs.
    """
    quality: float | None = None
    success: bool | None = None
    if score is not None:
        lo, hi = check_score_range(score_range)
        value = _finite(score, "score")
        if not lo <= value <= hi:
            raise ValidationError(
                f"{value} is outside the declared score_range [{lo}, {hi}]", where="score"
            )
        quality = (value - lo) / (hi - lo)
    if thumbs is not None:
        if not isinstance(thumbs, bool):
            raise ValidationError(f"thumbs must be true or false, got {thumbs!r}", where="thumbs")
        success = thumbs
        if quality is None:
            quality = 1.0 if thumbs else 0.0
    if label is not None:
        said = labels.get(label.lower())
        if said is not None:
            if success is None:
                success = said[0]
            if quality is None:
                quality = said[1]
    if success is None and quality is not None and score is not None:
        success = quality >= SUCCESS_AT
    return success, quality


def check_tags(tags: object) -> tuple[str, ...]:
    """Distinct tags in the order given: each 1-64 letters, digits or ``_.:/-``."""
    if tags is None:
        return ()
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise ValidationError("tags must be a list of strings", where="tags")
    out: dict[str, None] = {}
    for i, tag in enumerate(tags):
        where = f"tags[{i}]"
        if not isinstance(tag, str):
            raise ValidationError(f"{where} must be a string", where=where)
        try:
            check_task(tag, where)
        except ValidationError:
            raise ValidationError(
                f"{tag[:64]!r} must be 1-64 letters, digits or _.:/- "
                "starting alphanumeric", where=where,
            ) from None  # fmt: skip
        out[refuse_secret(tag, where)] = None
    if len(out) > MAX_TAGS:
        raise ValidationError(f"at most {MAX_TAGS} tags, got {len(out)}", where="tags")
    return tuple(out)


def check_metadata(metadata: object) -> dict[str, Any] | None:
    """A small flat mapping of labels to scalars; strings are redacted and cut."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise ValidationError("metadata must be an object of scalar values", where="metadata")
    if len(metadata) > MAX_METADATA_KEYS:
        raise ValidationError(
            f"metadata has {len(metadata)} keys, at most {MAX_METADATA_KEYS}", where="metadata"
        )
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        name = check_label(key, "metadata key", optional=False)
        assert name is not None
        where = f"metadata.{name[:64]}"
        if value is None or isinstance(value, bool | int):
            out[name] = value
        elif isinstance(value, float):
            out[name] = _finite(value, where)
        elif isinstance(value, str):
            out[name] = redact(value, MAX_METADATA_VALUE_CHARS)
        else:
            raise ValidationError(f"{where} must be a string, number, boolean or null", where=where)
    if len(json.dumps(out, ensure_ascii=False)) > MAX_METADATA_BYTES:
        raise ValidationError(
            f"metadata is larger than {MAX_METADATA_BYTES} bytes", where="metadata"
        )
    return out


def _check_id(value: object, where: str) -> str | None:
    checked = check_label(value, where)
    if checked is not None and len(checked) > MAX_ID_CHARS:
        raise ValidationError(f"{where} is longer than {MAX_ID_CHARS} characters", where=where)
    return checked


class FeedbackDesk:
    """Takes feedback for one tracker: checks it, applies its outcome through
    ``signals`` and hands the stored rows to ``submit`` (the writer's, if any)."""

    def __init__(
        self,
        ctx: TrackerContext,
        signals: SignalResolution,
        submit: Callable[[Any], object] | None,
    ) -> None:
        self._ctx = ctx
        self._signals = signals
        self._submit = submit
        self.labels: dict[str, Outcome] = dict(DEFAULT_LABELS)

    def give(self, trace_id: str, fields: Mapping[str, Any]) -> bool:
        """Record one piece of feedback (``fields`` are :meth:`OutcomeTracker.feedback`'s
        keywords); returns whether it was taken (False for invalid input, feedback with
        nothing in it, or a ``signal_id`` already applied)."""
        try:
            record = self._check(trace_id, fields)
        except (ValidationError, ValueError, TypeError) as exc:
            self._ctx.reject(exc, "feedback with invalid input")
            return False
        if record is None:
            return False
        if record.signal_id is not None and self._signals.seen(record.signal_id):
            return False  # a repeated delivery: already taken once
        applied = False
        if record.success is not None or record.quality is not None:
            applied = self._signals.resolve(
                record.trace_id, record.success, record.quality, record.signal_id,
                source="feedback",
            )  # fmt: skip
        if self._submit is not None:
            self._submit(replace(record, applied=applied))
            for tag in record.tags.split(",") if record.tags else ():
                self._submit(
                    TraceTag(derived_id("trace_tag", record.trace_id, tag), record.trace_id,
                             tag, record.timestamp)
                )  # fmt: skip
        return True

    def _check(self, trace_id: str, f: Mapping[str, Any]) -> FeedbackRecord | None:
        trace_id = check_trace_id(trace_id)
        signal_id = check_label(f.get("signal_id"), "signal_id")
        label = check_label(f.get("label"), "label")
        score, thumbs = f.get("score"), f.get("thumbs")
        lo, hi = check_score_range(f.get("score_range", (0.0, 1.0)))
        success, quality = feedback_outcome(
            score=score, score_range=(lo, hi), label=label, thumbs=thumbs, labels=self.labels
        )
        tags = check_tags(f.get("tags"))
        metadata = check_metadata(f.get("metadata"))
        user_id = _check_id(f.get("user_id"), "user_id")
        session_id = _check_id(f.get("session_id"), "session_id")
        given = (score, label, thumbs, user_id, session_id)
        if all(v is None for v in given) and not tags and not metadata:
            return None
        fid = derived_id("inference.feedback", signal_id) if signal_id else new_id()
        return FeedbackRecord(
            fid, trace_id, self._ctx.clock.now(),
            None if score is None else float(score), lo if score is not None else None,
            hi if score is not None else None, label, thumbs, user_id, session_id,
            ",".join(tags), metadata, success, quality, False, signal_id,
        )  # fmt: skip
