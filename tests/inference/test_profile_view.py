"""The profile view: published snapshots that readers take without locks or I/O."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from outcomes import OutcomeTracker
from outcomes.errors import ConfigError
from outcomes.inference import ModelProfile
from outcomes.store import MemoryStore, SQLiteStore
from outcomes.testing import FakeClock
from tests.routing._cells import record


def wait_for(cond: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return False


class BlockingStore(MemoryStore):
    """Reads wait for ``release`` once ``block`` is set (a store stuck on I/O)."""

    def __init__(self) -> None:
        super().__init__()
        self.block = threading.Event()
        self.release = threading.Event()
        self.blocked = threading.Event()

    def _stuck(self) -> None:
        if self.block.is_set():
            self.blocked.set()
            self.release.wait(10)

    def scan(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self._stuck()
        return super().scan(*args, **kwargs)

    def iter_query(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self._stuck()
        return super().iter_query(*args, **kwargs)


def test_the_first_request_gets_the_empty_snapshot_then_commits_are_published() -> None:
    tracker = OutcomeTracker(MemoryStore(), refresh_s=0.05)
    record(tracker, "m", 3)
    first = tracker.snapshot()
    assert first.empty
    # Nobody waits here: the writer commits on its own and the refresher publishes.
    assert wait_for(lambda: tracker.snapshot().profile("m", "code") is not None)
    p = tracker.snapshot().profile("m", "code")
    assert p is not None
    assert p.calls == 3
    record(tracker, "m", 2)
    assert wait_for(lambda: (tracker.snapshot().profile("m") or p).calls == 5)
    tracker.close()


def test_flush_publishes_the_views_requested_so_far() -> None:
    tracker = OutcomeTracker(MemoryStore(), refresh_s=3600)  # the refresher never runs again
    assert tracker.refresh_view()
    assert tracker.snapshot().profiles() == {}
    record(tracker, "m", 2, 1)
    tracker.flush()
    p = tracker.snapshot().profile("m")
    assert p is not None
    assert (p.calls, p.successes, p.failures) == (3, 2, 1)
    tracker.close()


def test_the_local_view_follows_records_imports_and_loads(tmp_path: Any) -> None:
    tracker = OutcomeTracker(clock=FakeClock(), refresh_s=3600)
    record(tracker, "m", 1)
    tracker.refresh_view("local")
    assert tracker.snapshot("local").profile("m") is not None
    tracker.import_profiles([ModelProfile.new("x")])
    tracker.flush()
    # an imported empty profile has no data: profile() knows it, per-task views do not
    assert tracker.snapshot("local").profile("x") is None
    assert tracker.profile("x") is not None
    path = tmp_path / "p.json"
    other = OutcomeTracker(clock=FakeClock())
    record(other, "loaded", 4)
    other.save_to_file(path)
    tracker.load_from_file(path)
    tracker.flush()
    loaded = tracker.snapshot("local").profile("loaded")
    assert loaded is not None
    assert loaded.calls == 4
    tracker.close()


def test_a_snapshot_never_waits_for_a_store_stuck_in_a_read() -> None:
    store = BlockingStore()
    tracker = OutcomeTracker(store, refresh_s=0.01)
    record(tracker, "m", 2)
    tracker.refresh_view()
    published = tracker.snapshot()
    store.block.set()
    record(tracker, "m", 1)
    tracker.writer.flush()  # type: ignore[union-attr]
    assert store.blocked.wait(5)  # the refresher now holds the book, waiting on "I/O"
    t0 = time.perf_counter()
    for _ in range(1000):
        snap = tracker.snapshot()
    elapsed = time.perf_counter() - t0
    assert snap is published
    assert elapsed < 0.5
    store.release.set()
    assert wait_for(lambda: (tracker.snapshot().profile("m") or snap).calls == 3)
    tracker.close()


def test_close_stops_the_refresher() -> None:
    def refreshers() -> int:
        return sum(
            t.name == "outcomes-profile-view" and t.is_alive() for t in threading.enumerate()
        )

    before = refreshers()
    tracker = OutcomeTracker(MemoryStore(), refresh_s=0.01)
    tracker.snapshot()
    assert refreshers() == before + 1
    tracker.close()
    assert wait_for(lambda: refreshers() == before)
    tracker.snapshot()  # still readable after close, and starts nothing again
    assert refreshers() == before


def test_a_shared_view_shows_what_another_process_committed(tmp_path: Any) -> None:
    path = tmp_path / "o.db"
    reader = OutcomeTracker(SQLiteStore(path), refresh_s=0.05)
    reader.refresh_view()
    writer = OutcomeTracker(SQLiteStore(path))
    record(writer, "elsewhere", 2)
    writer.flush()
    # no commit in the reader's process: its refresher still polls every refresh_s
    assert wait_for(lambda: reader.snapshot().profile("elsewhere") is not None)
    writer.close()
    reader.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_publishes_its_own_snapshots() -> None:
    tracker = OutcomeTracker(refresh_s=0.02)
    record(tracker, "parent", 1)
    tracker.refresh_view("local")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            record(tracker, "child", 2)
            ok = wait_for(lambda: tracker.snapshot("local").profile("child") is not None)
            code = 0 if ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert tracker.snapshot("local").profile("child") is None
    tracker.close()


def test_without_local_profiles_every_read_is_of_the_store() -> None:
    store = MemoryStore()
    tracker = OutcomeTracker(store, refresh_s=3600, local_profiles=False)
    record(tracker, "m", 2, 1)
    tracker.flush()
    (p,) = tracker.profiles()
    assert (p.model_id, p.calls, p.successes, p.failures) == ("m", 3, 2, 1)
    assert tracker.profile("m", task="code") is not None
    tracker.refresh_view("local")
    assert tracker.snapshot("local") is tracker.snapshot("shared")
    assert not tracker.is_dirty()
    with pytest.raises(ConfigError, match="no local profiles"):
        tracker.import_profiles([ModelProfile.new("x")])
    tracker.close()
    with pytest.raises(ConfigError, match="needs a store"):
        OutcomeTracker(local_profiles=False)
