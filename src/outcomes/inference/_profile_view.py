"""The tracker's profile view: the local fold, the shared book, and published snapshots.

Two views of the same kind of statistics:

- *local*: this process's receipts (and imported or loaded profiles), folded lazily: on
  read, or every :data:`FOLD_EVERY` receipts;
- *shared*: the store's receipts as every process sharing it sees them, folded by a
  :class:`~outcomes.inference.ProfileBook` (without a store, the local view).

A view made with ``local=False`` (a service whose every read is of the store) keeps no
local fold: receipts only go to the store, and local reads are the shared view's.

Reads that may wait (``profiles``, ``shared_profiles``) fold first. Readers that must
never wait (a router's decisions) take :meth:`ProfileView.snapshot`: the latest published
:class:`ProfileSnapshot` of a view, one attribute read. The first request for a view
starts a refresher thread that rebuilds the requested views off the hot path, at most
every ``refresh_s`` seconds: promptly after the background writer commits (it pokes the
refresher), and on that interval anyway (what other processes commit). ``refresh()``
rebuilds at once, for callers that want to wait.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

from outcomes.errors import ConfigError
from outcomes.inference._context import TrackerContext
from outcomes.inference._fold import ProfileBook
from outcomes.inference._profiles import ProfileState
from outcomes.inference._refresher import Refresher
from outcomes.inference._snapshot import EMPTY_SNAPSHOT, ProfileSnapshot, build_snapshot
from outcomes.inference._view import ModelProfile, profiles_of
from outcomes.records import Receipt
from outcomes.store import Store

View = Literal["shared", "local"]
T = TypeVar("T")

FOLD_EVERY = 4096
"""Receipts are folded into the local state lazily: on read, or every this many."""
DEFAULT_REFRESH_S = 1.0


class ProfileView:
    """Profile state of one tracker (see the module docstring).

    ``store`` is the shared view's source (``None``: local only); ``refresh_s`` the
    refresher's minimum interval in seconds; ``ctx`` gives the clock that stamps
    snapshots. ``local=False`` (needs a store) keeps no local fold: :attr:`fold` is
    ``None``, every local read is a read of the shared book and the local snapshot is
    the shared one; importing or loading profiles raises :class:`ConfigError`.
    """

    def __init__(
        self,
        ctx: TrackerContext,
        store: Store | None,
        *,
        half_life: float,
        refresh_s: float = DEFAULT_REFRESH_S,
        local: bool = True,
    ) -> None:
        if not local and store is None:
            raise ConfigError("local_profiles=False needs a store to read profiles from")
        self._ctx = ctx
        self.store = store
        self.local = local
        self._state = ProfileState(half_life=half_life)
        self._unfolded: deque[Receipt] = deque()
        self._lock = threading.Lock()
        """Guards the local state; held for folds and reads, never during I/O."""
        self.dirty = False
        """Whether the local state changed since it was last saved to a file."""
        self._changes = 0
        """Count of changes other than folds (imports, loads), for the refresher."""
        self._book: ProfileBook | None = None
        self._published: dict[View, ProfileSnapshot] = {
            "local": EMPTY_SNAPSHOT,
            "shared": EMPTY_SNAPSHOT,
        }
        self._published_no: dict[View, int] = {"local": 0, "shared": 0}
        self._built_from: dict[View, tuple[int, int]] = {}
        self._builds: dict[View, int] = {"local": 0, "shared": 0}
        self._publish_lock = threading.Lock()
        self._active: frozenset[View] = frozenset()
        self._refresher = Refresher(self._refresh_active, refresh_s, "outcomes-profile-view")

    @property
    def half_life(self) -> float:
        return self._state.half_life

    @property
    def refresh_s(self) -> float:
        return self._refresher.interval

    # -- the recording hot path --------------------------------------------------------
    @property
    def fold(self) -> Callable[[Receipt], None] | None:
        """What takes each new receipt into the local fold (:meth:`add`); ``None`` when
        the view keeps none (the store's rollups fold every receipt already)."""
        return self.add if self.local else None

    def add(self, r: Receipt) -> None:
        """Queue one receipt for the local fold (folded on the next read)."""
        q = self._unfolded
        q.append(r)
        self.dirty = True
        if len(q) >= FOLD_EVERY:
            self.read(_noop)

    def committed(self, n: int) -> None:
        """The writer committed ``n`` new receipts (called on its thread): ask for a
        shared rebuild."""
        if n and "shared" in self._active:
            self._refresher.poke()

    # -- local reads (fold first) ------------------------------------------------------
    def read(self, fn: Callable[[ProfileState], T]) -> T:
        """Fold what is queued, then run ``fn`` on the live local state under the lock
        (without a local fold: on the shared book's state, under its lock)."""
        if not self.local:
            book = self.book()
            assert book is not None  # local=False needs a store (checked at creation)
            return book.read(fn)
        with self._lock:
            q = self._unfolded
            fold = self._state.fold
            while q:
                fold(q.popleft())
            return fn(self._state)

    def state(self) -> ProfileState:
        return self.read(_same)

    def profile(
        self,
        model_id: str,
        task: str | None,
        project_id: str | None,
        *,
        excluded: bool,
        cooldown_until: float | None,
    ) -> ModelProfile | None:
        def one(state: ProfileState) -> ModelProfile | None:
            if model_id not in state.ema and not any(k[0] == model_id for k in state.parts):
                return None
            return ModelProfile.from_state(
                state, model_id, task=task, project_id=project_id, excluded=excluded,
                cooldown_until=cooldown_until,
            )  # fmt: skip

        return self.read(one)

    def profiles(
        self,
        task: str | None,
        project_id: str | None,
        *,
        excluded: frozenset[str] | set[str],
        cooldowns: dict[str, float],
    ) -> list[ModelProfile]:
        return self.read(
            lambda state: profiles_of(
                state, task=task, project_id=project_id, excluded=excluded, cooldowns=cooldowns
            )
        )

    # -- changes other than receipts ---------------------------------------------------
    def import_profiles(self, profiles: Iterable[ModelProfile]) -> None:
        """Replace what is known about each model with an imported profile (dirties).
        Raises :class:`ConfigError` without a local fold (the store's profiles are
        folded from its receipts only)."""
        self._needs_local("import profiles")

        def apply(state: ProfileState) -> None:
            for p in profiles:
                state.replace_model(p.model_id, p.to_state(state.half_life))
            self._changes += 1
            self.dirty = True

        self.read(apply)

    def load(self, loaded: ProfileState) -> list[str]:
        """Replace the models of ``loaded`` (a saved state); returns their ids. Loading is
        not a change to save (the view stays clean). Raises :class:`ConfigError` without
        a local fold."""
        self._needs_local("load profiles")

        def apply(state: ProfileState) -> list[str]:
            models = loaded.model_ids()
            for model_id in models:
                state.replace_model(model_id, loaded)
            self._changes += 1
            return models

        return self.read(apply)

    def _needs_local(self, what: str) -> None:
        if not self.local:
            raise ConfigError(f"cannot {what}: this tracker keeps no local profiles")

    # -- the shared view ---------------------------------------------------------------
    def book(self) -> ProfileBook | None:
        """The store's profile book (created on first use), or ``None`` without a store."""
        if self.store is None:
            return None
        if self._book is None:
            self._book = ProfileBook(self.store, half_life=self._state.half_life)
        return self._book

    # -- snapshots ---------------------------------------------------------------------
    def snapshot(self, view: View = "shared") -> ProfileSnapshot:
        """The latest published snapshot of ``view``: no lock, no I/O.

        The first request for a view starts the refresher and returns the empty
        snapshot (``snapshot.empty``) until its first build is published; call
        :meth:`refresh` to wait for one.
        """
        view = self._source(view)
        snap = self._published[view]
        if view not in self._active or not self._refresher.running:
            self._activate(view)
        return snap

    def _activate(self, view: View) -> None:
        if self._refresher.stopped:
            return
        with self._publish_lock:
            self._active = self._active | {view}
        self._refresher.start()
        self._refresher.poke()

    def refresh(self, views: Iterable[View] | None = None) -> None:
        """Rebuild and publish ``views`` now (default: every view requested so far).
        Waits for the fold, and for the store's reads."""
        wanted = {self._source(v) for v in (self._active if views is None else views)}
        for view in ("local", "shared"):
            if view in wanted:
                self._rebuild(view)

    def _source(self, view: View) -> View:
        """The view that answers for ``view``: without a store the local one, without a
        local fold the shared one."""
        if view == "shared" and self.store is None:
            return "local"
        if view == "local" and not self.local:
            return "shared"
        return view

    def active(self) -> frozenset[View]:
        """The views requested so far (kept fresh by the refresher)."""
        return self._active

    def _refresh_active(self) -> None:
        for view in sorted(self._active):
            self._rebuild(view)

    def _rebuild(self, view: View) -> None:
        now = self._ctx.clock.now

        def build(state: ProfileState) -> tuple[int, ProfileSnapshot | None]:
            marker = (state.receipts, self._changes)
            if self._built_from.get(view) == marker and self._published_no[view]:
                return 0, None  # nothing changed since the last build
            self._built_from[view] = marker
            no = self._builds[view] = self._builds[view] + 1
            return no, build_snapshot(state, now())

        book = self.book() if view == "shared" else None
        no, snap = book.read(build) if book is not None else self.read(build)
        if snap is None:
            return
        with self._publish_lock:
            # Builds run under the lock of their state, so their numbers follow the
            # order of the states they saw: an older build never replaces a newer one.
            if no > self._published_no[view]:
                self._published_no[view] = no
                self._published[view] = snap

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop the refresher (the published snapshots stay readable)."""
        self._refresher.stop(timeout)

    def after_fork_in_child(self) -> None:
        # The lock may have been held by a thread that does not exist in the child, and
        # a book that was folding at fork time may be half-way through a batch.
        self._lock = threading.Lock()
        self._publish_lock = threading.Lock()
        self._book = None
        self._built_from = {}
        self._builds = {"local": 0, "shared": 0}
        self._published_no = {"local": 0, "shared": 0}


def _noop(state: ProfileState) -> None:
    return None


def _same(state: ProfileState) -> ProfileState:
    return state
