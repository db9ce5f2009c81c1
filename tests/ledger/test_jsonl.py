"""Ledger export and import: round trips, idempotency, and hostile files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes._ids import new_id
from outcomes.errors import ValidationError
from outcomes.ledger import export_jsonl, import_jsonl, parse_receipt
from outcomes.records import RECEIPT_FIELDS, Receipt
from outcomes.store import MemoryStore, Store
from outcomes.testing import receipts

PLANTED_KEY = "sk-live-" + "Zx9" * 10


def make(i: int, **kw: object) -> Receipt:
    base: dict[str, object] = {
        "receipt_id": new_id(),
        "trace_id": f"trace-{i}",
        "model_id": f"model-{i % 3}",
        "task": "generate",
        "timestamp": 1_700_000_000.0 + i,
        "success": [True, False, None][i % 3],
        "quality": 0.5 if i % 2 else None,
        "latency_ms": 10.0 * i,
        "input_tokens": i,
        "output_tokens": 2 * i,
        "cost_usd": 0.001 * i,
        "project_id": "p" if i % 2 else None,
    }
    base.update(kw)
    return Receipt(**base)  # type: ignore[arg-type]


def exported(store: Store, **kw: float) -> str:
    out = io.StringIO()
    export_jsonl(store, out, **kw)
    return out.getvalue()


def test_export_then_import_gives_equal_receipts(store: Store) -> None:
    rs = [make(i) for i in range(50)]
    store.write(rs)
    text = exported(store)
    assert len(text.splitlines()) == 50
    target = MemoryStore()
    report = import_jsonl(target, io.BytesIO(text.encode()))
    assert (report.imported, report.invalid, report.duplicates) == (50, 0, 0)
    assert receipts(target) == rs


def test_reimporting_the_same_file_adds_nothing(store: Store) -> None:
    source = MemoryStore()
    source.write([make(i) for i in range(20)])
    data = exported(source).encode()
    first = import_jsonl(store, io.BytesIO(data))
    second = import_jsonl(store, io.BytesIO(data))
    assert first.imported == 20
    assert (second.imported, second.duplicates) == (0, 20)
    assert store.count(Receipt.__table__) == 20


def test_export_since_filters_by_timestamp() -> None:
    store = MemoryStore()
    store.write([make(i) for i in range(10)])
    lines = exported(store, since=1_700_000_005.0).splitlines()
    assert [json.loads(line)["trace_id"] for line in lines] == [f"trace-{i}" for i in range(5, 10)]


def test_lines_carry_the_format_version_then_every_field_in_order() -> None:
    store = MemoryStore()
    r = make(0, quality=None, project_id=None, cost_usd=None)
    store.write([r])
    line = json.loads(exported(store))
    assert list(line) == ["v", *RECEIPT_FIELDS]
    assert line["v"] == 1
    assert (line["project_id"], line["cost_usd"], line["quality"]) == (None, None, None)
    # A line that leaves the absent optionals out reads as the same receipt.
    short = {k: v for k, v in line.items() if v is not None}
    assert parse_receipt(short) == r


def test_torn_last_line_and_garbage_lines_are_skipped_and_reported(store: Store) -> None:
    source = MemoryStore()
    source.write([make(i) for i in range(6)])
    good = exported(source).encode().splitlines(keepends=True)
    data = (
        good[0]
        + b"not json at all\n"
        + good[1]
        + b"\xff\xfe invalid utf-8\n"
        + b'{"receipt_id": "x", "trace_id": "t", "model_id": "m", "task": "code",'
        + b' "timestamp": NaN}\n'
        + b'{"receipt_id": "y", "trace_id": "t", "model_id": "m", "task": "code",'
        + b' "timestamp": 1700000000, "input_tokens": "12"}\n'
        + b"[1, 2, 3]\n"
        + b"\n"
        + good[2]
        + good[3][: len(good[3]) // 2]  # torn: the writer died mid-line
    )
    report = import_jsonl(store, io.BytesIO(data))
    assert report.imported == 3
    assert report.invalid == 5
    assert report.torn_last_line
    reasons = {p.line: p.reason for p in report.problems}
    assert "invalid JSON" in reasons[2]
    assert "UTF-8" in reasons[4]
    assert "NaN" in reasons[5]
    assert "input_tokens" in reasons[6]
    assert "object" in reasons[7]
    assert "torn" in reasons[10]
    assert store.count(Receipt.__table__) == 3


def test_a_line_without_newline_that_parses_is_imported() -> None:
    store = MemoryStore()
    line = json.dumps(make(1).to_json()).encode()
    report = import_jsonl(store, io.BytesIO(line))
    assert (report.imported, report.torn_last_line) == (1, False)


def test_bad_values_are_rejected_with_the_field_named() -> None:
    base = make(1).to_json()
    for field, value, fragment in [
        ("quality", 1.5, "quality"),
        ("latency_ms", -1, "latency_ms"),
        ("task", "has spaces!", "task"),
        ("model_id", "", "model_id"),
        ("model_id", "a\x00b", "model_id"),
        ("success", "yes", "success"),
        ("propensity", 2, "propensity"),
        ("v", 99, "version"),
    ]:
        with pytest.raises(ValidationError, match=fragment):
            parse_receipt({**base, field: value})


def test_huge_strings_are_capped_and_huge_lines_rejected() -> None:
    store = MemoryStore()
    big_error = json.dumps({**make(1).to_json(), "error": "e" * 90_000}).encode() + b"\n"
    giant = b'{"pad": "' + b"x" * (2 << 20) + b'"}\n'
    report = import_jsonl(
        store, io.BytesIO(big_error + giant + big_error.replace(b"trace-1", b"trace-2"))
    )
    assert report.invalid == 1
    assert "longer than" in report.problems[0].reason
    assert report.imported == 1  # the third line repeats the first receipt id
    (r,) = receipts(store)
    assert len(r.error or "") == 257


def test_planted_api_key_never_reaches_the_database_or_an_export(store: Store) -> None:
    line = {
        **make(1).to_json(),
        "error": f"401 Unauthorized: Incorrect API key provided: {PLANTED_KEY}",
    }
    import_jsonl(store, io.BytesIO(json.dumps(line).encode()))
    store.write([make(2, error=f"Authorization: Bearer {PLANTED_KEY} rejected")])
    text = exported(store)
    assert PLANTED_KEY not in text
    assert PLANTED_KEY[:20] not in text
    assert all(PLANTED_KEY not in (r.error or "") for r in receipts(store))
    assert text.count("[REDACTED]") == 2


def test_import_from_a_file_on_disk(tmp_path: Path) -> None:
    src = MemoryStore()
    src.write([make(i) for i in range(3)])
    path = tmp_path / "ledger.jsonl"
    path.write_text(exported(src))
    dst = MemoryStore()
    with path.open("rb") as fh:
        assert import_jsonl(dst, fh).imported == 3


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_never_crash_the_import_or_corrupt_the_store(junk: bytes) -> None:
    store = MemoryStore()
    store.write([make(0)])
    before = receipts(store)
    report = import_jsonl(store, io.BytesIO(junk))
    assert report.imported >= 0
    assert receipts(store)[: len(before)] == before


def test_ttft_roundtrips_and_old_lines_without_it_read_back_with_none() -> None:
    new = Receipt(
        receipt_id="r-new", trace_id="t-new", model_id="m", task="code",
        timestamp=1_700_000_000.0, success=True, latency_ms=90.0, ttft_ms=21.5,
    )  # fmt: skip
    line = json.dumps(new.to_json())
    assert list(json.loads(line))[-1] == "ttft_ms"  # the last field of the line
    old = json.loads(line)
    del old["ttft_ms"]  # a line written before the field existed
    old.update(receipt_id="r-old", trace_id="t-old")
    bad = dict(json.loads(line), receipt_id="r-bad", trace_id="t-bad", ttft_ms=-1.0)
    store = MemoryStore()
    lines = "".join(json.dumps(d) + "\n" for d in (new.to_json(), old, bad))
    report = import_jsonl(store, io.BytesIO(lines.encode()))
    assert (report.imported, report.invalid) == (2, 1)
    assert "ttft_ms" in report.problems[0].reason
    assert {r.receipt_id: r.ttft_ms for r in receipts(store)} == {"r-new": 21.5, "r-old": None}
    assert parse_receipt(old).ttft_ms is None
