"""Decisions read published profile snapshots: no store I/O, no flush, no waiting; new
outcomes reach decisions when the tracker publishes them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from outcomes import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing import Router
from outcomes.store import BackgroundWriter, MemoryStore
from outcomes.testing import FakeClock
from tests.routing._cells import record


class BreakableStore:
    """A store that raises on every call while ``broken``, noting which threads called."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.broken = False
        self.callers_while_broken: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.broken:
                self.callers_while_broken.add(threading.get_ident())
                raise OSError(f"store.{name} called while the store is down")
            return attr(*args, **kwargs)

        return call


class BreakableWriter(BackgroundWriter):
    """A writer whose ``flush`` raises while ``broken``, noting which threads called it."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.broken = False
        self.flushed_while_broken: set[int] = set()

    def flush(self, timeout: float | None = 10.0) -> bool:
        if self.broken:
            self.flushed_while_broken.add(threading.get_ident())
            raise OSError("flush called while the store is down")
        return super().flush(timeout)


def registry(n: int = 11) -> ModelRegistry:
    reg = ModelRegistry()
    for i in range(n):
        reg.add(ModelInfo(f"m{i}", "p", 1.0, 2.0))
    return reg


def test_decisions_do_no_store_io_and_never_flush() -> None:
    store = BreakableStore()
    writer = BreakableWriter(store)
    clock = FakeClock()
    tracker = OutcomeTracker(store, writer=writer, clock=clock, refresh_s=0.01)  # type: ignore[arg-type]
    record(tracker, "m3", 40, 0)
    for i in range(11):
        if i != 3:
            record(tracker, f"m{i}", 5, 20)
    tracker.refresh_view()
    router = Router(registry=registry(), tracker=tracker, policy="greedy", clock=clock, refresh_s=0)
    assert router.decide("code").model_id == "m3"
    store.broken = writer.broken = True
    decided: list[str | None] = []
    stop = threading.Event()

    def keep_recording() -> None:  # the writer and the refresher now hit a broken store
        while not stop.is_set():
            record(tracker, "m5", 1, 0)

    recorder = threading.Thread(target=keep_recording)
    recorder.start()
    try:
        for _ in range(300):
            clock.advance(0.5)  # every decision looks for a new snapshot (refresh_s=0)
            decided.append(router.decide("code").model_id)
    finally:
        stop.set()
        recorder.join()
    me = threading.get_ident()
    assert me not in store.callers_while_broken
    assert me not in writer.flushed_while_broken
    assert decided == ["m3"] * 300
    store.broken = writer.broken = False
    tracker.close()


def test_new_outcomes_reach_decisions_once_published() -> None:
    clock = FakeClock()
    tracker = OutcomeTracker(MemoryStore(), clock=clock, refresh_s=3600)
    reg = registry(2)
    record(tracker, "m0", 30, 0)
    record(tracker, "m1", 10, 20)
    tracker.refresh_view()
    router = Router(registry=reg, tracker=tracker, policy="greedy", clock=clock, refresh_s=0)
    assert router.decide("code").model_id == "m0"
    record(tracker, "m0", 0, 200)
    record(tracker, "m1", 200, 0)
    # recorded, not yet published: the decision does not wait for it
    assert router.decide("code").model_id == "m0"
    tracker.flush()  # commits, and publishes the view the router asked for
    assert router.decide("code").model_id == "m1"
    tracker.close()


def test_a_router_looks_for_a_new_snapshot_every_refresh_s_of_its_clock() -> None:
    clock = FakeClock()
    tracker = OutcomeTracker(MemoryStore(), clock=clock, refresh_s=3600)
    record(tracker, "m0", 30, 0)
    record(tracker, "m1", 10, 20)
    tracker.refresh_view()
    router = Router(registry=registry(2), tracker=tracker, policy="greedy", clock=clock)
    choose: Callable[[], str | None] = lambda: router.decide("code").model_id  # noqa: E731
    assert choose() == "m0"
    record(tracker, "m0", 0, 200)
    tracker.flush()
    assert choose() == "m0"  # within refresh_s (1 s) of the last look
    clock.advance(1.0)
    assert choose() == "m1"
    tracker.close()
