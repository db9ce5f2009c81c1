"""The tracker an integration records into when it is given none."""

from __future__ import annotations

import threading

from outcomes.inference import OutcomeTracker

_lock = threading.Lock()
_default: OutcomeTracker | None = None


def default_tracker() -> OutcomeTracker:
    """This process's shared tracker for integrations given no tracker: made on first use
    over :func:`outcomes.store.open_store` (``OUTCOMES_DB_URL``, else the SQLite file under
    ``OUTCOMES_HOME``), so every instrumented client of the process writes through one
    background writer."""
    global _default
    with _lock:
        if _default is None:
            from outcomes.store import open_store

            _default = OutcomeTracker(open_store())
        return _default


def resolve_tracker(tracker: OutcomeTracker | None) -> OutcomeTracker:
    """``tracker``, or the default one; anything else is a clear ``TypeError``."""
    if tracker is None:
        return default_tracker()
    if not isinstance(tracker, OutcomeTracker):
        raise TypeError(f"tracker must be an OutcomeTracker, got {type(tracker).__name__}")
    return tracker
