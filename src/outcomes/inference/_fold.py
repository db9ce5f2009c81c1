"""Profiles from the store: a streamed fold of the inference receipts.

:func:`rebuild` folds every inference receipt of a store into a fresh
:class:`~outcomes.inference.ProfileState` in constant memory (rows are streamed; the state
grows with the number of (model, task, project) cells, never with receipts). A
:class:`ProfileBook` keeps such a state and folds only the receipts added since its last
read, so every process reading one SQLite or PostgreSQL store sees the same profiles.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from outcomes.inference._profiles import DEFAULT_HALF_LIFE_S, ProfileState
from outcomes.inference._view import ModelProfile
from outcomes.records import Receipt
from outcomes.store import SqlStore, Store

INFERENCE_KIND = "inference"

_COLUMNS = (
    "model_id, task, project_id, timestamp, success, quality, latency_ms, input_tokens, "
    "output_tokens, cost_usd, error, source, supersedes, superseded_success, "
    "superseded_quality, superseded_at, seq"
)


def _rows_sql(store: SqlStore, after_seq: int) -> Iterator[tuple[Any, ...]]:
    return store.iterate(
        f"SELECT {_COLUMNS} FROM receipts WHERE kind = ? AND seq > ? ORDER BY seq",
        (INFERENCE_KIND, after_seq),
    )


def _fold_sql(state: ProfileState, store: SqlStore, after_seq: int) -> int:
    """Fold rows with ``seq > after_seq``; returns the last seq seen."""
    last = after_seq
    fold = state.fold_values
    for row in _rows_sql(store, after_seq):
        (m, t, p, ts, ok, q, lat, i, o, c, err, src, sup, sok, sq, sat, seq) = row
        fold(
            m, t, p, ts, None if ok is None else bool(ok), q, lat, i, o, c, err, src, sup,
            None if sok is None else bool(sok), sq, sat,
        )  # fmt: skip
        last = seq
    return last


def _fold_scan(state: ProfileState, store: Store, skip: int) -> int:
    """Fold receipts after the first ``skip`` (memory store); returns how many were seen."""
    seen = 0
    for r in store.scan(Receipt.__table__, where=[("kind", "=", INFERENCE_KIND)]):
        seen += 1
        if seen > skip:
            state.fold(r)
    return seen


def rebuild(store: Store, *, half_life: float = DEFAULT_HALF_LIFE_S) -> ProfileState:
    """Fold every inference receipt in ``store`` into a new state (streamed)."""
    state = ProfileState(half_life=half_life)
    if isinstance(store, SqlStore):
        _fold_sql(state, store, 0)
    else:
        _fold_scan(state, store, 0)
    return state


class ProfileBook:
    """Profiles of every model as stored: what all processes sharing ``store`` see.

    Reads fold only the receipts added since the previous read (by the store's insertion
    sequence). Thread-safe. ``excluded`` and cooldowns are per process and live in the
    tracker, not here.
    """

    def __init__(self, store: Store, *, half_life: float = DEFAULT_HALF_LIFE_S) -> None:
        self.store = store
        self.half_life = half_life
        self._state = ProfileState(half_life=half_life)
        self._cursor = 0
        self._lock = threading.Lock()

    def refresh(self) -> ProfileState:
        """Fold new receipts and return the (live) state."""
        with self._lock:
            if isinstance(self.store, SqlStore):
                self._cursor = _fold_sql(self._state, self.store, self._cursor)
            else:
                self._cursor = _fold_scan(self._state, self.store, self._cursor)
            return self._state

    def state(self) -> ProfileState:
        return self.refresh()

    def profile(
        self, model_id: str, *, task: str | None = None, project_id: str | None = None
    ) -> ModelProfile | None:
        state = self.refresh()
        with self._lock:
            if model_id not in state.model_ids():
                return None
            return ModelProfile.from_state(state, model_id, task=task, project_id=project_id)

    def profiles(
        self, *, task: str | None = None, project_id: str | None = None
    ) -> list[ModelProfile]:
        """One profile per model with data for the filter, by model id."""
        state = self.refresh()
        with self._lock:
            return profiles_of(state, task=task, project_id=project_id)


def profiles_of(
    state: ProfileState,
    *,
    task: str | None = None,
    project_id: str | None = None,
    excluded: frozenset[str] | set[str] = frozenset(),
    cooldowns: dict[str, float] | None = None,
) -> list[ModelProfile]:
    """Profiles of ``state`` filtered by task and project (models with any data)."""
    out = []
    for model_id in state.model_ids():
        p = ModelProfile.from_state(
            state, model_id, task=task, project_id=project_id,
            excluded=model_id in excluded,
            cooldown_until=(cooldowns or {}).get(model_id),
        )  # fmt: skip
        if p.calls or p.successes or p.failures or p.inconclusive:
            out.append(p)
    return out
