"""Hostile ingest lines: what the store cannot hold is refused at the edge, by field.

Every value an ingest line can carry is checked by the one decoder (``outcomes._validate``)
against what SQLite and PostgreSQL hold: 64-bit integers, finite numbers, timestamps in
2000-2200, ids and labels without invisible characters. A line that passes is stored: the
report's receipt counts are what the writer committed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from outcomes.inference import OutcomeTracker, ingest_lines
from outcomes.records import Receipt
from outcomes.store import MemoryStore
from outcomes.testing import receipts

START = {"event": "start", "trace_id": "t1", "model_id": "m", "task": "code"}
DONE = {"event": "complete", "trace_id": "t1", "latency_ms": 5, "model_id": "m", "task": "code"}


def run(*objs: dict[str, Any] | str) -> tuple[Any, MemoryStore]:
    store = MemoryStore()
    tracker = OutcomeTracker(store, strict=True)
    lines = [o if isinstance(o, str) else json.dumps(o) for o in objs]
    report = ingest_lines(tracker, lines)
    tracker.close()
    return report, store


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ({**DONE, "input_tokens": 10**30}, "input_tokens"),
        ({**DONE, "output_tokens": 2**63}, "output_tokens"),
        ({**DONE, "output_tokens": 1e30}, "output_tokens"),
        ({**DONE, "output_tokens": -1}, "output_tokens"),
        (json.dumps(DONE).replace('"latency_ms": 5', '"latency_ms": 1e309'), "latency_ms"),
        ({**DONE, "cost_usd": -0.5}, "cost_usd"),
        ({**DONE, "timestamp": -1}, "timestamp"),
        ({**DONE, "timestamp": -1e18}, "timestamp"),
        ({**DONE, "timestamp": 1e300}, "timestamp"),
        ({**DONE, "timestamp": 1_700_000_000_000}, "timestamp"),  # milliseconds by mistake
        ({**DONE, "latency_ms": "5"}, "latency_ms"),
        ({**DONE, "latency_ms": True}, "latency_ms"),
        ({**DONE, "trace_id": ["t1"]}, "trace_id"),
        ({**START, "propensity": 1.5}, "propensity"),
        ({**START, "model_id": "gpt\u202e4o"}, "model_id"),  # right-to-left override
        ({**START, "model_id": "gpt\u200b4o"}, "model_id"),  # zero-width space
        ({**START, "model_id": "gpt-4o\u2066"}, "model_id"),  # bidi isolate
        ({**START, "project_id": "web\x00"}, "project_id"),
        ({**START, "intent": "\u3164"}, "intent"),  # Hangul filler: renders as nothing
        ({**START, "task": "has spaces"}, "task"),
        ({**START, "model_id": "m" * 257}, "model_id"),
        ({**START, "trace_id": ""}, "trace_id"),
        (
            {
                "event": "signal",
                "trace_id": "t1",
                "signal_id": "s\u200d",
                "kind": "conversation",
                "verdict": "accepted",
            },
            "signal_id",
        ),
        ({**START, "event": "begin"}, "event"),
        ({k: v for k, v in START.items() if k != "model_id"}, "model_id"),
    ],
)
def test_values_the_store_cannot_hold_are_refused_with_their_field(
    line: dict[str, Any] | str, where: str
) -> None:
    report, store = run(line)
    assert report.invalid == 1, report.problems
    assert report.problems[0].reason.startswith(where), report.problems[0].reason
    assert receipts(store) == []


def test_nan_and_infinity_literals_are_refused() -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        report, _ = run(json.dumps(DONE).replace('"latency_ms": 5', f'"latency_ms": {literal}'))
        assert report.invalid == 1
        assert "invalid JSON" in report.problems[0].reason


def test_deep_nesting_is_a_bad_line_not_a_crash() -> None:
    deep = json.dumps(DONE)[:-1] + ', "extra": ' + "[" * 30_000 + "]" * 30_000 + "}"
    report, store = run(deep, json.dumps({**DONE, "trace_id": "t2"}))
    assert report.lines == 2
    assert report.applied + report.invalid == 2
    assert {r.trace_id for r in receipts(store)} >= {"t2"}


def test_a_full_width_model_id_is_the_same_model_as_its_ascii_form() -> None:
    report, store = run(
        {**START, "model_id": "\uff47\uff50\uff54-4o"},  # "ｇｐｔ-4o"
        {**DONE, "trace_id": "t1", "model_id": "gpt-4o"},
        {**DONE, "trace_id": "t2", "model_id": "gpt-4o"},
    )
    assert report.invalid == 0
    assert {r.model_id for r in receipts(store)} == {"gpt-4o"}


def test_the_largest_values_the_store_holds_are_accepted_and_stored() -> None:
    line = {**DONE, "input_tokens": 2**63 - 1, "output_tokens": 1, "timestamp": 7_258_118_399}
    report, store = run(line)
    assert (report.invalid, report.applied, report.receipts_stored) == (0, 1, 1)
    (r,) = receipts(store)
    assert r.input_tokens == 2**63 - 1


def test_unknown_fields_are_dropped_and_counted_not_fatal() -> None:
    report, store = run({**DONE, "span_kind": "client", "x": {"nested": [1, 2]}})
    assert (report.invalid, report.applied, report.extra_fields) == (0, 1, 2)
    assert dict(report.extra_names) == {"span_kind": 1, "x": 1}
    assert len(receipts(store)) == 1
    assert report.to_json()["extra_fields"] == 2


def test_applied_counts_match_what_was_committed() -> None:
    report, store = run(DONE, {**DONE, "trace_id": "t2"}, {**DONE, "input_tokens": 10**30})
    assert (report.applied, report.invalid) == (2, 1)
    assert report.receipts_stored == store.count(Receipt.__table__) == 2
    assert report.receipts_lost == 0
