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
from typing import Concatenate, ParamSpec, Protocol, TypeVar

log = logging.getLogger("outcomes.inference")

P = ParamSpec("P")
R = TypeVar("R")

Record = Callable[[float], object]
"""Records one call; takes the time (tracker clock) at which the call was reported."""


class Later:
    """Calls waiting to be recorded: a bounded queue of ``(record, at)``, run in order.

    :meth:`add` is the caller's hot path (no lock: a deque append is atomic);
    :meth:`run` takes a lock, so that when a flush and the writer's thread run it at
    once, the flush returns only after the item the writer's thread holds is submitted.
    The lock is re-entrant: a stream's finalizer may settle a call (and run the queue)
    on a thread that is running it already.
    """

    __slots__ = ("_items", "_lock", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: deque[tuple[Record, float]] = deque()
        self._lock = threading.RLock()

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

    def run(self) -> None:
        """Record every call waiting, oldest first. Never raises: a failing record is
        logged (it had been refused as the tracker refuses bad input)."""
        items = self._items
        if not items:
            return
        with self._lock:
            while items:
                try:
                    record, at = items.popleft()
                except IndexError:  # pragma: no cover - another runner took the last one
                    break
                try:
                    record(at)
                except Exception:
                    log.warning("outcomes: a deferred call could not be recorded", exc_info=True)

    def after_fork_in_child(self) -> None:
        # The parent's calls are the parent's to record; the lock may be held by its
        # writer thread, which the child does not have.
        self._items = deque()
        self._lock = threading.RLock()


class _HasLater(Protocol):
    _later: Later


S = TypeVar("S", bound=_HasLater)


def caught_up(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """``method`` of the tracker, running the calls waiting in its :class:`Later` first."""

    @functools.wraps(method)
    def run_first(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        later = self._later
        if later._items:
            later.run()
        return method(self, *args, **kwargs)

    return run_first


__all__ = ["Later", "Record", "caught_up"]
