"""The SQLite writer merges batches into the rollup rows it remembers (RollupCache).

What it remembers must never outlive the truth: a commit by another connection, any
other statement of its own, and a failed transaction each make it read the rows again.
Every test compares the rollups with the fold of the stored receipts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import outcomes.store._sqlite as sqlite_module
from outcomes.errors import StoreError
from outcomes.inference import from_rollups, rebuild
from outcomes.records import Receipt
from outcomes.store import SQLiteStore, rebuild_rollups
from tests.store.test_rollups import assert_same_state, receipts_of

STREAM = (
    [
        (i % 3, i % 2, (i // 2) % 3, (True, False, None)[i % 3], None if i % 4 else 0.1 * (i % 9),
         40.0 * i + 5, 10 * i, None if i % 5 else 0.01, 600.0 * i)
        for i in range(60)
    ],
    [(k * 7, k % 2 == 0, 0.5 if k % 3 else None, 4000.0 + k) for k in range(20)],
    [7],
    False,
)  # fmt: skip


def _check(store: SQLiteStore) -> None:
    assert_same_state(from_rollups(store), rebuild(store))


def _batches(receipts: list[Receipt], size: int = 7) -> list[list[Receipt]]:
    return [receipts[i : i + size] for i in range(0, len(receipts), size)]


def test_two_writers_on_one_file_each_see_the_others_commits(tmp_path: Path) -> None:
    a, b = SQLiteStore(tmp_path / "s.db"), SQLiteStore(tmp_path / "s.db")
    try:
        for k, batch in enumerate(_batches(receipts_of(STREAM))):
            (a if k % 3 else b).write(batch)
        _check(a)
        _check(b)
    finally:
        a.close()
        b.close()


def test_other_statements_of_the_same_writer_drop_what_it_remembers(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    batches = _batches(receipts_of(STREAM))
    try:
        for batch in batches[:4]:
            store.write(batch)
        # Empty receipts and rollups through the same connection: a merge into the
        # remembered rows would bring the first batches back into the rollups.
        store.delete(Receipt.__table__)
        rebuild_rollups(store)
        for batch in batches[4:]:
            store.write(batch)
        _check(store)
        assert from_rollups(store).receipts == sum(len(b) for b in batches[4:])
    finally:
        store.close()


def test_a_failed_write_leaves_nothing_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    batches = _batches(receipts_of(STREAM))
    real = sqlite_module.apply_sql

    def fails_after_merging(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        raise sqlite_module.sqlite3.OperationalError("disk I/O error (simulated)")

    # A model of its own, so that no other batch touches (and rewrites) its rows.
    solo = [
        Receipt(
            receipt_id=f"solo{i}",
            trace_id=f"solo{i}",
            model_id="solo",
            task="code",
            timestamp=1_760_000_000.0 + i,
            success=True,
            quality=0.5,
            latency_ms=30.0,
        )
        for i in range(3)
    ]
    try:
        store.write(batches[0])
        monkeypatch.setattr(sqlite_module, "apply_sql", fails_after_merging)
        with pytest.raises(StoreError, match="simulated"):
            store.write(solo)
        monkeypatch.setattr(sqlite_module, "apply_sql", real)
        # The others first: what the failed transaction merged must not come back
        # through a later commit.
        for batch in [*batches[1:], solo]:
            store.write(batch)
        _check(store)
        assert from_rollups(store).receipts == sum(len(b) for b in batches) + len(solo)
    finally:
        store.close()
