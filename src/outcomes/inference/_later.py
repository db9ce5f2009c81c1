"""Calls reported on the caller's thread and recorded on the background writer's.

An integration that has just got an answer knows the few facts of its call (the model,
the token counts, the latency, the trace id); building, checking, folding and queueing its
receipt takes several times longer right after an HTTP call than in a tight loop (the
caches are cold). :meth:`Later.add` takes those facts as a callable and the time the call
was reported, and returns; the writer runs :meth:`Later.run` before each drain and before
a flush waits, so the receipt is committed as soon as it would have been.

Every read of the tracker that could see the call (signals and feedback for it, profiles,
the pending table, the ledger buffer, flush, close) runs :meth:`Later.run` first
(:func:`caught_up`), so deferring is invisible to the caller: the same receipt, with the
timestamp of the report, found by the same reads. Memory is bounded (:attr:`Later.limit`
items; past it :meth:`Later.add` refuses and the caller records at once), and a forked
child starts empty, as its writer does.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Protocol, TypeVar

if TYPE_CHECKING:
    from outcomes.store import BackgroundWriter

log = logging.getLogger("outcomes.inference")

P = ParamSpec("P")
R = TypeVar("R")

Record = Callable[[float], object]
"""Records one call; takes the time (tracker clock) at which the call was reported."""


class Later:
    """Calls waiting to be recorded: a bounded queue of ``(record, at)``, run in order.

    :meth:`add` is the caller's hot path (no lock: a deque append is atomic);
    :meth:`run` takes a lock, so that when a read and another thread run it at once,
    the read returns only after the item the other thread holds is recorded (the queue
    may be empty by then: :attr:`_busy` says a run is under way). The lock is
    re-entrant: a stream's finalizer may settle a call (and run the queue) on a thread
    that is running it already.
    """

    __slots__ = ("_busy", "_items", "_lock", "_owner", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[tuple[Record, float]] = deque()
        self._lock = threading.RLock()
        self._busy = False
        self._owner = 0
        """The thread running the queue (0: none): a call it records is not a caller."""

    def __len__(self) -> int:
        return len(self._items)

    def add(self, record: Record, at: float) -> int:
        """Queue ``record`` reported at ``at``; returns how many wait now (0: refused,
        the queue is full)."""
        items = self._items
        if len(items) >= self.limit:
            return 0
        items.append((record, at))
        return len(items)

    def run(self, wait: bool = True) -> None:
        """Record every call waiting, oldest first, and return once none is being
        recorded by another thread either. ``wait=False`` (the writer's thread) returns
        at once instead when another thread is running the queue: that thread records
        what waits, and may itself be waiting for the writer to make room. Never raises:
        a failing record is logged (it had been refused as the tracker refuses bad
        input)."""
        items = self._items
        if not items and not self._busy:
            return
        lock = self._lock
        if not lock.acquire(blocking=wait):
            return
        busy, self._busy = self._busy, True
        owner, self._owner = self._owner, threading.get_ident()
        try:
            while items:
                try:
                    record, at = items.popleft()
                except IndexError:  # pragma: no cover - another runner took the last one
                    break
                try:
                    record(at)
                except Exception:
                    log.warning("outcomes: a deferred call could not be recorded", exc_info=True)
        finally:
            self._busy, self._owner = busy, owner
            lock.release()

    def catch_up(self, trace_id: str | None) -> None:
        """:meth:`run` before a call starts with an outside ``trace_id`` (a waiting call
        may hold it), unless there is none, nothing waits, or this thread is the one
        running the queue (a waiting call being recorded is not a caller to put after it)."""
        if trace_id is None:
            return
        if (self._items or self._busy) and self._owner != threading.get_ident():
            self.run()

    def report(self, record: Record, at: float, writer: BackgroundWriter | None) -> None:
        """``record(at)`` later, on ``writer``'s thread (see
        :meth:`OutcomeTracker.record_later`), else at once on this thread."""
        if writer is not None:
            if waiting := self.add(record, at):
                # At once when the writer is closed (drops are counted), blocks (this
                # thread may wait, the writer's may not), or the tracker closed after
                # the add was let in (nothing runs this queue any more).
                if not writer.poke(waiting) or not self.limit:
                    self.run()
                return
            self.run()
        record(at)

    def feeder(self, writer: BackgroundWriter | None) -> Callable[[], None]:
        """The writer's feed (run on its thread, and before a flush queues its marker):
        the calls waiting, unless another thread is recording them (it may be waiting
        for the writer to make room) or ``writer`` blocks on a full queue (then each
        caller records its calls itself: the writer's thread must never wait for room
        only it makes). The tracker's own reads and flush wait for every waiting call."""

        def feed() -> None:
            if writer is not None and writer.settings.overflow != "block":
                self.run(wait=False)

        return feed

    def after_fork_in_child(self) -> None:
        # The parent's calls are the parent's to record; the lock may be held by its
        # writer thread, which the child does not have.
        self._items = deque()
        self._lock = threading.RLock()
        self._busy = False
        self._owner = 0


class _HasLater(Protocol):
    _later: Later


S = TypeVar("S", bound=_HasLater)


def caught_up(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """``method`` of the tracker, running the calls waiting in its :class:`Later` first."""

    @functools.wraps(method)
    def run_first(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        later = self._later
        if later._items or later._busy:
            later.run()
        return method(self, *args, **kwargs)

    return run_first


__all__ = ["Later", "Record", "caught_up"]
