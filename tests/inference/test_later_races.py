"""OutcomeTracker.record_later under races: a read while another thread records a waiting
call, a writer that blocks on a full queue, ``close()`` racing a caller, a registry
changed while calls wait. Each receipt is written exactly once, none is lost unseen."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from outcomes.config import WriterSettings
from outcomes.inference import ModelProfile, OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.store import BackgroundWriter
from outcomes.testing import FakeClock, MemoryStore, receipts
from tests.store.test_writer_losses import DyingStore

T0 = 1_700_000_000.0


class SlowStore(MemoryStore):
    """A memory store whose every write takes ``delay`` seconds (a busy disk)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def write(self, records: Sequence[Any]) -> int:
        time.sleep(self.delay)
        return super().write(records)


def later_call(tracker: OutcomeTracker, trace_id: str, model: str = "m") -> Callable[[float], Any]:
    def record(at: float) -> object:
        return tracker.record_call(model, "generate", 12.5, 10, 5, trace_id=trace_id, timestamp=at)

    return record


def test_a_read_waits_for_the_call_another_thread_is_recording() -> None:
    """The last waiting call taken by another thread (here a flush; the writer's thread
    alike) is not yet in the fold: a read must wait for it, not see the queue empty."""
    writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600))
    tracker = OutcomeTracker(writer.store, writer=writer)
    taken, go_on = threading.Event(), threading.Event()
    record = later_call(tracker, tracker.new_trace_id())

    def slow(at: float) -> object:
        taken.set()
        go_on.wait(10)
        return record(at)

    tracker.record_later(slow)
    flusher = threading.Thread(target=tracker.flush)
    flusher.start()
    assert taken.wait(10)
    threading.Timer(0.2, go_on.set).start()
    profile = tracker.profile("m")  # the flusher holds the call: this read waits for it
    assert profile is not None
    assert profile.calls == 1
    flusher.join(10)
    tracker.close()
    writer.close()


def test_a_blocking_writer_loses_nothing_with_many_callers() -> None:
    """``overflow="block"`` promises no loss: callers record on their own threads and
    wait for room; the writer's thread must never take a call (it would wait for room
    only it makes) nor wait for a caller that waits for room."""
    settings = WriterSettings(
        queue_size=4, batch_size=2, flush_interval=0.001, overflow="block", block_timeout=2.0
    )
    writer = BackgroundWriter(SlowStore(0.002), settings)
    tracker = OutcomeTracker(writer.store, writer=writer)
    per_thread, n_threads = 60, 4

    def caller() -> None:
        for _ in range(per_thread):
            tracker.record_later(later_call(tracker, tracker.new_trace_id()))

    threads = [threading.Thread(target=caller) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert tracker.flush(timeout=30)
    assert writer.stats().dropped == 0
    assert len(receipts(writer.store)) == per_thread * n_threads
    tracker.close()
    writer.close()


def _report_until(tracker: OutcomeTracker, stop: threading.Event, reported: list[str]) -> None:
    while not stop.is_set() and len(reported) < 5000:
        trace = tracker.new_trace_id()
        tracker.record_later(later_call(tracker, trace))
        reported.append(trace)


def test_close_racing_callers_strands_no_call() -> None:
    """Calls reported while ``close()`` runs are recorded (or dropped and counted by a
    closed writer), never left waiting in a queue nothing runs any more."""
    for _ in range(30):
        writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600))
        tracker = OutcomeTracker(writer.store, writer=writer)
        reported: list[str] = []
        stop = threading.Event()
        tracker.snapshot("local")  # close() then stops a refresher: a wider window
        t = threading.Thread(target=_report_until, args=(tracker, stop, reported))
        t.start()
        time.sleep(0.002)
        tracker.close()  # the shared writer stays open
        stop.set()
        t.join(10)
        assert writer.flush()
        stored = [r.trace_id for r in receipts(writer.store)]
        assert len(stored) == len(set(stored))  # none written twice
        assert set(stored) <= set(reported)
        assert len(stored) + writer.stats().dropped == len(reported)  # none stranded
        writer.close()


def test_refresh_view_local_sees_a_call_still_waiting() -> None:
    writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600))
    tracker = OutcomeTracker(writer.store, writer=writer, clock=FakeClock(T0))
    tracker.record_later(later_call(tracker, tracker.new_trace_id()))
    tracker.refresh_view("local")
    assert tracker.snapshot("local").by_task[None]["m"].calls == 1
    tracker.close()
    writer.close()


def test_an_import_replaces_what_was_known_including_a_call_still_waiting() -> None:
    """As at once: the call came first, the imported profile replaces the model."""
    writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600))
    tracker = OutcomeTracker(writer.store, writer=writer)
    tracker.record_later(later_call(tracker, tracker.new_trace_id()))
    tracker.import_profiles([ModelProfile.new("m")])
    profile = tracker.profile("m")
    assert profile is not None
    assert profile.calls == 0
    tracker.close()
    writer.close()


def test_a_call_is_priced_with_the_registry_of_its_report() -> None:
    """Swapping the registry (or clearing the price cache after a change) does not
    reprice calls reported before it."""
    writer = BackgroundWriter(MemoryStore(), WriterSettings(flush_interval=3600))
    old = ModelRegistry({"m": ModelInfo("m", usd_per_1m_input=1.0, usd_per_1m_output=2.0)})
    tracker = OutcomeTracker(writer.store, writer=writer, registry=old)
    tracker.record_later(later_call(tracker, tracker.new_trace_id()))
    tracker.registry = ModelRegistry(
        {"m": ModelInfo("m", usd_per_1m_input=100.0, usd_per_1m_output=200.0)}
    )
    tracker.clear_price_cache()
    assert tracker.flush()
    [r] = receipts(writer.store)
    assert r.cost_usd == (10 * 1.0 + 5 * 2.0) / 1e6
    tracker.close()
    writer.close()


def test_calls_waiting_when_the_writer_dies_are_recorded_after_its_restart() -> None:
    """Each call is stored once or counted as failed (the batch the dying thread held)."""
    writer = BackgroundWriter(DyingStore(), WriterSettings(flush_interval=3600, batch_size=5))
    tracker = OutcomeTracker(writer.store, writer=writer)
    traces = [tracker.new_trace_id() for _ in range(40)]
    for trace in traces:
        tracker.record_later(later_call(tracker, trace))
    started = time.monotonic()
    first = tracker.flush(timeout=30)
    assert time.monotonic() - started < 10  # a new thread took over the queue
    assert first.committed
    assert first.error is not None
    assert "SystemExit" in first.error
    for trace in traces[:3]:  # the same ids again: refused by the store, never twice
        tracker.record_later(later_call(tracker, trace))
    tracker.record_later(later_call(tracker, last := tracker.new_trace_id()))
    tracker.flush(timeout=10)
    stored = [r.trace_id for r in receipts(writer.store)]
    assert len(stored) == len(set(stored))
    assert last in stored
    assert len(set(stored) & set(traces)) + writer.stats().failed == len(traces)
    assert writer.stats().restarts >= 1
    tracker.close()
    writer.close()
