"""Losses are visible and avoidable: blocking overflow, flush results, a dying thread,
bounded settings, and the notes ``outcomes doctor`` reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from outcomes import config
from outcomes._ids import new_id
from outcomes.config import WriterSettings
from outcomes.errors import ConfigError
from outcomes.records import Receipt
from outcomes.store import BackgroundWriter, MemoryStore, SQLiteStore
from outcomes.store._losses import read_losses
from outcomes.testing import receipts


def receipt(i: int = 0) -> Receipt:
    return Receipt(new_id(), f"t{i}", "m", "code", float(i), success=True)


class SlowStore(MemoryStore):
    """Every write waits a little: a queue of a few records fills at once."""

    def write(self, records: Sequence[Any]) -> int:
        threading.Event().wait(0.002)
        return super().write(records)


class DyingStore(MemoryStore):
    """The first write kills the writer thread (an error that is not an Exception)."""

    def __init__(self) -> None:
        super().__init__()
        self.deaths = 1

    def write(self, records: Sequence[Any]) -> int:
        if self.deaths:
            self.deaths -= 1
            raise SystemExit("killed in the middle of a write")
        return super().write(records)


def test_blocking_overflow_loses_nothing_when_the_queue_is_tiny() -> None:
    store = SlowStore()
    writer = BackgroundWriter(
        store, WriterSettings(queue_size=4, batch_size=2, flush_interval=60, overflow="block")
    )
    sent = [receipt(i) for i in range(300)]
    assert all(writer.submit(r) for r in sent)
    result = writer.flush(timeout=30)
    assert result, result
    assert receipts(store) == sent
    stats = writer.stats()
    assert stats.dropped == 0
    assert stats.blocked > 0
    writer.close()


def test_blocking_overflow_drops_and_says_so_when_the_timeout_passes() -> None:
    release = threading.Event()

    class Stuck(MemoryStore):
        def write(self, records: Sequence[Any]) -> int:
            release.wait(10)
            return super().write(records)

    store = Stuck()
    writer = BackgroundWriter(
        store,
        WriterSettings(
            queue_size=2, batch_size=1, flush_interval=60, overflow="block", block_timeout=0.05
        ),
    )
    accepted = sum(writer.submit(receipt(i)) for i in range(6))
    release.set()
    result = writer.flush(timeout=10)
    assert not result
    assert result.dropped == 6 - accepted > 0
    assert len(receipts(store)) == accepted
    writer.close()


def test_drop_mode_reports_drops_on_the_next_flush_only() -> None:
    writer = BackgroundWriter(MemoryStore(), WriterSettings(queue_size=1, flush_interval=60))
    for i in range(5):
        writer.submit(receipt(i))
    first = writer.flush(timeout=10)
    assert not first
    assert first.dropped >= 1
    assert writer.flush(timeout=10)
    writer.close()


def test_a_writer_thread_that_dies_is_restarted_and_the_death_is_reported() -> None:
    store = DyingStore()
    writer = BackgroundWriter(store, WriterSettings(flush_interval=60))
    writer.submit(receipt(0))
    first = writer.flush(timeout=10)
    assert not first
    assert first.error is not None
    assert "SystemExit" in first.error
    writer.submit(receipt(1))
    assert writer.flush(timeout=10)
    stats = writer.stats()
    assert stats.restarts >= 1
    assert stats.last_error is not None
    assert [r.trace_id for r in receipts(store)] == ["t1"]
    writer.close()


def test_a_flush_waiting_when_the_thread_dies_returns_once_its_successor_commits() -> None:
    """The flush's marker was behind the records the dead thread never reached: a new
    thread writes them and releases it (the flush used to wait its whole timeout)."""
    store = DyingStore()
    writer = BackgroundWriter(store, WriterSettings(flush_interval=3600, batch_size=5))
    for i in range(40):
        writer.submit(receipt(i))
    started = time.monotonic()
    result = writer.flush(timeout=30)
    assert time.monotonic() - started < 10
    assert result.committed
    assert (result.failed, writer.stats().restarts) == (5, 1)  # the batch the thread held
    assert result.error is not None
    assert len(receipts(store)) == 35
    writer.close()


@pytest.mark.slow
def test_one_million_receipts_with_blocking_overflow_are_all_stored(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.db")
    writer = BackgroundWriter(
        store,
        WriterSettings(queue_size=20_000, batch_size=5_000, flush_interval=0.05, overflow="block"),
    )
    n = 1_000_000
    for i in range(n):
        writer.submit(Receipt(f"r{i}", f"t{i}", "m", "code", float(i), success=True))
    result = writer.flush(timeout=300)
    assert result, result
    assert store.count(Receipt.__table__) == n
    assert writer.stats().dropped == 0
    writer.close()
    store.close()


@pytest.mark.parametrize("name", sorted(config.BOUNDS))
@pytest.mark.parametrize("raw", ["1e308", "-1e308", "-5", "nan", "inf"])
def test_every_numeric_setting_out_of_bounds_warns_and_falls_back(
    name: str, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    low, high = config.BOUNDS[name]
    config._warned.discard(name)
    sentinel = 12345.0
    value = config._env_value(name, float, sentinel, {name: raw})
    if name in config._CLAMPED and raw in ("1e308", "-1e308", "-5"):
        assert low <= value <= high
    else:
        assert value == sentinel
    assert any(name in r.getMessage() for r in caplog.records)


def test_explicit_writer_settings_out_of_bounds_raise() -> None:
    for kwargs in (
        {"flush_interval": 1e308},
        {"flush_interval": 0.0},
        {"queue_size": 0},
        {"batch_size": 10**9},
        {"block_timeout": -1.0},
        {"overflow": "explode"},
    ):
        with pytest.raises(ConfigError):
            WriterSettings(**kwargs)  # type: ignore[arg-type]


def test_a_huge_flush_interval_in_the_environment_loses_no_record(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    code = f"""
        from outcomes.store import SQLiteStore, BackgroundWriter
        from outcomes.records import Receipt
        store = SQLiteStore({str(db)!r})
        w = BackgroundWriter(store)
        for i in range(500):
            w.submit(Receipt(f"r{{i}}", "t", "m", "code", float(i)))
        assert w.flush(timeout=60)
        """
    for value in ("1e308", "inf", "-1", "1e-300"):
        env = {**os.environ, "OUTCOMES_WRITER_FLUSH_INTERVAL": value}
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "OUTCOMES_WRITER_FLUSH_INTERVAL" in proc.stderr
        store = SQLiteStore(db)
        assert store.count(Receipt.__table__) == 500
        store.close()


def test_losses_are_noted_for_doctor_in_the_home_folder(outcomes_home: Path) -> None:
    outcomes_home.mkdir(mode=0o700)
    writer = BackgroundWriter(MemoryStore(), WriterSettings(queue_size=1, flush_interval=60))
    for i in range(5):
        writer.submit(receipt(i))
    writer.flush(timeout=10)
    writer.close()
    notes = read_losses(outcomes_home)
    assert sum(n["dropped"] for n in notes) == writer.stats().dropped > 0
    assert (outcomes_home / "writer-losses.jsonl").stat().st_mode & 0o777 == 0o600


def test_no_loss_note_when_the_home_folder_does_not_exist(outcomes_home: Path) -> None:
    writer = BackgroundWriter(MemoryStore(), WriterSettings(queue_size=1, flush_interval=60))
    for i in range(3):
        writer.submit(receipt(i))
    writer.close()
    assert not outcomes_home.exists()


def test_doctor_shows_what_writers_lost(outcomes_home: Path) -> None:
    from outcomes.testing import cli

    assert cli.invoke(["init"]).exit_code == 0
    writer = BackgroundWriter(MemoryStore(), WriterSettings(queue_size=1, flush_interval=60))
    for i in range(4):
        writer.submit(receipt(i))
    writer.close()
    result = cli.invoke(["doctor", "--json"])
    info = json.loads(result.output)
    assert sum(n["dropped"] for n in info["writer_losses"]) == writer.stats().dropped > 0
    result = cli.invoke(["doctor"])
    assert "writer loss" in result.output
    assert "dropped" in result.output
