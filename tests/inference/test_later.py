"""OutcomeTracker.record_later: a call reported on the caller's thread, recorded on the
writer's, found by every read as if it had been recorded at once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from outcomes.config import WriterSettings
from outcomes.inference import OutcomeTracker
from outcomes.records import Receipt
from outcomes.store import BackgroundWriter, SQLiteStore
from outcomes.testing import FakeClock, MemoryStore, receipts

T0 = 1_700_000_000.0


@pytest.fixture
def idle() -> Iterator[tuple[OutcomeTracker, BackgroundWriter, FakeClock]]:
    """A tracker whose writer wakes only when told (a flush), over a memory store."""
    clock = FakeClock(T0)
    writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600, batch_size=10**6))
    tracker = OutcomeTracker(writer.store, writer=writer, clock=clock)
    yield tracker, writer, clock
    tracker.close()
    writer.close()


def later_call(tracker: OutcomeTracker, trace_id: str, model: str = "m") -> Callable[[float], Any]:
    def record(at: float) -> object:
        return tracker.record_call(model, "generate", 12.5, 10, 5, trace_id=trace_id, timestamp=at)

    return record


def test_the_receipt_is_built_later_with_the_time_of_the_report(
    idle: tuple[OutcomeTracker, BackgroundWriter, FakeClock],
) -> None:
    tracker, writer, clock = idle
    trace = tracker.new_trace_id()
    tracker.record_later(later_call(tracker, trace))
    assert writer.stats().submitted == 0  # the caller's thread built nothing
    clock.advance(30.0)
    assert tracker.flush()
    [r] = receipts(writer.store)
    assert (r.trace_id, r.timestamp, r.latency_ms, r.success) == (trace, T0, 12.5, True)


def test_reads_of_the_tracker_see_a_call_still_waiting(
    idle: tuple[OutcomeTracker, BackgroundWriter, FakeClock],
) -> None:
    tracker, writer, _ = idle
    a, b = tracker.new_trace_id(), tracker.new_trace_id()
    tracker.record_later(later_call(tracker, a))
    assert tracker.pending_completed(a) is True
    tracker.record_later(later_call(tracker, b))
    assert tracker.profile("m").calls == 2
    assert tracker.feedback(b, thumbs=False)
    assert tracker.flush()
    stored = receipts(writer.store)
    assert sorted(r.trace_id for r in stored) == sorted([a, b, b])  # none built twice
    assert [r.source for r in stored if r.trace_id == b] == ["complete", "feedback"]


def test_the_same_receipt_as_record_call_at_once() -> None:
    clocks = FakeClock(T0), FakeClock(T0)
    at_once = OutcomeTracker(MemoryStore(), clock=clocks[0])
    writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600))
    later = OutcomeTracker(writer.store, writer=writer, clock=clocks[1])
    trace = later.new_trace_id()
    at_once.record_call("gpt-4o-mini", "generate", 12.5, 10, 5, trace_id=trace, ttft_ms=3.0)
    later.record_later(
        lambda at: later.record_call(
            "gpt-4o-mini", "generate", 12.5, 10, 5, trace_id=trace, ttft_ms=3.0, timestamp=at
        )
    )
    clocks[1].advance(5.0)
    assert at_once.flush()
    assert later.flush()
    assert at_once.store is not None
    assert receipts(later.store) == receipts(at_once.store)  # type: ignore[arg-type]
    for t in (at_once, later):
        t.close()
    writer.close()


def test_memory_stays_bounded_the_caller_records_when_too_many_wait() -> None:
    writer = BackgroundWriter(
        MemoryStore(), WriterSettings(queue_size=10, flush_interval=3600, batch_size=10**6)
    )
    tracker = OutcomeTracker(writer.store, writer=writer)
    traces = [tracker.new_trace_id() for _ in range(11)]
    for trace in traces[:10]:
        tracker.record_later(later_call(tracker, trace))
    assert writer.stats().submitted == 0  # 10 wait: the writer's queue size
    tracker.record_later(later_call(tracker, traces[10]))  # full: all recorded here
    stats = writer.stats()
    # As 11 calls recorded at once into a writer queue of 10: 10 queued, 1 dropped, counted.
    assert (stats.submitted, stats.dropped) == (10, 1)
    assert not tracker.flush()  # the flush says something was lost
    assert {r.trace_id for r in receipts(writer.store)} == set(traces[:10])
    tracker.close()
    writer.close()


def test_a_blocking_writer_takes_no_deferred_calls() -> None:
    writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600, overflow="block"))
    tracker = OutcomeTracker(writer.store, writer=writer)
    tracker.record_later(later_call(tracker, tracker.new_trace_id()))
    # Recorded on the caller's thread: only the caller may wait for room, never the writer.
    assert writer.stats().submitted == 1
    tracker.close()
    writer.close()


def test_after_close_a_call_is_recorded_at_once_and_its_drop_counted(
    idle: tuple[OutcomeTracker, BackgroundWriter, FakeClock],
) -> None:
    tracker, writer, _ = idle
    writer.close()
    tracker.record_later(later_call(tracker, tracker.new_trace_id()))
    assert tracker.dropped == 1
    assert tracker.profile("m").calls == 1  # the local fold still has it


def test_without_a_store_the_call_is_recorded_at_once() -> None:
    tracker = OutcomeTracker()
    trace = tracker.new_trace_id()
    tracker.record_later(later_call(tracker, trace))
    assert tracker.pending_completed(trace) is True
    [r] = tracker.drain_ledger() or [None]  # not settled yet: nothing in the ledger
    assert r is None


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        timeout=120, env=dict(os.environ), check=False,
    )  # fmt: skip


SETUP = """
    import os
    from outcomes.config import WriterSettings
    from outcomes.inference import OutcomeTracker
    from outcomes.store import BackgroundWriter, SQLiteStore
    store = SQLiteStore({db!r})
    writer = BackgroundWriter(store, WriterSettings(flush_interval=3600, batch_size=10**6))
    tracker = OutcomeTracker(store, writer=writer)
    def call(trace):
        tracker.record_later(
            lambda at: tracker.record_call("m", "generate", 1.0, 1, 1, trace_id=trace, timestamp=at)
        )
"""


def _stored(db: Path) -> list[str]:
    store = SQLiteStore(db)
    ids = sorted(r.trace_id for r in store.scan(Receipt.__table__))
    store.close()
    return ids


def test_calls_waiting_at_exit_are_committed_by_the_exit_flush(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    proc = _run(SETUP.format(db=str(db)) + "    call('a0000000-exit')\n")
    assert proc.returncode == 0, proc.stderr
    assert _stored(db) == ["a0000000-exit"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_record_its_parents_waiting_calls(tmp_path: Path) -> None:
    db = tmp_path / "o.db"
    proc = _run(
        SETUP.format(db=str(db))
        + textwrap.indent(
            textwrap.dedent("""
            call("parent-1")
            pid = os.fork()
            if pid == 0:
                call("child-1")
                os._exit(0 if tracker.flush(timeout=30) else 3)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0
            assert tracker.flush(timeout=30)
            """),
            "    ",
        )
    )
    assert proc.returncode == 0, proc.stderr
    assert _stored(db) == ["child-1", "parent-1"]


def test_after_the_tracker_closes_a_shared_writer_still_gets_its_calls() -> None:
    writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600))
    tracker = OutcomeTracker(writer.store, writer=writer)
    tracker.close()  # the writer is not the tracker's: it stays open
    trace = tracker.new_trace_id()
    tracker.record_later(later_call(tracker, trace))
    assert writer.flush()
    assert [r.trace_id for r in receipts(writer.store)] == [trace]
    writer.close()


@pytest.mark.parametrize("how", ["record_call", "record_start"])
def test_a_call_adopting_a_waiting_calls_trace_id_comes_after_it(
    idle: tuple[OutcomeTracker, BackgroundWriter, FakeClock], how: str
) -> None:
    # A reply's trace id passed on to the next call (``outcomes_trace_id=``): recorded at
    # once, the first call is stored and the second refused as a duplicate; the first
    # must not lose its place because it was still waiting.
    tracker, writer, _ = idle
    trace = tracker.new_trace_id()
    tracker.record_later(later_call(tracker, trace, model="first"))
    if how == "record_call":
        tracker.record_call("second", "generate", 5.0, 1, 1, trace_id=trace)
    else:
        tracker.record_start("second", "generate", trace_id=trace)
    assert tracker.flush()
    assert [r.model_id for r in receipts(writer.store)] == ["first"]
    assert tracker.profile("second") is None


def test_waiting_calls_are_recorded_in_the_order_reported(
    idle: tuple[OutcomeTracker, BackgroundWriter, FakeClock],
) -> None:
    tracker, writer, clock = idle
    traces = [tracker.new_trace_id() for _ in range(4)]
    for i, trace in enumerate(traces):
        tracker.record_later(later_call(tracker, trace, model=f"m{i}"))
        clock.advance(1.0)
    assert tracker.flush()
    stored = receipts(writer.store)
    assert [r.trace_id for r in stored] == traces
    assert [r.timestamp for r in stored] == [T0 + i for i in range(4)]
