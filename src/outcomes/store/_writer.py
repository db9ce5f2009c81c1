"""The background writer: recording never waits for storage.

``submit`` appends to a bounded in-memory queue and returns; a daemon thread drains the
queue in batches into ``store.write`` on a flush interval or when a batch is full.
``flush(timeout)`` returns once everything submitted before it is committed (or the
timeout passes); ``close(timeout)`` flushes and stops. Writers flush at interpreter exit
and start afresh, empty, in a forked child. Nothing here raises into the caller of
``submit``: a full queue drops the record, counts it and warns once; a failing store is
retried, then the failing records are isolated, logged and counted.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from outcomes.config import WriterSettings
from outcomes.store._base import Store

logger = logging.getLogger("outcomes.writer")

_RETRY_DELAYS = (0.05, 0.2, 1.0)


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters of a writer since it was created."""

    submitted: int
    written: int
    duplicates: int
    dropped: int
    failed: int
    queued: int


class BackgroundWriter:
    """Batches records from any thread into a :class:`~outcomes.store.Store`.

    ``settings`` default to :meth:`WriterSettings.from_env`. With ``settings.durable`` the
    store should be opened durable too (:func:`outcomes.store.open_store` does this);
    ``flush`` always waits for the commit either way.
    """

    def __init__(self, store: Store, settings: WriterSettings | None = None) -> None:
        self.store = store
        self.settings = settings if settings is not None else WriterSettings.from_env()
        self._commit_hooks: tuple[Callable[[int], object], ...] = ()
        self._init_state()
        _live_writers.add(self)

    def _init_state(self) -> None:
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._warned_full = False
        self._submitted = 0
        self._written = 0
        self._duplicates = 0
        self._dropped = 0
        self._failed = 0
        self._pid = os.getpid()

    def _after_fork_in_child(self) -> None:
        # Records queued in the parent belong to the parent; the child starts empty and
        # starts its own thread on first use.
        self._init_state()

    # -- hot path ---------------------------------------------------------------------
    def submit(self, record: Any) -> bool:
        """Queue one record for writing. Never blocks, never raises.

        Returns ``False`` when the record was dropped (queue full or writer closed).
        """
        queue = self._queue
        if len(queue) >= self.settings.queue_size or self._closed:
            self._drop(1)
            return False
        queue.append(record)
        self._submitted += 1
        if self._thread is None:
            self._start()
        wake = self._wake
        if len(queue) >= self.settings.batch_size and not wake.is_set():
            wake.set()  # setting a set Event still takes its lock: skip that on the hot path
        return True

    def submit_many(self, records: Sequence[Any]) -> int:
        """Queue several records; returns how many were accepted."""
        accepted = 0
        for record in records:
            if self.submit(record):
                accepted += 1
        return accepted

    def _drop(self, n: int) -> None:
        self._dropped += n
        if not self._warned_full:
            self._warned_full = True
            why = "closed" if self._closed else f"full ({self.settings.queue_size} records)"
            logger.warning(
                "outcomes writer queue is %s; dropping records (see writer.stats().dropped)",
                why,
            )

    # -- control ----------------------------------------------------------------------
    def _start(self) -> None:
        with self._state_lock:
            if self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._run, name="outcomes-writer", daemon=True)
            self._thread.start()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything submitted so far is committed. Returns ``False`` on timeout."""
        if self._thread is None:
            if not self._queue:
                return True
            self._start()
            if self._thread is None:  # closed meanwhile
                return not self._queue
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush, then stop the thread. Further submits are dropped. Idempotent."""
        if self._closed:
            return not self._queue
        ok = self.flush(timeout)
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        _live_writers.discard(self)
        return ok

    def add_commit_hook(self, hook: Callable[[int], object]) -> None:
        """Call ``hook(n)`` on the writer's thread after each commit of ``n`` new records
        (derived state, such as published profile snapshots, follows commits). Keep it
        short and non-blocking; an exception from it is logged."""
        self._commit_hooks = (*self._commit_hooks, hook)

    def remove_commit_hook(self, hook: Callable[[int], object]) -> None:
        self._commit_hooks = tuple(h for h in self._commit_hooks if h != hook)

    def _committed(self, n: int) -> None:
        for hook in self._commit_hooks:
            try:
                hook(n)
            except Exception:
                logger.warning("outcomes writer: a commit hook failed", exc_info=True)

    def stats(self) -> WriterStats:
        return WriterStats(
            submitted=self._submitted,
            written=self._written,
            duplicates=self._duplicates,
            dropped=self._dropped,
            failed=self._failed,
            queued=sum(1 for r in self._queue if not isinstance(r, _FlushMarker)),
        )

    # -- the thread -------------------------------------------------------------------
    def _run(self) -> None:
        interval = self.settings.flush_interval
        while True:
            self._wake.wait(interval)
            self._wake.clear()
            self._drain()
            if self._closed and not self._queue:
                return

    def _drain(self) -> None:
        queue = self._queue
        batch_size = self.settings.batch_size
        batch: list[Any] = []
        while True:
            try:
                item = queue.popleft()
            except IndexError:
                break
            if isinstance(item, _FlushMarker):
                self._write(batch)
                batch = []
                item.done.set()
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                self._write(batch)
                batch = []
        self._write(batch)

    def _write(self, batch: list[Any]) -> None:
        if not batch:
            return
        for delay in (*_RETRY_DELAYS, None):
            try:
                inserted = self.store.write(batch)
            except (ValueError, TypeError, AttributeError):
                break  # a malformed record: retrying cannot help; isolate it below
            except Exception as exc:
                if delay is None:
                    logger.warning("outcomes writer: batch of %d failed (%s)", len(batch), exc)
                    break
                time.sleep(delay)
                continue
            self._written += inserted
            self._duplicates += len(batch) - inserted
            self._committed(inserted)
            return
        self._isolate(batch)

    def _isolate(self, batch: list[Any]) -> None:
        """Write records one by one so that one bad record cannot sink its batch."""
        for record in batch:
            try:
                inserted = self.store.write([record])
            except Exception as exc:
                self._failed += 1
                logger.warning(
                    "outcomes writer: dropped a %s record that the store refused: %s",
                    type(record).__name__,
                    exc,
                )
            else:
                self._written += inserted
                self._duplicates += 1 - inserted
                self._committed(inserted)


_live_writers: weakref.WeakSet[BackgroundWriter] = weakref.WeakSet()


def _flush_all_at_exit() -> None:
    for writer in list(_live_writers):
        try:
            if writer._pid == os.getpid():
                writer.close(timeout=5.0)
        except Exception:  # pragma: no cover - exit path must not raise
            logger.debug("exit flush failed", exc_info=True)


def _reinit_all_in_child() -> None:
    for writer in list(_live_writers):
        writer._after_fork_in_child()


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_all_in_child)
