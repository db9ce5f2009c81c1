"""The background writer: batching, flush/close, drops, failures, exit and fork."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from outcomes._ids import new_id
from outcomes.config import WriterSettings
from outcomes.records import Receipt
from outcomes.store import BackgroundWriter, MemoryStore, SQLiteStore, Store
from outcomes.testing import receipts
from tests.fakes.stores import BatchStore


def receipt(i: int = 0, **kw: Any) -> Receipt:
    return Receipt(new_id(), f"t{i}", "m", "code", float(i), success=True, **kw)


class FlakyStore(MemoryStore):
    """Fails the first ``failures`` writes, then behaves."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.calls = 0

    def write(self, records: Sequence[Any]) -> int:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("transient failure")
        return super().write(records)


class BlockingStore(MemoryStore):
    """Blocks every write until released, to fill the queue deterministically."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def write(self, records: Sequence[Any]) -> int:
        self.release.wait(10)
        return super().write(records)


def test_flush_returns_after_everything_is_committed(store: Store) -> None:
    writer = BackgroundWriter(store, WriterSettings(batch_size=100, flush_interval=60))
    rs = [receipt(i) for i in range(1_050)]
    for r in rs:
        assert writer.submit(r)
    assert writer.flush(timeout=30)
    assert receipts(store) == rs
    stats = writer.stats()
    assert (stats.submitted, stats.written, stats.dropped, stats.queued) == (1_050, 1_050, 0, 0)
    assert writer.close()


def test_flushes_queued_behind_a_busy_write_share_one_commit_and_wait_for_it() -> None:
    store = BatchStore(gated=True)
    writer = BackgroundWriter(store, WriterSettings(batch_size=100, flush_interval=60))
    writer.submit(receipt(0))
    first = threading.Thread(target=writer.flush, args=(10,))
    first.start()
    assert store.writing.wait(10)  # the writer is inside the first commit
    answers: dict[int, bool] = {}
    seen_at_answer: dict[int, list[list[str]]] = {}

    def flush(k: int) -> None:
        answers[k] = bool(writer.flush(10))
        seen_at_answer[k] = [list(b) for b in store.batches]

    threads = []
    for k in (1, 2):
        writer.submit(receipt(k))
        threads.append(threading.Thread(target=flush, args=(k,)))
        threads[-1].start()
    while writer.stats().queued < 2:  # both records (and both flushes) are queued
        threading.Event().wait(0.001)
    store.release.set()
    for t in (first, *threads):
        t.join(10)
    assert answers == {1: True, 2: True}
    assert store.batches == [["t0"], ["t1", "t2"]]
    for k in (1, 2):  # neither flush answered before its record was committed
        assert [f"t{k}" in b for b in seen_at_answer[k]].count(True) == 1
    writer.close()


def test_records_are_written_on_the_interval_without_flush() -> None:
    store = MemoryStore()
    writer = BackgroundWriter(store, WriterSettings(batch_size=1_000, flush_interval=0.05))
    writer.submit(receipt())
    deadline = threading.Event()
    for _ in range(100):
        if receipts(store):
            break
        deadline.wait(0.05)
    assert len(receipts(store)) == 1
    writer.close()


def test_full_queue_drops_counts_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    store = BlockingStore()
    writer = BackgroundWriter(store, WriterSettings(queue_size=10, batch_size=5, flush_interval=60))
    caplog.set_level(logging.WARNING, logger="outcomes.writer")
    accepted = sum(writer.submit(receipt(i)) for i in range(40))
    assert accepted >= 10
    assert writer.stats().dropped == 40 - accepted == writer.lost()
    assert len([r for r in caplog.records if "dropping" in r.getMessage()]) == 1
    store.release.set()
    result = writer.flush(timeout=10)
    # The flush after a loss says so (and is false); the next one starts clean.
    assert not result
    assert result.committed
    assert result.dropped == 40 - accepted
    assert writer.flush(timeout=10)
    assert len(receipts(store)) == accepted
    writer.close()


def test_submit_many_queues_what_fits_at_once_and_the_rest_as_submit_does() -> None:
    store = BlockingStore()
    writer = BackgroundWriter(store, WriterSettings(queue_size=10, batch_size=5, flush_interval=60))
    assert writer.submit_many([receipt(i) for i in range(4)]) == 4  # room for all: one step
    accepted = writer.submit_many([receipt(i) for i in range(4, 40)])  # more than the room
    assert accepted < 36
    assert writer.stats().dropped == 36 - accepted
    assert writer.stats().submitted == 4 + accepted
    store.release.set()
    writer.flush(timeout=10)
    assert {"t0", "t1", "t2", "t3"} <= {r.trace_id for r in receipts(store)}
    assert len(receipts(store)) == 4 + accepted
    writer.close()
    assert writer.submit_many([receipt(50)]) == 0  # closed: dropped, not queued


def test_transient_store_failures_are_retried() -> None:
    store = FlakyStore(failures=2)
    writer = BackgroundWriter(store, WriterSettings(flush_interval=60))
    writer.submit(receipt())
    assert writer.flush(timeout=10)
    assert len(receipts(store)) == 1
    assert writer.stats().failed == 0
    writer.close()


def test_a_bad_record_is_isolated_and_the_rest_of_its_batch_is_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    writer = BackgroundWriter(store, WriterSettings(flush_interval=60))
    good = [receipt(i) for i in range(5)]
    for r in good[:2]:
        writer.submit(r)
    writer.submit(receipt(99, quality=float("nan")))
    writer.submit(object())  # not a storable record at all
    for r in good[2:]:
        writer.submit(r)
    result = writer.flush(timeout=10)
    assert result.committed
    assert not result  # two records were lost
    assert result.failed == 2
    assert receipts(store) == good
    assert writer.stats().failed == 2
    writer.close()


def test_submit_after_close_is_dropped_not_raised() -> None:
    writer = BackgroundWriter(MemoryStore())
    writer.close()
    assert writer.submit(receipt()) is False
    assert writer.stats().dropped == 1
    assert writer.close()


def test_a_thread_that_cannot_start_raises_nothing_and_the_records_wait_for_the_next_try(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # "can't start new thread" (out of threads, or the interpreter shutting down) must not
    # reach the caller of submit, nor of an integration's deferred call (tracker.record_later).
    from outcomes.inference import OutcomeTracker

    real_start = threading.Thread.start

    def refuse(self: threading.Thread) -> None:
        if self.name == "outcomes-writer":
            raise RuntimeError("can't start new thread")
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", refuse)
    caplog.set_level(logging.WARNING, logger="outcomes.writer")
    store = MemoryStore()
    writer = BackgroundWriter(store, WriterSettings(flush_interval=60))
    tracker = OutcomeTracker(store, writer=writer)
    assert writer.submit(receipt(1)) is True
    assert writer.submit_many([receipt(2), receipt(3)]) == 2
    trace = tracker.new_trace_id()
    tracker.record_later(
        lambda at: tracker.record_call("m", "code", 5.0, 1, 1, trace_id=trace, timestamp=at)
    )
    assert not writer.flush(timeout=0.2).committed  # nothing could write them yet
    assert writer.stats().last_error == "RuntimeError: can't start new thread"
    assert len([r for r in caplog.records if "could not start" in r.getMessage()]) == 1
    monkeypatch.setattr(threading.Thread, "start", real_start)
    assert tracker.flush()
    assert len(receipts(store)) == 4
    assert any(r.trace_id == trace for r in receipts(store))
    tracker.close()
    writer.close()


def test_duplicates_are_counted_not_written_twice() -> None:
    store = MemoryStore()
    writer = BackgroundWriter(store)
    r = receipt()
    writer.submit(r)
    writer.submit(r)
    writer.flush()
    assert writer.stats().written == 1
    assert writer.stats().duplicates == 1
    writer.close()


def test_concurrent_submitters_lose_nothing() -> None:
    store = MemoryStore()
    writer = BackgroundWriter(store, WriterSettings(batch_size=64, flush_interval=0.01))
    per_thread = 2_000

    def work(k: int) -> None:
        for i in range(per_thread):
            writer.submit(receipt(k * per_thread + i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.flush(timeout=30)
    assert len(receipts(store)) == 4 * per_thread
    writer.close()


def _run(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_pending_records_are_flushed_at_interpreter_exit(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    proc = _run(
        f"""
        from outcomes.store import SQLiteStore, BackgroundWriter
        from outcomes.config import WriterSettings
        from outcomes.records import Receipt
        store = SQLiteStore({str(db)!r})
        w = BackgroundWriter(store, WriterSettings(flush_interval=3600, batch_size=10**6))
        for i in range(500):
            w.submit(Receipt(f"r{{i}}", "t", "m", "code", float(i)))
        # no flush, no close: the exit hook must write them
        """
    )
    assert proc.returncode == 0, proc.stderr
    store = SQLiteStore(db)
    assert store.count(Receipt.__table__) == 500
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_an_empty_writer_and_its_own_connection(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    proc = _run(
        f"""
        import os
        from outcomes.store import SQLiteStore, BackgroundWriter
        from outcomes.config import WriterSettings
        from outcomes.records import Receipt
        store = SQLiteStore({str(db)!r})
        w = BackgroundWriter(store, WriterSettings(flush_interval=3600, batch_size=10**6))
        for i in range(100):
            w.submit(Receipt(f"parent{{i}}", "t", "m", "code", float(i)))
        pid = os.fork()
        if pid == 0:
            assert w.stats().queued == 0, w.stats()
            for i in range(50):
                w.submit(Receipt(f"child{{i}}", "t", "m", "code", float(i)))
            ok = w.flush(timeout=30)
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert w.flush(timeout=30)
        """
    )
    assert proc.returncode == 0, proc.stderr
    store = SQLiteStore(db)
    ids = [r.receipt_id for r in store.scan(Receipt.__table__)]
    store.close()
    assert sorted(ids) == sorted(
        [f"parent{i}" for i in range(100)] + [f"child{i}" for i in range(50)]
    )


def test_durable_store_flush_acknowledges_only_committed_rows(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.db", durable=True)
    writer = BackgroundWriter(store, WriterSettings(durable=True, flush_interval=60))
    for i in range(10):
        writer.submit(receipt(i))
    assert writer.flush()
    other = SQLiteStore(tmp_path / "o.db")  # a second connection sees the commit
    assert other.count(Receipt.__table__) == 10
    other.close()
    writer.close()
    store.close()


def test_commit_hooks_hear_of_each_commit_after_it(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    writer = BackgroundWriter(store)
    heard: list[tuple[int, int]] = []

    def hook(n: int) -> None:
        heard.append((n, len(receipts(store))))  # the rows are there when it is called

    def broken(n: int) -> None:
        raise RuntimeError("a hook that fails")

    writer.add_commit_hook(broken)
    writer.add_commit_hook(hook)
    first = receipt(1)
    writer.submit_many([first, receipt(2)])
    with caplog.at_level(logging.WARNING, logger="outcomes.writer"):
        assert writer.flush()
    assert heard == [(2, 2)]
    assert any("commit hook" in m for m in caplog.messages)
    writer.remove_commit_hook(hook)
    writer.submit_many([first, receipt(3)])  # one duplicate, one new
    assert writer.flush()
    assert heard == [(2, 2)]
    assert writer.stats().written == 3
    writer.close()
