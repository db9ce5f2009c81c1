"""The background writer: recording never waits for storage.

``submit`` appends to a bounded in-memory queue and returns; a daemon thread drains the
queue in batches into ``store.write`` on a flush interval or when a batch is full.
``flush(timeout)`` returns once everything submitted before it is committed (or the
timeout passes) with a :class:`FlushResult` that is false when anything was lost since
the previous flush; ``close(timeout)`` flushes and stops. Writers flush at interpreter
exit and start afresh, empty, in a forked child. Nothing here raises into the caller of
``submit``: with ``overflow="drop"`` (the default) a full queue drops the record, counts
it and warns once; with ``overflow="block"`` the caller waits for room (up to
``block_timeout``), so nothing is lost. A failing store is retried, then the failing
records are isolated, logged and counted. A *feed* (:meth:`BackgroundWriter.add_feed`)
lets a producer hand over work instead of records: it runs on the writer's thread before
each drain, and before a flush waits, so a flush covers what it held. A writer thread that
dies is restarted by the next ``submit`` or ``flush`` (or by a flush waiting meanwhile),
and its error is reported by that ``flush`` and by ``outcomes doctor`` (losses are noted
in ``$OUTCOMES_HOME/writer-losses.jsonl``).
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
from outcomes.store._losses import note_losses

logger = logging.getLogger("outcomes.writer")

_RETRY_DELAYS = (0.05, 0.2, 1.0)
_WATCH_S = 0.05
"""How often a waiting flush looks whether the writer's thread is still alive."""


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters of a writer since it was created.

    ``dropped``: records refused because the queue was full (or the writer closed);
    ``failed``: records the store refused; ``restarts``: times the thread died and was
    restarted, ``last_error`` its last error; ``blocked``: submits that had to wait for
    room (``overflow="block"``).
    """

    submitted: int
    written: int
    duplicates: int
    dropped: int
    failed: int
    queued: int
    restarts: int = 0
    blocked: int = 0
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class FlushResult:
    """What one :meth:`BackgroundWriter.flush` found.

    ``committed``: everything submitted before the call is committed (no timeout).
    ``dropped``/``failed``: records lost since the previous flush (queue full, store
    refused them); ``error``: the writer thread died since then (it was restarted).
    True only when everything was committed and nothing was lost, so ``if
    writer.flush():`` keeps meaning "all my records are stored".
    """

    committed: bool
    dropped: int = 0
    failed: int = 0
    error: str | None = None

    def __bool__(self) -> bool:
        return self.committed and not self.dropped and not self.failed and self.error is None


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
        self._feeds: tuple[Callable[[], object], ...] = ()
        self._init_state()
        _live_writers.add(self)

    def _init_state(self) -> None:
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._state_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._warned_full = False
        self._warned_start = False
        self._submitted = 0
        self._written = 0
        self._duplicates = 0
        self._dropped = 0
        self._failed = 0
        self._restarts = 0
        self._deaths = 0
        self._blocked = 0
        self._error: str | None = None
        self._room = threading.Event()
        self._in_hand: list[Any] = []
        self._dying: threading.Thread | None = None
        self._markers_in_hand: list[_FlushMarker] = []
        # What the previous flush (and the previous loss note) had already reported.
        self._flushed_losses: tuple[int, int, str | None] = (0, 0, None)
        self._noted_losses = (0, 0, 0)
        self._pid = os.getpid()

    def _after_fork_in_child(self) -> None:
        # Records queued in the parent belong to the parent; the child starts empty and
        # starts its own thread on first use.
        self._init_state()

    # -- hot path ---------------------------------------------------------------------
    def submit(self, record: Any) -> bool:
        """Queue one record for writing. Never raises; blocks only with ``overflow="block"``.

        Returns ``False`` when the record was dropped (queue full, or still full after
        ``block_timeout`` in blocking mode, or writer closed).
        """
        queue = self._queue
        if (len(queue) >= self.settings.queue_size and not self._wait_for_room()) or self._closed:
            self._drop(1)
            return False
        queue.append(record)
        self._queued(1)
        return True

    def submit_many(self, records: Sequence[Any]) -> int:
        """Queue several records; returns how many were accepted. With room for them all,
        they are queued in one step (a batch of the HTTP service: one append, one wake-up
        check); else one by one, as :meth:`submit` queues each."""
        queue = self._queue
        n = len(records)
        if not self._closed and len(queue) + n <= self.settings.queue_size:
            queue.extend(records)
            self._queued(n)
            return n
        accepted = 0
        for record in records:
            if self.submit(record):
                accepted += 1
        return accepted

    def _queued(self, n: int) -> None:
        """After ``n`` records were queued: count them, start the thread if it is not
        running, and wake it once a batch is waiting."""
        self._submitted += n
        thread = self._thread
        if thread is None or thread is self._dying:  # attribute tests: no lock, no syscall
            self._start()
        wake = self._wake
        if len(self._queue) >= self.settings.batch_size and not wake.is_set():
            wake.set()  # setting a set Event still takes its lock: skip that on the hot path

    def poke(self, waiting: int) -> bool:
        """A feed holds ``waiting`` items: start the thread if it is not running, wake it
        once a batch waits. False (nothing done) when the writer is closed (the feed
        should submit at once, and see its records dropped and counted) or blocks on a
        full queue (``overflow="block"``: only the producer's thread may wait for room,
        never the writer's, which alone makes it)."""
        if self._closed or self.settings.overflow == "block":
            return False
        thread = self._thread
        if thread is None or thread is self._dying:
            self._start()
        if waiting >= self.settings.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def _wait_for_room(self) -> bool:
        """Blocking mode: wait until the queue has room; ``False`` when it did not come."""
        settings = self.settings
        if settings.overflow != "block" or self._closed:
            return False
        self._blocked += 1
        deadline = time.monotonic() + settings.block_timeout
        while len(self._queue) >= settings.queue_size:
            if not self._running():
                self._start()
            self._wake.set()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            # The writer sets ``_room`` after each batch; the short cap also covers a
            # wake-up lost between clear() and wait().
            self._room.wait(min(left, 0.05))
            self._room.clear()
        return True

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
    def _running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and thread is not self._dying

    def _start(self) -> None:
        with self._state_lock:
            thread = self._thread
            if self._running() or (self._closed and not self._queue):
                return
            new = threading.Thread(target=self._run, name="outcomes-writer", daemon=True)
            try:
                new.start()
            except RuntimeError as exc:
                # No thread to be had ("can't start new thread": out of threads or memory,
                # or the interpreter shutting down): the records stay queued (bounded, drops
                # counted) for the next submit or flush to try again; never the caller's error.
                self._error = f"{type(exc).__name__}: {exc}"
                if not self._warned_start:
                    self._warned_start = True
                    logger.warning("outcomes writer: could not start its thread: %s", exc)
                return
            self._warned_start = False
            if thread is not None:
                # The previous thread died (its error is in ``_error``): another now takes
                # what is queued to the store.
                self._restarts += 1
            self._thread = new

    def flush(self, timeout: float | None = 10.0) -> FlushResult:
        """Wait until everything submitted so far is committed; say what was lost since
        the previous flush. The result is false on timeout or when anything was lost."""
        committed = self._wait_committed(timeout)
        dropped, failed, error = self._dropped, self._failed, self._error
        last_dropped, last_failed, last_error = self._flushed_losses
        self._flushed_losses = (dropped, failed, error)
        return FlushResult(
            committed=committed,
            dropped=dropped - last_dropped,
            failed=failed - last_failed,
            error=error if error is not last_error else None,
        )

    def _wait_committed(self, timeout: float | None) -> bool:
        self._feed()  # what the feeds hold is submitted before the flush marker
        if not self._running():
            if not self._queue:
                return True
            self._start()
            if not self._running():  # closed meanwhile
                return not self._queue
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        done = marker.done
        if done.wait(timeout if timeout is not None and timeout <= _WATCH_S else _WATCH_S):
            return True
        # Still waiting: watch the thread, which may die before it reaches the marker
        # (the marker is released only by a thread that drains it): start another then.
        deadline = None if timeout is None else time.monotonic() + timeout - _WATCH_S
        while deadline is None or (left := deadline - time.monotonic()) > 0:
            if not self._running():
                self._start()
                self._wake.set()
            if done.wait(_WATCH_S if deadline is None else min(left, _WATCH_S)):
                return True
        return done.is_set()

    def close(self, timeout: float | None = 10.0) -> bool:
        """Flush, then stop the thread. Further submits are dropped. Idempotent.

        Returns whether everything submitted was committed (losses are in :meth:`stats`).
        """
        if self._closed:
            return not self._queue
        ok = self._wait_committed(timeout)
        self._closed = True
        self._wake.set()
        self._room.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self._note_losses()
        _live_writers.discard(self)
        return ok

    def add_commit_hook(self, hook: Callable[[int], object]) -> None:
        """Call ``hook(n)`` on the writer's thread after each commit of ``n`` new records
        (derived state, such as published profile snapshots, follows commits). Keep it
        short and non-blocking; an exception from it is logged."""
        self._commit_hooks = (*self._commit_hooks, hook)

    def remove_commit_hook(self, hook: Callable[[int], object]) -> None:
        self._commit_hooks = tuple(h for h in self._commit_hooks if h != hook)

    def add_feed(self, feed: Callable[[], object]) -> None:
        """Call ``feed()`` on the writer's thread before each drain, and on the flushing
        thread before :meth:`flush` or :meth:`close` queues its marker: it submits what
        its producer left for later (see :meth:`poke`). It must be safe to call from two
        threads at once and must not raise (an exception is logged)."""
        self._feeds = (*self._feeds, feed)

    def remove_feed(self, feed: Callable[[], object]) -> None:
        self._feeds = tuple(f for f in self._feeds if f != feed)

    def _feed(self) -> None:
        for feed in self._feeds:
            try:
                feed()
            except Exception:
                logger.warning("outcomes writer: a feed failed", exc_info=True)

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
            restarts=self._restarts,
            blocked=self._blocked,
            last_error=self._error,
        )

    def lost(self) -> int:
        """Records lost so far, dropped or refused by the store (``dropped + failed`` of
        :meth:`stats`, without walking the queue to count what waits in it)."""
        return self._dropped + self._failed

    def _note_losses(self) -> None:
        """Leave a note for ``outcomes doctor`` when records were lost since the last note."""
        now = (self._dropped, self._failed, self._deaths)
        if now == self._noted_losses:
            return
        before = self._noted_losses
        self._noted_losses = now
        url = getattr(self.store, "url", None)
        note_losses(
            store=url if isinstance(url, str) else type(self.store).__name__,
            dropped=now[0] - before[0],
            failed=now[1] - before[1],
            deaths=now[2] - before[2],
            error=self._error,
        )

    # -- the thread -------------------------------------------------------------------
    def _run(self) -> None:
        try:
            interval = self.settings.flush_interval
            while True:
                self._wake.wait(interval)
                self._wake.clear()
                self._drain()
                if self._dropped != self._noted_losses[0] or self._failed != self._noted_losses[1]:
                    self._note_losses()
                if self._closed and not self._queue:
                    return
        except BaseException as exc:
            # Never die in silence: the next submit or flush restarts the thread, that
            # flush reports the error, and doctor shows the note.
            self._dying = threading.current_thread()
            self._error = f"{type(exc).__name__}: {exc}"
            logger.error("outcomes writer thread died (%s); it restarts on next use", self._error)
            self._deaths += 1
            self._failed += len(self._in_hand)
            self._in_hand.clear()
            self._release_markers()
            self._room.set()
            self._note_losses()

    def _drain(self) -> None:
        self._feed()
        queue = self._queue
        batch_size = self.settings.batch_size
        # Kept on self so that a thread dying mid-write can still count the records it
        # held and release the flushes waiting on them (see _run).
        batch = self._in_hand
        markers = self._markers_in_hand
        while True:
            try:
                item = queue.popleft()
            except IndexError:
                break
            if isinstance(item, _FlushMarker):
                # Group commit: records queued behind a flush (another request's, on a
                # busy server) join the same transaction; the flush is released once
                # everything before it is committed, never before.
                markers.append(item)
                if not queue:
                    break
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                self._write(batch)
                batch.clear()
                self._release_markers()
                self._room.set()
        self._write(batch)
        batch.clear()
        self._release_markers()
        self._room.set()

    def _release_markers(self) -> None:
        markers = self._markers_in_hand
        for marker in markers:
            marker.done.set()
        markers.clear()

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
