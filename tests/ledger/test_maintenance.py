"""Retention, verification and time parsing of the ledger."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from outcomes.errors import ValidationError
from outcomes.ledger import parse_duration, parse_since, prune, summarize, verify
from outcomes.records import Receipt
from outcomes.store import SQLiteStore, Store
from outcomes.testing import FakeClock, receipts


def r(i: int, ts: float, **kw: object) -> Receipt:
    return Receipt(f"t{i}", f"trace{i}", "m", "generate", ts, **kw)  # type: ignore[arg-type]


def test_prune_keep_n_keeps_the_most_recent(store: Store) -> None:
    # Written out of timestamp order on purpose: retention follows time, not insertion.
    store.write([r(i, float((i * 7) % 10)) for i in range(10)])
    assert prune(store, keep=3) == 7
    assert sorted(x.timestamp for x in receipts(store)) == [7.0, 8.0, 9.0]


def test_prune_older_than_uses_the_clock(store: Store) -> None:
    clock = FakeClock(1_000_000.0)
    store.write([r(i, 1_000_000.0 - d * 86400) for i, d in enumerate([0, 10, 29, 31, 60])])
    assert prune(store, older_than=parse_duration("30d"), clock=clock) == 2
    assert store.count(Receipt.__table__) == 3


def test_prune_keep_more_than_present_deletes_nothing(store: Store) -> None:
    store.write([r(i, float(i)) for i in range(3)])
    assert prune(store, keep=10) == 0
    assert prune(store, keep=0) == 3


def test_prune_rejects_negative_values(store: Store) -> None:
    with pytest.raises(ValidationError):
        prune(store, keep=-1)
    with pytest.raises(ValidationError):
        prune(store, older_than=-5)


def test_verify_passes_on_a_healthy_store(store: Store) -> None:
    store.write([r(i, 1_700_000_000.0 + i, quality=0.5) for i in range(5)])
    report = verify(store)
    assert report.ok, report.problems
    assert report.receipts == 5


def test_verify_reports_rows_damaged_behind_our_back(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    store = SQLiteStore(db)
    store.write([r(1, 1_700_000_001.0, quality=0.5), r(2, 1_700_000_002.0)])
    store.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE receipts SET quality = 7.5, input_tokens = -3 WHERE receipt_id = 't1'")
    conn.execute("UPDATE receipts SET latency_ms = 'garbage' WHERE receipt_id = 't2'")
    conn.commit()
    conn.close()
    store = SQLiteStore(db)
    report = verify(store)
    store.close()
    assert not report.ok
    text = " ".join(p.detail for p in report.problems)
    assert "quality=7.5: Expected `float` <= 1.0" in text
    assert "input_tokens=-3: Expected `int` >= 0" in text
    assert "latency_ms='garbage': Expected `float`, got `str`" in text


def test_verify_notes_capability_migrations_not_yet_applied(tmp_path: Path) -> None:
    from outcomes.store import Migration

    store = SQLiteStore(tmp_path / "o.db")
    report = verify(store, known=(Migration("x.0001_y", ("CREATE TABLE y (a TEXT)",)),))
    store.close()
    assert report.ok
    assert report.notes == ["migration x.0001_y not applied yet (`outcomes db migrate`)"]


def test_verify_reports_a_missing_core_schema(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.db", auto_migrate=False)
    report = verify(store)
    store.close()
    assert [p.detail for p in report.problems] == [
        "migration core.0001_receipts not applied",
        "migration core.0002_rollups not applied",
        "migration core.0003_receipts_ttft not applied",
        "migration core.0004_rollup_daily not applied",
        "migration core.0005_receipts_failures not applied",
        "migration core.0006_receipts_signals not applied",
        "migration core.0007_rollup_counts_half_life not applied",
    ]


def test_parse_since_accepts_durations_dates_and_numbers() -> None:
    clock = FakeClock(1_000_000.0)
    assert parse_since("1d", clock=clock) == 1_000_000.0 - 86400
    assert parse_since("2026-11-01") == 1_761_955_200.0 + 365 * 86400
    assert parse_since("2026-11-01T12:00:00+00:00") == 1_793_534_400.0
    assert parse_since("1700000000") == 1_700_000_000.0
    for bad in ("yesterday", "nan", "5 parsecs"):
        with pytest.raises(ValidationError):
            parse_since(bad, clock=clock)


def test_summarize_counts_each_call_once_with_its_latest_outcome(store: Store) -> None:
    store.write(
        [
            r(1, 1.0, success=True, latency_ms=100.0),
            r(2, 2.0, success=False, supersedes="t1", superseded_success=True, latency_ms=100.0),
            r(3, 3.0, success=None, latency_ms=50.0),
        ]
    )
    (row,) = summarize(store)
    assert (row["calls"], row["receipts"]) == (2, 3)
    assert (row["successes"], row["failures"], row["unknown"]) == (0, 1, 1)
    assert row["mean_latency_ms"] == 75.0


def test_summarize_counts_outcomes_per_model_and_task(store: Store) -> None:
    store.write(
        [
            r(1, 1.0, success=True, latency_ms=100.0, cost_usd=0.5),
            r(2, 2.0, success=False, latency_ms=300.0),
            r(3, 3.0, success=None, latency_ms=200.0, cost_usd=0.25),
        ]
    )
    (row,) = summarize(store)
    assert row == {
        "model_id": "m",
        "task": "generate",
        "calls": 3,
        "receipts": 3,
        "successes": 1,
        "failures": 1,
        "unknown": 1,
        "mean_latency_ms": 200.0,
        "cost_usd": 0.75,
    }
