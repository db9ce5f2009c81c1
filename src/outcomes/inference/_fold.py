"""Profiles from the store: its rollups, or a streamed fold of the inference receipts.

:func:`from_rollups` reads the rollup cells the store keeps as it writes receipts
(``outcomes.store._rollups``): a read costs one row per (model, task, project) cell,
whatever the number of receipts. It is what a :class:`ProfileBook` with the default
half-life reads.

:func:`rebuild` folds every inference receipt of a store into a fresh
:class:`~outcomes.inference.ProfileState` in constant memory (rows are streamed; the state
grows with the number of (model, task, project) cells, never with receipts). A
:class:`ProfileBook` keeps such a state and folds only the receipts added since its last
read, so every process reading one SQLite or PostgreSQL store sees the same profiles.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from outcomes._files import atomic_write, check_path, clean_stale_tmp
from outcomes._safejson import load_file
from outcomes.errors import OutcomesError
from outcomes.inference._profiles import DEFAULT_HALF_LIFE_S, FOLD_FIELDS, ProfileState
from outcomes.inference._queries import FOLD_ROWS, ROLLUP_CELL_ROWS, ROLLUP_EMA_ROWS
from outcomes.inference._view import ModelProfile, profiles_of
from outcomes.records import Receipt
from outcomes.store import ROLLUP_HALF_LIFE_S, Store
from outcomes.store._rollup_rows import rollup_state

log = logging.getLogger("outcomes.inference")

INFERENCE_KIND = "inference"

T = TypeVar("T")

_N = len(FOLD_FIELDS)


def _fold_from(state: ProfileState, store: Store, after_seq: int) -> tuple[int, int]:
    """Fold the inference receipts inserted after ``after_seq`` (streamed, every store);
    returns the last seq seen and how many receipts were folded."""
    last = after_seq
    n = 0
    fold = state.fold_values
    for row in store.iter_query(FOLD_ROWS, (INFERENCE_KIND, after_seq)):
        fold(*row[:_N])
        last = row[_N]
        n += 1
    return last, n


def rebuild(store: Store, *, half_life: float = DEFAULT_HALF_LIFE_S) -> ProfileState:
    """Fold every inference receipt in ``store`` into a new state (streamed)."""
    state = ProfileState(half_life=half_life)
    _fold_from(state, store, 0)
    return state


def from_rollups(store: Store) -> ProfileState:
    """The profiles of every inference receipt in ``store``, read from its rollups (one
    row per cell; half-life :data:`~outcomes.store.ROLLUP_HALF_LIFE_S`). Equal to
    :func:`rebuild` up to float rounding (the EMA follows commit order)."""
    cells = store.iter_query(ROLLUP_CELL_ROWS)
    try:
        return rollup_state(cells, store.query(ROLLUP_EMA_ROWS))
    finally:
        # A malformed row stops the read half-way: end the stream while the store is
        # open (its cleanup after the store's close would report a second error).
        close = getattr(cells, "close", None)
        if close is not None:
            close()


CACHE_FORMAT = "outcomes.profile-cache"
MAX_CACHE_BYTES = 256 << 20
"""A cache larger than this is ignored unread (it is rebuilt from the store)."""
CACHE_VERSION = 3
"""2: cells carry decayed success and failure counts; 3: counts decayed at
:data:`~outcomes.stats._profiles.COUNTS_HALF_LIFE_SHARE` of the half-life."""


class ProfileBook:
    """Profiles of every model as stored: what all processes sharing ``store`` see.

    Reads fold only the receipts added since the previous read (by the store's insertion
    sequence). Thread-safe. ``excluded`` and cooldowns are per process and live in the
    tracker, not here.

    With the default half-life a read is the store's rollups (no receipt is read and
    the cache is not used). ``cache`` (database stores only, other half-lives) names a
    file that keeps the folded state between runs (the CLI uses
    ``$OUTCOMES_HOME/profiles.cache.json``): a later run folds only newer receipts. The
    cache is derived data: it is used only when it belongs to the same store and
    half-life and the receipts it covers are all still there (same count up to its
    cursor, so a prune invalidates it); otherwise it is rebuilt and overwritten.
    """

    def __init__(
        self,
        store: Store,
        *,
        half_life: float = DEFAULT_HALF_LIFE_S,
        cache: Path | None = None,
    ) -> None:
        self.store = store
        self.half_life = half_life
        self.cache = cache if store.kind != "memory" else None
        self._state = ProfileState(half_life=half_life)
        self._cursor = 0
        self._count = 0
        self._cache_checked = False
        self._lock = threading.RLock()

    def _load_cache(self, store: Store, cache: Path) -> None:
        try:
            # The cache sits in the folder outcomes manages: never read through a link.
            clean_stale_tmp(cache)
            check_path(cache, root=cache.parent, explicit=False)
            doc = load_file(cache, max_bytes=MAX_CACHE_BYTES)
            if not isinstance(doc, dict):
                return
            if (
                doc.get("format") != CACHE_FORMAT
                or doc.get("version") != CACHE_VERSION
                or doc.get("store") != store.url
                or doc.get("half_life_s") != self.half_life
            ):
                return
            cursor, count = int(doc["cursor"]), int(doc["count"])
            covered = store.count(
                Receipt.__table__, where=[("kind", "=", INFERENCE_KIND), ("seq", "<=", cursor)]
            )
            if covered != count:
                return  # receipts were pruned or replaced: fold from scratch
            state = ProfileState.from_json(doc["state"])
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError, OutcomesError) as exc:
            log.info("outcomes: ignoring the profile cache %s (%s)", cache, exc)
            return
        self._state, self._cursor, self._count = state, cursor, count

    def _save_cache(self, store: Store, cache: Path) -> None:
        doc = {
            "format": CACHE_FORMAT,
            "version": CACHE_VERSION,
            "store": store.url,
            "half_life_s": self.half_life,
            "cursor": self._cursor,
            "count": self._count,
            "state": self._state.to_json(),
        }
        try:
            atomic_write(cache, json.dumps(doc, allow_nan=False), root=cache.parent, explicit=False)
        except OSError as exc:
            log.info("outcomes: cannot write the profile cache %s (%s)", cache, exc)

    @property
    def on_rollups(self) -> bool:
        """Whether reads come from the store's rollups (the default half-life) rather
        than from a fold of its receipts."""
        return self.half_life == ROLLUP_HALF_LIFE_S

    def refresh(self) -> ProfileState:
        """Fold new receipts (or read the rollups) and return the (live) state."""
        with self._lock:
            store = self.store
            if self.on_rollups:
                self._state = from_rollups(store)
                return self._state
            if self.cache is not None and not self._cache_checked:
                self._cache_checked = True
                self._load_cache(store, self.cache)
            before = self._cursor
            self._cursor, n = _fold_from(self._state, store, self._cursor)
            self._count += n
            if self.cache is not None and self._cursor != before:
                self._save_cache(store, self.cache)
            return self._state

    def state(self) -> ProfileState:
        return self.refresh()

    def read(self, fn: Callable[[ProfileState], T]) -> T:
        """Fold new receipts, then run ``fn`` on the state while no other fold can change
        it (``fn`` must not keep the state: it is live)."""
        with self._lock:
            self.refresh()
            return fn(self._state)

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
