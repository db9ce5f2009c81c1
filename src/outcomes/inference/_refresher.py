"""A daemon thread that runs a rebuild off the hot path, at most once per interval.

:meth:`Refresher.poke` (called on the background writer's thread after each commit)
asks for a rebuild soon; without pokes the thread still runs one every ``interval``
seconds, which is how changes made by other processes sharing a store become visible.
The thread starts on first use, stops on :meth:`stop`, and starts afresh in a forked
child (threads do not survive ``fork``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

log = logging.getLogger("outcomes.inference")


class Refresher:
    """Runs ``rebuild()`` on a daemon thread named ``name``, at most every ``interval``
    seconds. An exception from ``rebuild`` is logged (once until a rebuild succeeds
    again) and the thread goes on."""

    def __init__(self, rebuild: Callable[[], object], interval: float, name: str) -> None:
        self._rebuild = rebuild
        self.interval = interval
        self.name = name
        self._init_state()
        _live.add(self)

    def _init_state(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.running = False
        """Whether the thread was started in this process and not stopped."""

    def start(self) -> None:
        """Start the thread unless it runs already (or was stopped)."""
        with self._start_lock:
            if self._thread is not None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
            self.running = True

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def poke(self) -> None:
        """Ask for a rebuild as soon as the interval allows (cheap: sets an event)."""
        self._wake.set()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the thread (waiting up to ``timeout`` for a running rebuild). Idempotent."""
        self._stop.set()
        self._wake.set()
        self.running = False
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        _live.discard(self)

    def _run(self) -> None:
        last = -float("inf")
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            wait = last + self.interval - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            if self._stop.is_set():
                return
            # Cleared before the rebuild: a commit during it asks for the next one.
            self._wake.clear()
            last = time.monotonic()
            self._run_once()

    def _run_once(self) -> None:
        try:
            self._rebuild()
        except Exception as exc:
            if not self._failing:
                self._failing = True
                log.warning("outcomes: %s failed (%s); retrying every %ss", self.name, exc,
                            self.interval)  # fmt: skip
        else:
            self._failing = False

    def _after_fork_in_child(self) -> None:
        stopped = self._stop.is_set()
        self._init_state()
        if stopped:
            self._stop.set()


_live: weakref.WeakSet[Refresher] = weakref.WeakSet()


def _reinit_all_in_child() -> None:
    for refresher in list(_live):
        refresher._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_all_in_child)
