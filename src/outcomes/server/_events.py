"""``POST /v1/events``: the lifecycle events of ``outcomes ingest``, over HTTP.

The body is a JSON array of event objects or NDJSON (one object per line), the same
lines ``outcomes ingest`` reads (``docs/ingest.md``), decoded by the same decoder
(:func:`outcomes.inference.decode_event`). Each item is accepted, ignored (valid but
changing nothing: a repeat) or rejected with its reason; good items are kept whatever
the others are. The answer is sent only once the writer has committed every receipt
the request produced, so a 200 means stored: a client that gets no answer (timeout,
lost connection, a killed server) sends the batch again, and the repeat adds nothing
because receipt ids derive from trace and signal ids.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from outcomes import _validate
from outcomes.errors import ValidationError
from outcomes.inference import OutcomeTracker
from outcomes.inference._ingest import (
    MAX_LINE_BYTES,
    Event,
    EventClock,
    FeedbackEvent,
    apply_events,
    decode_event,
    event_time,
)
from outcomes.server._errors import ApiError
from outcomes.server._limits import ServerLimits, check_items

MAX_REASONS = 1000
"""Rejected items listed by index and reason in one answer (all are counted)."""

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-seq")


@dataclass
class WriteReport:
    """What a write request did, per item: ``index`` is the item's 0-based position in
    the array, or its line number minus one in NDJSON (blank lines are skipped)."""

    received: int = 0
    accepted: int = 0
    ignored: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0
    dropped_fields: int = 0
    ids: list[dict[str, Any]] = field(default_factory=list)
    """``{"index", "id"}`` of each accepted item that got an id (shadow observations)."""

    def reject(self, index: int, reason: str, where: str | None = None) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REASONS:
            self.rejected.append({"index": index, "reason": reason, "where": where})

    def to_json(self) -> dict[str, Any]:
        ids = {"ids": self.ids} if self.ids else {}
        return ids | {
            "received": self.received,
            "accepted": self.accepted,
            "ignored": self.ignored,
            "rejected": self.rejected_count,
            "dropped_fields": self.dropped_fields,
            "problems": self.rejected,
        }


def is_array(body: bytes, content_type: str) -> bool:
    """Whether ``body`` is read as one JSON array (else as NDJSON lines)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in NDJSON_TYPES:
        return False
    return media == "application/json" or body.lstrip().startswith(b"[")


@dataclass
class Decoded:
    """The events of a batch decoded in one pass; ``indexes[k]`` is event ``k``'s item
    index (NDJSON: blank lines are skipped but keep their numbers), ``None`` for an
    array (event ``k`` is item ``k``)."""

    events: list[Event]
    indexes: list[int] | None = None
    plain_ascii: bool = False
    """The body held no escape, DEL or non-ASCII byte (:func:`outcomes._validate.plain_ascii`)."""


def decode_batch(body: bytes, content_type: str, items: list[bytes]) -> Decoded | None:
    """Every event of a JSON array or NDJSON body decoded in one pass (the common,
    all-good batch), or ``None`` when any item is too long, invalid or carries an unknown
    field: then each item is decoded alone so that each is reported on its own. The field
    checks (:func:`outcomes._validate.finish`) still run per item, in :func:`apply_items`."""
    if any(len(raw) > MAX_LINE_BYTES for raw in items):
        return None
    array = is_array(body, content_type)
    try:
        events: list[Event] = (
            _validate.decoder(list[Event])(body) if array else _validate.lines_decoder(Event)(body)  # type: ignore[arg-type]
        )
    except (msgspec.MsgspecError, RecursionError):
        return None
    # The items are the body's text but JSON's own punctuation and blanks (all plain).
    ascii_only = _validate.plain_ascii(body)
    if array:
        return Decoded(events, None, ascii_only) if len(events) == len(items) else None
    # decode_lines skips lines of JSON whitespace; a line that bytes.strip() finds blank
    # but JSON does not (a form feed) makes the counts differ: then items go one by one.
    indexes = [i for i, line in enumerate(items) if line.strip()]
    return Decoded(events, indexes, ascii_only) if len(events) == len(indexes) else None


def split_items(body: bytes, content_type: str, limits: ServerLimits) -> list[bytes]:
    """The raw JSON text of each item of a JSON array or NDJSON body.

    A JSON array is split by the decoder without building the items (``msgspec.Raw``);
    raises :class:`ApiError` (422) when the body as a whole is not an array or lines.
    """
    try:
        # C speed; a body that is not UTF-8 is not JSON at all (ASCII is UTF-8: the
        # common body is only scanned, not decoded into a string).
        if not body.isascii():
            body.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise ApiError(422, f"invalid UTF-8 at byte {bad.start}") from None
    stripped = body.lstrip()
    if not is_array(body, content_type):
        lines = body.split(b"\n")  # blank lines are kept (and skipped): index = line - 1
        check_items(sum(1 for line in lines if line.strip()), limits)
        return lines
    if not stripped.startswith(b"["):
        raise ApiError(422, "the body must be a JSON array of events, or NDJSON lines")
    try:
        raws = _validate.decode(body, list[msgspec.Raw])
    except ValidationError as exc:
        raise ApiError(422, exc.reason, where=exc.where) from None
    check_items(len(raws), limits)
    return [bytes(raw) for raw in raws]


Decoder = Callable[[bytes], tuple[Event, tuple[str, ...]]]


def decode_feedback(raw: bytes) -> tuple[Event, tuple[str, ...]]:
    """A ``POST /v1/feedback`` item: a feedback event, its ``"event"`` tag optional."""
    return _validate.decode(raw, FeedbackEvent), ()


def apply_items(
    tracker: OutcomeTracker,
    lock: threading.Lock,
    items: list[bytes],
    decode: Decoder = decode_event,
    decoded: Decoded | None = None,
) -> WriteReport:
    """Decode and apply each item under ``lock`` (the tracker's clock is swapped while a
    batch replays its own timestamps); returns the per-item report. Does not flush.

    ``decoded`` are the items already decoded (:func:`decode_batch`): only their field
    checks run here."""
    report = WriteReport()
    with lock, event_time(tracker) as clock:
        if decoded is not None:
            _apply_decoded(tracker, clock, decoded, report)
        else:
            for index, raw in enumerate(items):
                _apply_one(tracker, clock, index, raw, report, decode)
    return report


def _apply_one(
    tracker: OutcomeTracker, clock: EventClock, index: int, raw: bytes, report: WriteReport,
    decode: Decoder,
) -> None:  # fmt: skip
    if not raw.strip():
        return
    report.received += 1
    if len(raw) > MAX_LINE_BYTES:
        report.reject(index, f"event longer than {MAX_LINE_BYTES} bytes")
        return
    try:
        event, extras = decode(raw)
        changed = clock.apply(tracker, event)
    except ValidationError as exc:
        report.reject(index, exc.reason, exc.where)
        return
    report.dropped_fields += len(extras)
    if changed:
        report.accepted += 1
    else:
        report.ignored += 1


def _apply_decoded(
    tracker: OutcomeTracker, clock: EventClock, decoded: Decoded, report: WriteReport
) -> None:
    """:func:`_apply_one` for events decoded together: the same checks and report (the
    trace ids checked in one pass for the whole batch, the events applied by
    :func:`outcomes.inference._ingest.apply_events`)."""
    indexes = decoded.indexes

    def refused(k: int, exc: ValidationError) -> None:
        report.reject(k if indexes is None else indexes[k], exc.reason, exc.where)

    events = decoded.events
    with tracker.checked_trace_ids([e.trace_id for e in events]):
        accepted, ignored = apply_events(
            tracker, clock, events, plain_ascii=decoded.plain_ascii, refused=refused
        )
    report.received += len(events)
    report.accepted += accepted
    report.ignored += ignored
