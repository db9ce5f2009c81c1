"""Feed the tracker from outside Python: JSON lines of lifecycle events.

One JSON object per line, ``"event"`` one of ``start``, ``complete``, ``failure``,
``signal``, ``feedback`` (see ``docs/ingest.md``): a tagged union of frozen ``msgspec`` Structs,
decoded and checked by :mod:`outcomes._validate` in one step (types, ranges, 64-bit
counts, finite numbers, sane timestamps, the id/label character rule). Fields a line
carries that its event does not know are dropped and counted, not fatal, so a newer
writer can add fields. Events may carry a ``timestamp`` (Unix seconds) so a log replay
keeps its own time. Bad lines are reported with their 1-based line number and skipped;
good ones are kept. Idempotent: receipt ids derive from trace and signal ids, so
ingesting the same file twice adds nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Annotated, Any

import msgspec

from outcomes import _validate
from outcomes._safejson import bounded_lines
from outcomes._validate import (
    Count64,
    Id,
    Label,
    NonNegative,
    Probability,
    TaskName,
    Text,
    Timestamp,
)
from outcomes.errors import ValidationError
from outcomes.inference._tracker import OutcomeTracker
from outcomes.records import Receipt, Signal

MAX_LINE_BYTES = 64 * 1024
MAX_PROBLEMS = 100
MAX_EXTRA_NAMES = 20
"""Distinct unknown field names kept by name in a report (all are counted)."""


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", gc=False,
             forbid_unknown_fields=True):  # fmt: skip
    """Fields every event has. ``v`` is accepted for lines written with a version."""

    trace_id: Id
    timestamp: Timestamp | None = None
    v: int | None = None


class _Call(_Event, frozen=True, kw_only=True):
    """What opens a call: needed on ``start``, and on ``complete``/``failure`` lines of a
    call started in another run."""

    model_id: Label | None = None
    task: TaskName | None = None
    routing_reason: Text | None = None
    project_id: Label | None = None
    intent: Label | None = None


class StartEvent(_Call, frozen=True, kw_only=True, tag="start"):
    model_id: Label
    task: TaskName
    propensity: Probability | None = None


class CompleteEvent(_Call, frozen=True, kw_only=True, tag="complete"):
    latency_ms: NonNegative
    input_tokens: Count64 = 0
    output_tokens: Count64 = 0
    cost_usd: NonNegative | None = None


class FailureEvent(_Call, frozen=True, kw_only=True, tag="failure"):
    error: Text
    retry_after: NonNegative | None = None
    latency_ms: NonNegative | None = None


class SignalEvent(_Event, frozen=True, kw_only=True, tag="signal"):
    signal_id: Id
    kind: Label
    verdict: Label
    confidence: Probability | None = None


Finite = Annotated[float, msgspec.Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
"""A finite number (NaN and the infinities fail both bounds)."""
Scalar = str | int | float | bool | None


class FeedbackEvent(_Event, frozen=True, kw_only=True, tag="feedback"):
    """Open feedback on a call (:meth:`OutcomeTracker.feedback`); ``score_range`` is a
    pair ``[low, high]``, default ``[0, 1]``."""

    score: Finite | None = None
    score_range: tuple[Finite, Finite] | None = None
    label: Label | None = None
    thumbs: bool | None = None
    user_id: Id | None = None
    session_id: Id | None = None
    tags: Annotated[list[str], msgspec.Meta(max_length=64)] | None = None
    metadata: dict[str, Scalar] | None = None
    signal_id: Id | None = None


Event = StartEvent | CompleteEvent | FailureEvent | SignalEvent | FeedbackEvent
"""One ingest line, by its ``"event"`` tag."""

_BY_TAG: dict[str, type[_Event]] = {
    str(cls.__struct_config__.tag): cls
    for cls in (StartEvent, CompleteEvent, FailureEvent, SignalEvent, FeedbackEvent)
}


@dataclass
class IngestProblem:
    line: int
    reason: str


@dataclass
class IngestReport:
    """What an ingest did.

    ``applied`` counts events that changed something, ``ignored`` valid events that
    changed nothing (a duplicate signal, a second completion of one call), ``invalid``
    lines skipped. ``extra_fields`` counts fields dropped because their event does not
    know them (by name in ``extra_names``, the first :data:`MAX_EXTRA_NAMES`).
    ``receipts_stored`` and ``receipts_lost`` say what the writer committed of the
    receipts this ingest produced (new ones; duplicates of stored ones are neither), once
    :func:`ingest_lines` has flushed it; ``receipts_lost`` is never silently non-zero.
    """

    lines: int = 0
    applied: int = 0
    ignored: int = 0
    invalid: int = 0
    extra_fields: int = 0
    extra_names: Counter[str] = field(default_factory=Counter)
    receipts_stored: int = 0
    receipts_lost: int = 0
    problems: list[IngestProblem] = field(default_factory=list)

    def problem(self, line: int, reason: str) -> None:
        self.invalid += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(IngestProblem(line, reason))

    def dropped(self, names: Iterable[str]) -> None:
        for name in names:
            self.extra_fields += 1
            if name in self.extra_names or len(self.extra_names) < MAX_EXTRA_NAMES:
                self.extra_names[name] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "applied": self.applied,
            "ignored": self.ignored,
            "invalid": self.invalid,
            "extra_fields": self.extra_fields,
            "extra_names": dict(self.extra_names),
            "receipts_stored": self.receipts_stored,
            "receipts_lost": self.receipts_lost,
            "problems": [{"line": p.line, "reason": p.reason} for p in self.problems],
        }


class EventClock:
    """The tracker's clock while events apply: the event's own time (``at``) when it has
    one, else the tracker's own clock (the ingest command and the HTTP events endpoint)."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback
        self.at: float | None = None

    def now(self) -> float:
        return self.at if self.at is not None else float(self.fallback.now())

    def apply(self, tracker: OutcomeTracker, event: Event) -> bool:
        """Apply ``event`` through ``tracker`` at the event's own time; whether it changed
        anything (see :func:`apply_event`)."""
        self.at = event.timestamp
        return apply_event(tracker, event)


@contextmanager
def event_time(tracker: OutcomeTracker) -> Iterator[EventClock]:
    """Swap the tracker's clock for an :class:`EventClock` while the block applies
    events (set its ``at`` per event); the tracker's own clock is back afterwards."""
    own = tracker.clock
    clock = EventClock(own)
    tracker.clock = clock
    try:
        yield clock
    finally:
        tracker.clock = own


def decode_event(line: bytes | str) -> tuple[Event, tuple[str, ...]]:
    """Decode one ingest line into its event; returns it and the names of the fields it
    carried that the event does not know (dropped).

    Raises :class:`ValidationError` naming the field at fault.
    """
    try:
        return _validate.decode(line, Event), ()  # type: ignore[arg-type]
    except ValidationError as exc:
        if not exc.reason.startswith("Object contains unknown field"):
            raise
    # The rare line with extra fields: decode it loosely, keep what the event knows.
    return _from_object(_validate.decode(line, dict))


def _from_object(data: Mapping[str, Any]) -> tuple[Event, tuple[str, ...]]:
    """The event of a parsed JSON object, and the names of the fields it does not know."""
    cls = _BY_TAG.get(str(data.get("event")))
    known = set() if cls is None else {*cls.__struct_fields__, "event"}
    extras = tuple(sorted(k for k in data if cls is not None and k not in known))
    kept = {k: v for k, v in data.items() if cls is None or k in known}
    event: Event = _validate.convert(kept, Event)  # type: ignore[arg-type]
    return event, extras


def apply_event(tracker: OutcomeTracker, event: Event | Mapping[str, Any]) -> bool:
    """Apply one event (decoded, or a parsed JSON object that is checked here); returns
    whether it changed anything.

    Raises :class:`ValidationError` for an invalid event, one the tracker refuses (the
    tracker must be strict) or a completion of an unknown call without ``model_id`` and
    ``task``.
    """
    if not isinstance(event, _Event):  # a Struct check, cheaper than one for Mapping
        event, _ = _from_object(event)
    if isinstance(event, _FINISH):
        return _finish(tracker, event)
    trace_id = event.trace_id
    if isinstance(event, StartEvent):
        tracker.record_start(
            event.model_id, event.task, event.routing_reason or "",
            project_id=event.project_id, intent=event.intent,
            propensity=event.propensity, trace_id=trace_id,
        )  # fmt: skip
        return True
    if isinstance(event, SignalEvent):
        signal = Signal(
            event.signal_id, trace_id, event.kind, event.verdict, tracker.clock.now(),
            event.confidence,
        )  # fmt: skip
        return tracker.record_signal(signal)
    assert isinstance(event, FeedbackEvent)
    return tracker.feedback(
        trace_id, score=event.score, score_range=event.score_range or (0.0, 1.0),
        label=event.label, thumbs=event.thumbs, user_id=event.user_id,
        session_id=event.session_id, tags=event.tags, metadata=event.metadata,
        signal_id=event.signal_id,
    )  # fmt: skip


_FINISH = (CompleteEvent, FailureEvent)


def apply_events(
    tracker: OutcomeTracker,
    clock: EventClock,
    events: Sequence[Event],
    *,
    plain_ascii: bool,
    refused: Callable[[int, ValidationError], object],
) -> tuple[int, int]:
    """Check (:func:`outcomes._validate.finish`) and apply decoded ``events`` in order, on
    ``clock`` (from :func:`event_time`); returns how many changed something and how many
    did not, and calls ``refused(k, error)`` for event ``k`` when it is refused.

    What :meth:`EventClock.apply` does to each, with the batch's common line, a
    ``complete`` of a call new to this process that names its model and task, taken
    straight to the call lifecycle (what :func:`_finish` ends in, without the calls in
    between), its receipt handed to the writer with the other receipts of its run of
    such lines (one queue step, not one per event). Receipts still reach the writer in
    the order of their events: a run is emitted before any other event applies.
    """
    calls = tracker._calls  # the tracker's own room, in this wing
    pending, recent, start = calls.pending, calls.recent, calls.start
    finish = _validate.finish
    out: list[Receipt] = []
    accepted = ignored = 0
    try:
        for k, event in enumerate(events):
            try:
                finish(event, plain_ascii=plain_ascii)
                trace_id = event.trace_id
                if (
                    event.__class__ is CompleteEvent
                    and event.model_id is not None
                    and event.task is not None
                    and trace_id not in pending
                    and trace_id not in recent
                ):
                    clock.at = event.timestamp
                    start(
                        event.model_id, event.task, event.routing_reason or "",
                        event.project_id, event.intent, None, trace_id,
                        (float(event.latency_ms), event.input_tokens, event.output_tokens,
                         event.cost_usd, None),
                        out,
                    )  # fmt: skip
                    accepted += 1
                    continue
                if out:
                    calls.emit_all(out)
                    out.clear()
                changed = clock.apply(tracker, event)
            except ValidationError as exc:
                refused(k, exc)
                continue
            if changed:
                accepted += 1
            else:
                ignored += 1
    finally:
        # Whatever happens, a call recorded here reaches the writer (it is pending now:
        # a resend would be taken as a repeat).
        if out:
            calls.emit_all(out)
    return accepted, ignored


def _finish(tracker: OutcomeTracker, event: CompleteEvent | FailureEvent) -> bool:
    """A ``complete`` or ``failure`` line: of a call started earlier in this run, or one
    started elsewhere (then the line carries ``model_id`` and ``task``)."""
    trace_id = event.trace_id
    completed = tracker.pending_completed(trace_id)
    if completed is None:
        if tracker.is_resolved(trace_id):
            return False  # a repeat of a call already resolved in this run
        if event.model_id is None or event.task is None:
            raise ValidationError(
                f"unknown trace {trace_id!r}: send its start first, or give model_id and task",
                where="trace_id",
            )
        if isinstance(event, CompleteEvent):
            # The common line of a batch: the whole call in one step.
            tracker.record_call(
                event.model_id, event.task, float(event.latency_ms), event.input_tokens,
                event.output_tokens, event.routing_reason or "", cost_usd=event.cost_usd,
                project_id=event.project_id, intent=event.intent, trace_id=trace_id,
            )  # fmt: skip
            return True
        tracker.record_start(
            event.model_id, event.task, event.routing_reason or "",
            project_id=event.project_id, intent=event.intent, trace_id=trace_id,
        )  # fmt: skip
    if isinstance(event, CompleteEvent):
        if completed:
            return False
        tracker.record_complete(
            trace_id, float(event.latency_ms), event.input_tokens, event.output_tokens,
            cost_usd=event.cost_usd,
        )  # fmt: skip
        return True
    tracker.record_failure(
        trace_id, event.error, retry_after=event.retry_after, latency_ms=event.latency_ms
    )
    return True


def _writer_counts(tracker: OutcomeTracker) -> tuple[int, int]:
    """(committed new, lost) receipts of the tracker's writer so far."""
    if tracker.writer is None:
        return 0, 0
    stats = tracker.writer.stats()
    return stats.written, stats.failed + stats.dropped


def ingest_lines(tracker: OutcomeTracker, lines: Iterable[bytes | str | None]) -> IngestReport:
    """Apply every good line through ``tracker``; report bad ones by line number.

    ``tracker`` should be strict (``OutcomeTracker(store, strict=True)``) so that invalid
    values are reported rather than logged. ``None`` stands for a line that was too long
    to read (see :func:`ingest_stream`). When the tracker has a writer, it is flushed at
    the end and the report says how many receipts were committed and lost.
    """
    report = IngestReport()
    written_before, lost_before = _writer_counts(tracker)
    with event_time(tracker) as clock:
        for number, raw in enumerate(lines, start=1):
            report.lines = number
            if raw is None or len(raw) > MAX_LINE_BYTES:
                report.problem(number, f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            if not raw.strip():
                continue
            try:
                event, extras = decode_event(raw)
                changed = clock.apply(tracker, event)
            except ValidationError as exc:
                report.problem(number, str(exc))
                continue
            report.dropped(extras)
            if changed:
                report.applied += 1
            else:
                report.ignored += 1
    if tracker.writer is not None:
        tracker.flush(None)
        written, lost = _writer_counts(tracker)
        report.receipts_stored = written - written_before
        report.receipts_lost = lost - lost_before
    return report


def ingest_stream(tracker: OutcomeTracker, stream: IO[bytes]) -> IngestReport:
    """Ingest a byte stream of JSON lines (a file or stdin).

    The line limit is enforced while reading: an over-long line is skipped without ever
    being held in memory whole, whatever its length.
    """
    return ingest_lines(tracker, (raw for _, raw, _ in bounded_lines(stream, MAX_LINE_BYTES)))
