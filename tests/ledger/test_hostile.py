"""Hostile ledger lines, and the promise that ``ledger import`` and ``ledger verify`` agree.

Both apply the field types of ``Receipt`` (one decoder): a line that imports always
verifies, and a stored receipt that verify flags could not have been imported.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.ledger import import_jsonl, verify
from outcomes.records import Receipt
from outcomes.store import MemoryStore
from outcomes.testing import receipts

BASE = Receipt(
    receipt_id="r1", trace_id="t1", model_id="m", task="code", timestamp=1_700_000_000.0
).to_json()


def import_one(line: bytes) -> tuple[Any, MemoryStore]:
    store = MemoryStore()
    return import_jsonl(store, io.BytesIO(line + b"\n")), store


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"input_tokens": 10**30}, "input_tokens"),
        ({"output_tokens": 2**63}, "output_tokens"),
        ({"timestamp": -1}, "timestamp"),
        ({"timestamp": -1e18}, "timestamp"),
        ({"timestamp": 1e300}, "timestamp"),
        ({"superseded_at": 5.0}, "superseded_at"),
        ({"quality": 1.0000001}, "quality"),
        ({"latency_ms": "fast"}, "latency_ms"),
        ({"success": 1}, "success"),
        ({"model_id": "gpt\u202e4o"}, "model_id"),
        ({"model_id": "gpt\u200b4o"}, "model_id"),
        ({"receipt_id": "r\ufeff1"}, "receipt_id"),
        ({"project_id": "p\x07"}, "project_id"),
        ({"trace_id": "x" * 129}, "trace_id"),
        ({"task": "a b"}, "task"),
        ({"v": 2}, "v"),
    ],
)
def test_values_a_store_cannot_hold_are_skipped_with_their_field(
    changes: dict[str, Any], field: str
) -> None:
    report, store = import_one(json.dumps({**BASE, **changes}).encode())
    assert (report.imported, report.invalid) == (0, 1)
    assert report.problems[0].reason.startswith(field), report.problems[0].reason
    assert store.count(Receipt.__table__) == 0


def test_nan_infinity_and_deep_nesting_are_bad_lines_not_crashes() -> None:
    good = json.dumps(BASE, separators=(",", ":")).encode()
    nan = good.replace(b'"latency_ms":0.0', b'"latency_ms":NaN')
    assert nan != good
    deep = good[:-1] + b',"x":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    report, _ = import_one(b"\n".join([nan, deep, b"[" * 50_000]))
    assert report.lines == 3
    assert "NaN and Infinity" in report.problems[0].reason
    assert report.imported + report.invalid + report.torn_last_line == 3


def test_a_look_alike_full_width_id_is_imported_in_its_normal_form() -> None:
    report, store = import_one(json.dumps({**BASE, "model_id": "\uff47\uff50\uff54"}).encode())
    assert report.imported == 1
    (r,) = receipts(store)
    assert r.model_id == "gpt"


def test_what_import_refuses_verify_flags_when_it_is_planted_behind_its_back() -> None:
    store = MemoryStore()
    store.write(
        [
            Receipt(receipt_id="a", trace_id="t", model_id="m", task="code", timestamp=-1.0),
            Receipt(receipt_id="b", trace_id="t", model_id="m\u202e", task="code", timestamp=1.7e9),
            Receipt(receipt_id="c", trace_id="t", model_id="m", task="code", timestamp=1.7e9),
        ]
    )
    report = verify(store)
    details = " ".join(p.detail for p in report.problems)
    assert "timestamp=-1.0" in details
    assert "model_id='m\\u202e'" in details
    assert "c:" not in details


_ints = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, 2**63 - 1, 2**63, -1]))
_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([946_684_800.0, 7e9, 1e300])
)


@settings(max_examples=150, deadline=None)
@given(
    tokens=_ints,
    ts=_floats,
    quality=st.one_of(st.none(), _floats),
    model=st.text(min_size=0, max_size=8),
)
def test_import_and_verify_agree_on_any_line(
    tokens: int, ts: float, quality: float | None, model: str
) -> None:
    line = {**BASE, "input_tokens": tokens, "timestamp": ts, "quality": quality, "model_id": model}
    report, store = import_one(json.dumps(line, ensure_ascii=False).encode())
    if report.imported:
        assert verify(store).ok
    else:
        # The same values stored behind import's back are what verify reports.
        raw = MemoryStore()
        raw.write(
            [
                Receipt(
                    receipt_id="r1",
                    trace_id="t1",
                    model_id=model,
                    task="code",
                    timestamp=ts,
                    quality=quality,
                    input_tokens=tokens,
                )
            ]
        )
        assert not verify(raw).ok
