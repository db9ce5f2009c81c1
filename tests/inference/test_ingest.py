"""Ingest from outside Python: events applied, bad lines reported by number, idempotent."""

from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.inference import OutcomeTracker, ingest_lines, ingest_stream, rebuild
from outcomes.store import MemoryStore
from outcomes.testing import FakeClock, receipts


def lines(*events: dict[str, object]) -> list[str]:
    return [json.dumps(e) for e in events]


def test_a_replay_keeps_its_own_timestamps_and_resolves_signals() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, clock=FakeClock(2_000_000_000.0), strict=True)
    report = ingest_lines(
        tracker,
        lines(
            {"event": "start", "trace_id": "a", "model_id": "m", "task": "code",
             "timestamp": 1_500_000_100},
            {"event": "complete", "trace_id": "a", "latency_ms": 5, "output_tokens": 3,
             "timestamp": 1_500_000_101},
            {"event": "signal", "trace_id": "a", "signal_id": "s", "kind": "code",
             "verdict": "ignored", "timestamp": 1_500_000_160},
            {"event": "complete", "trace_id": "a", "latency_ms": 5, "timestamp": 1_500_000_102},
        ),
    )  # fmt: skip
    assert (report.applied, report.ignored, report.invalid) == (3, 1, 0)
    tracker.flush()
    rs = receipts(store)
    assert [(r.source, r.timestamp, r.success) for r in rs] == [
        ("complete", 1_500_000_101.0, True),
        ("signal", 1_500_000_160.0, False),
    ]
    assert tracker.clock.now() == 2_000_000_000.0  # the replay clock is gone afterwards
    tracker.close()


def test_ingesting_twice_into_one_store_adds_nothing() -> None:
    store = MemoryStore()
    events = lines(
        {"event": "complete", "trace_id": "x", "model_id": "m", "task": "code", "latency_ms": 3,
         "output_tokens": 1},
        {"event": "failure", "trace_id": "y", "model_id": "m", "task": "code", "error": "500"},
        {"event": "signal", "trace_id": "x", "signal_id": "sx", "kind": "conversation",
         "verdict": "rejected", "confidence": 0.9},
    )  # fmt: skip
    for _ in range(2):
        tracker = OutcomeTracker(store, strict=True)
        report = ingest_lines(tracker, events)
        tracker.close()
    assert report.invalid == 0
    state = rebuild(store)
    (cell,) = state.parts.values()
    assert (cell.calls, cell.successes, cell.failures) == (2, 0, 2)
    assert len(receipts(store)) == 3


def test_bytes_streams_and_invalid_utf8_are_reported_by_line() -> None:
    data = (
        b'{"event": "complete", "trace_id": "a", "model_id": "m", "task": "t", "latency_ms": 1}\n'
        b"\xff\xfe\n"
        b"\n"
        b'{"event": "signal", "trace_id": "a", "kind": "k", "verdict": "success"}\n'
        b"[1, 2]\n"
        b'{"event": "start", "trace_id": "b", "model_id": "m", "task": "t", "extra": 1}\n'
    )
    report = ingest_stream(OutcomeTracker(strict=True), io.BytesIO(data))
    assert report.applied == 2  # the start with an unknown field is kept, the field dropped
    assert [(p.line, p.reason.split(":")[0]) for p in report.problems] == [
        (2, "invalid UTF-8 at byte 0"),
        (4, "signal_id"),
        (5, "Expected `object`, got `array`"),
    ]
    assert report.to_json()["invalid"] == 3
    assert (report.extra_fields, dict(report.extra_names)) == (1, {"extra": 1})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=80), st.binary(max_size=80)), max_size=20))
def test_garbage_never_raises_and_every_line_is_accounted_for(raw: list[str | bytes]) -> None:
    tracker = OutcomeTracker(strict=True)
    report = ingest_lines(tracker, [r.replace("\n", " ") if isinstance(r, str) else r for r in raw])
    blank = sum(
        1 for r in raw if not (r.decode("utf-8", "replace") if isinstance(r, bytes) else r).strip()
    )
    assert report.applied + report.ignored + report.invalid + blank >= len(raw) - blank
    assert report.applied + report.ignored + report.invalid <= len(raw)
