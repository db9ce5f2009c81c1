"""What every handler shares: the tracker, its store, the limits and the metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from starlette.requests import Request

from outcomes.inference import OutcomeTracker
from outcomes.server._errors import ApiError
from outcomes.server._limits import ServerLimits
from outcomes.server._metrics import Metrics
from outcomes.store import Store

GROUP_WAIT_S = 0.25
"""Longest a write waits for other requests' batches to join its commit."""


@dataclass
class Service:
    """The state behind one app. ``owns_tracker``: the app made the tracker (from a store)
    and closes it, draining its writer, when the server shuts down."""

    tracker: OutcomeTracker
    limits: ServerLimits
    metrics: Metrics
    owns_tracker: bool = False
    apply_lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while a batch applies: it replays event timestamps on the tracker's clock."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Wing objects made on first use (component tracker, shadow recorder, router)."""
    extras_lock: threading.RLock = field(default_factory=threading.RLock)
    applies: threading.Condition = field(default_factory=threading.Condition)
    """Guards ``applies_started``/``applies_finished``: batches given to the tracker."""
    applies_started: int = 0
    applies_finished: int = 0
    stale: bool = True
    """Set when this process committed records since the profile snapshot was last
    rebuilt for a read: the next read rebuilds it first, so a client reads its own writes."""

    @property
    def store(self) -> Store:
        if self.tracker.store is None:
            raise ApiError(503, "the service has no store", code="store_unavailable")
        return self.tracker.store

    def extra(self, name: str, make: Any) -> Any:
        """The wing object ``name``, made by ``make()`` once (thread-safe)."""
        value = self.extras.get(name)
        if value is None:
            with self.extras_lock:
                value = self.extras.get(name)
                if value is None:
                    value = self.extras[name] = make()
        return value

    def losses(self) -> int:
        """Records the writer has lost so far (dropped or refused by the store)."""
        writer = self.tracker.writer
        return 0 if writer is None else writer.lost()

    def begin_apply(self) -> Callable[[], None]:
        """A batch is on its way to the tracker (its request arrived); returns the call
        that says it was applied or will not be: call it whatever happens (only its
        first call counts, so a request may call it on every path)."""
        with self.applies:
            self.applies_started += 1
        once = threading.Lock()

        def end() -> None:
            if once.acquire(blocking=False):
                with self.applies:
                    self.applies_finished += 1
                    self.applies.notify_all()

        return end

    def _flush(self) -> Any:
        # Group commit: batches of other requests already being applied are waited for
        # (briefly), so that one flush, and the writer's one transaction, covers them all;
        # each transaction has a fixed cost that a batch of 500 alone pays in full. Each
        # request still waits for its own records' commit before it is answered.
        with self.applies:
            started = self.applies_started
            self.applies.wait_for(lambda: self.applies_finished >= started, GROUP_WAIT_S)
        writer = self.tracker.writer
        assert writer is not None
        return writer.flush(self.limits.request_timeout_s)

    async def commit(self, losses_before: int) -> None:
        """Wait (off the event loop) until every record submitted so far is committed:
        :meth:`committed` in a worker thread."""
        if self.tracker.writer is not None:
            await anyio.to_thread.run_sync(self.committed, losses_before, abandon_on_cancel=True)

    def committed(self, losses_before: int) -> None:
        """Block until every record submitted so far is committed (a worker thread).

        Raises 504 when the writer did not commit in time and 503 when any record was
        lost since ``losses_before`` (:meth:`losses` taken before the request submitted
        anything: a loss during a concurrent request is counted too, so a 200 is never
        wrong); both mean "send it again" (writes are idempotent).
        """
        if self.tracker.writer is None:
            return
        if not self._flush().committed:
            raise ApiError(504, "the store did not commit in time; send the batch again")
        self.stale = True
        lost = self.losses() - losses_before
        if lost:
            raise ApiError(
                503, f"{lost} records were not stored; send the batch again",
                code="not_stored",
            )  # fmt: skip

    def close(self, timeout: float | None = 30.0) -> None:
        """Drain and stop what the app owns (graceful shutdown)."""
        for value in self.extras.values():
            close = getattr(value, "close", None)
            if callable(close):
                close()
        if self.owns_tracker:
            self.tracker.close(timeout)
            if self.tracker.writer is not None:
                self.tracker.writer.close(timeout)
            if self.tracker.store is not None:
                self.tracker.store.close()
        elif self.tracker.writer is not None:
            self.tracker.writer.flush(timeout)


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service
