"""Feed the tracker from outside Python: JSON lines of lifecycle events.

One JSON object per line, ``"event"`` one of ``start``, ``complete``, ``failure``,
``signal`` (see ``docs/ingest.md``). Events may carry a ``timestamp`` (Unix seconds) so a
log replay keeps its own time. Bad lines are reported with their 1-based line number and
skipped; good ones are kept. Idempotent: receipt ids derive from trace and signal ids, so
ingesting the same file twice adds nothing the second time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from outcomes._safejson import bounded_lines, loads
from outcomes.errors import ValidationError
from outcomes.inference._tracker import OutcomeTracker
from outcomes.records import Signal

MAX_LINE_BYTES = 64 * 1024
MAX_PROBLEMS = 100

_FIELDS: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "start": {
        "trace_id": (str, True),
        "model_id": (str, True),
        "task": (str, True),
        "routing_reason": (str, False),
        "project_id": (str, False),
        "intent": (str, False),
        "propensity": ((int, float), False),
    },
    "complete": {
        "trace_id": (str, True),
        "latency_ms": ((int, float), True),
        "input_tokens": (int, False),
        "output_tokens": (int, False),
        "cost_usd": ((int, float), False),
        "model_id": (str, False),
        "task": (str, False),
        "routing_reason": (str, False),
        "project_id": (str, False),
        "intent": (str, False),
    },
    "failure": {
        "trace_id": (str, True),
        "error": (str, True),
        "retry_after": ((int, float), False),
        "latency_ms": ((int, float), False),
        "model_id": (str, False),
        "task": (str, False),
        "routing_reason": (str, False),
        "project_id": (str, False),
        "intent": (str, False),
    },
    "signal": {
        "trace_id": (str, True),
        "signal_id": (str, True),
        "kind": (str, True),
        "verdict": (str, True),
        "confidence": ((int, float), False),
    },
}
_COMMON = {"event", "timestamp", "v"}


@dataclass
class IngestProblem:
    line: int
    reason: str


@dataclass
class IngestReport:
    """What an ingest did. ``ignored`` counts valid events that changed nothing
    (a duplicate signal, a second completion of one call)."""

    lines: int = 0
    applied: int = 0
    ignored: int = 0
    invalid: int = 0
    problems: list[IngestProblem] = field(default_factory=list)

    def problem(self, line: int, reason: str) -> None:
        self.invalid += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(IngestProblem(line, reason))

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "applied": self.applied,
            "ignored": self.ignored,
            "invalid": self.invalid,
            "problems": [{"line": p.line, "reason": p.reason} for p in self.problems],
        }


class _ReplayClock:
    """Event time when the line has one, else the tracker's own clock."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback
        self.at: float | None = None

    def now(self) -> float:
        return self.at if self.at is not None else float(self.fallback.now())


def _check(obj: Mapping[str, Any]) -> str:
    event = obj.get("event")
    if event not in _FIELDS:
        raise ValidationError(
            f"'event' must be one of {sorted(_FIELDS)}, got {event!r}", where="event"
        )
    spec = _FIELDS[event]
    unknown = set(obj) - set(spec) - _COMMON
    if unknown:
        raise ValidationError(f"unknown field(s) {sorted(unknown)} for a {event} event")
    for name, (kind, required) in spec.items():
        if name not in obj or obj[name] is None:
            if required:
                raise ValidationError(f"field {name!r} is required", where=name)
            continue
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ValidationError(f"field {name!r} has the wrong type", where=name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"field {name!r} must be finite", where=name)
    ts = obj.get("timestamp")
    if ts is not None and (
        isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts) or ts < 0
    ):
        raise ValidationError("field 'timestamp' must be Unix seconds >= 0", where="timestamp")
    return str(event)


def apply_event(tracker: OutcomeTracker, obj: Mapping[str, Any]) -> bool:
    """Apply one validated event; returns whether it changed anything.

    Raises :class:`ValidationError` for an invalid event (the tracker must be strict).
    """
    event = _check(obj)
    trace_id = obj["trace_id"]
    if event == "start":
        tracker.record_start(
            obj["model_id"], obj["task"], obj.get("routing_reason") or "",
            project_id=obj.get("project_id"), intent=obj.get("intent"),
            propensity=obj.get("propensity"), trace_id=trace_id,
        )  # fmt: skip
        return True
    if event in ("complete", "failure") and tracker.get_pending(trace_id) is None:
        if tracker.is_resolved(trace_id):
            return False  # a repeat of a call already resolved in this run
        if "model_id" not in obj or "task" not in obj:
            raise ValidationError(
                f"unknown trace {trace_id!r}: send its start first, or give model_id and task",
                where="trace_id",
            )
        tracker.record_start(
            obj["model_id"], obj["task"], obj.get("routing_reason") or "",
            project_id=obj.get("project_id"), intent=obj.get("intent"), trace_id=trace_id,
        )  # fmt: skip
    if event == "complete":
        call = tracker.get_pending(trace_id)
        if call is not None and call.completed_at is not None:
            return False
        latency = obj["latency_ms"]
        cost = obj.get("cost_usd")
        tracker.record_complete(
            trace_id, float(latency), obj.get("input_tokens", 0), obj.get("output_tokens", 0),
            cost_usd=None if cost is None else float(cost),
        )  # fmt: skip
        return True
    if event == "failure":
        retry = obj.get("retry_after")
        latency = obj.get("latency_ms")
        tracker.record_failure(
            trace_id, obj["error"], retry_after=None if retry is None else float(retry),
            latency_ms=None if latency is None else float(latency),
        )  # fmt: skip
        return True
    confidence = obj.get("confidence")
    signal = Signal(
        obj["signal_id"], trace_id, obj["kind"], obj["verdict"], tracker.clock.now(),
        None if confidence is None else float(confidence),
    )  # fmt: skip
    return tracker.record_signal(signal)


def ingest_lines(tracker: OutcomeTracker, lines: Iterable[bytes | str | None]) -> IngestReport:
    """Apply every good line through ``tracker``; report bad ones by line number.

    ``tracker`` should be strict (``OutcomeTracker(store, strict=True)``) so that invalid
    values are reported rather than logged. ``None`` stands for a line that was too long
    to read (see :func:`ingest_stream`).
    """
    report = IngestReport()
    clock = _ReplayClock(tracker.clock)
    own_clock = tracker.clock
    tracker.clock = clock
    try:
        for number, raw in enumerate(lines, start=1):
            report.lines = number
            if raw is None or len(raw) > MAX_LINE_BYTES:
                report.problem(number, f"line longer than {MAX_LINE_BYTES} bytes")
                continue
            try:
                text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                if not text.strip():
                    continue
                obj = loads(text)
                if not isinstance(obj, dict):
                    raise ValidationError("expected a JSON object")
                ts = obj.get("timestamp")
                clock.at = None
                if isinstance(ts, int | float) and not isinstance(ts, bool):
                    clock.at = float(ts)
                if apply_event(tracker, obj):
                    report.applied += 1
                else:
                    report.ignored += 1
            except (ValidationError, ValueError, TypeError, UnicodeDecodeError) as exc:
                reason = "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else str(exc)
                report.problem(number, reason)
    finally:
        tracker.clock = own_clock
    return report


def ingest_stream(tracker: OutcomeTracker, stream: IO[bytes]) -> IngestReport:
    """Ingest a byte stream of JSON lines (a file or stdin).

    The line limit is enforced while reading: an over-long line is skipped without ever
    being held in memory whole, whatever its length.
    """
    return ingest_lines(tracker, (raw for _, raw, _ in bounded_lines(stream, MAX_LINE_BYTES)))
