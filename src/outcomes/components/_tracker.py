"""The component tracker: record install/usage/removal outcomes, read them back as statistics."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Literal

from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._ids import new_id
from outcomes.components._conflicts import (
    DEFAULT_FDR,
    DEFAULT_MIN_JOINT,
    DEFAULT_MIN_LIFT,
    DEFAULT_SESSION_GAP,
    ConflictAnalysis,
    Row,
    co_failure_pairs,
    find_conflicts,
    install_sessions,
)
from outcomes.components._files import read_events, write_events
from outcomes.components._queries import OUTCOME_ROWS, OUTCOME_TOTAL_ROWS
from outcomes.components._records import (
    DEFAULT_MIN_REMOVALS,
    INSTALL_OUTCOMES,
    ComponentEvent,
    ComponentReport,
    ComponentStats,
    OutcomeType,
    RankingMultiplier,
    check_context,
    check_label,
    is_problematic,
    parse_outcome,
    ranking_multiplier,
)
from outcomes.components._report import Counts, fold_totals, stats_in_order
from outcomes.components._schema import MIGRATIONS
from outcomes.errors import ConfigError
from outcomes.store import BackgroundWriter, FlushResult, MemoryStore, Store

_TABLE = ComponentEvent.__table__
_FAILURE = OutcomeType.INSTALL_FAILURE.value
_ANY_OUTCOME: dict[str, str] = {o.value: o.value for o in OutcomeType}


class ComponentTracker:
    """Records what happened to components and answers what that says about them.

    ``store`` defaults to a fresh in-memory store; events reach it through ``writer``
    (default: a :class:`~outcomes.store.BackgroundWriter` the tracker owns), so recording
    never waits for storage and storage failures never reach the caller. Statistics are
    kept in memory, folded from the store's events when the tracker is created and on
    :meth:`refresh` (events written by other processes appear after a refresh).
    Sessions without a caller-supplied id are split at gaps over ``session_gap`` seconds.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        writer: BackgroundWriter | None = None,
        clock: Clock | None = None,
        session_gap: float = DEFAULT_SESSION_GAP,
        min_removals: int = DEFAULT_MIN_REMOVALS,
    ) -> None:
        if not isinstance(session_gap, int | float) or not math.isfinite(session_gap):
            raise ConfigError(f"session_gap must be a finite number, got {session_gap!r}")
        if session_gap <= 0:
            raise ConfigError(f"session_gap must be > 0 seconds, got {session_gap!r}")
        if not isinstance(min_removals, int) or min_removals < 1:
            raise ConfigError(f"min_removals must be an integer >= 1, got {min_removals!r}")
        if store is None:
            store = writer.store if writer is not None else MemoryStore()
        if writer is not None and writer.store is not store:
            raise ConfigError("the writer must write to the tracker's store")
        self.store = store
        self.session_gap = float(session_gap)
        self.min_removals = min_removals
        store.migrate(MIGRATIONS)
        self._owns_writer = writer is None
        self._writer = writer if writer is not None else BackgroundWriter(store)
        self._clock = clock if clock is not None else SYSTEM_CLOCK
        self._lock = threading.Lock()
        self._counts: dict[str, Counts] = self._fold_store()

    # -- recording (hot path) ----------------------------------------------------------
    def record_outcome(
        self,
        component_id: str,
        outcome_type: OutcomeType | str,
        context: str = "",
        *,
        session_id: str | None = None,
    ) -> None:
        """Record one outcome of ``component_id`` now.

        ``outcome_type`` is an :class:`OutcomeType` or its value (``"install_failure"``);
        ``context`` is free text (an error message), redacted and capped at 256
        characters; ``session_id`` groups events of one install session (without it,
        sessions are inferred from time gaps). Returns at once: the event is stored in
        the background. Raises :class:`~outcomes.errors.ValidationError` for bad input
        (empty or over-long ids, unknown outcome types, wrong types); never for storage.
        """
        outcome = _ANY_OUTCOME.get(outcome_type) if isinstance(outcome_type, str) else None
        if outcome is None:
            outcome = parse_outcome(outcome_type).value
        if type(component_id) is not str or not 0 < len(component_id) <= 256:
            check_label(component_id, "component_id")
        if session_id is not None:
            check_label(session_id, "session_id")
        if type(context) is not str:
            check_context(context)
        now = self._clock.now()
        with self._lock:
            counts = self._counts.get(component_id)
            if counts is None:
                check_label(component_id, "component_id")
                counts = self._counts[component_id] = Counts()
            counts.add(outcome, 1, now, now)
        self._writer.submit(
            ComponentEvent(new_id(), component_id, outcome, now, session_id, context)
        )

    # -- statistics --------------------------------------------------------------------
    def get_stats(self, component_id: str) -> ComponentStats | None:
        """The statistics of ``component_id``, or ``None`` if nothing was recorded."""
        with self._lock:
            counts = self._counts.get(component_id)
            return counts.snapshot(component_id) if counts is not None else None

    def all_stats(self) -> list[ComponentStats]:
        """Statistics of every component, in order of first appearance (then id)."""
        with self._lock:
            return stats_in_order(self._counts)

    def get_success_rate(self, component_id: str) -> float:
        """Install success rate; 0.0 when unknown, which callers of the earlier component
        tracker test for (docs/compat.md); :meth:`report` says "unknown" instead."""
        stats = self.get_stats(component_id)
        return stats.success_rate if stats is not None else 0.0

    def get_problematic_components(
        self, *, rule: Literal["posterior", "seed"] = "posterior"
    ) -> list[str]:
        """Components that fail consistently, in order of first appearance.

        ``rule="posterior"`` (default): >= 3 failures and posterior P(rate < 0.5) >= 0.85.
        ``rule="seed"``: >= 3 failures and a raw success rate below 0.5, the earlier
        component tracker's rule, kept for callers tuned on it (docs/compat.md); it flags
        components on thin evidence (1 success in 4).
        """
        if rule == "seed":
            return [s.component_id for s in self.all_stats() if s.is_problematic]
        if rule == "posterior":
            return [s.component_id for s in self.all_stats() if is_problematic(s)]
        raise ConfigError(f"rule must be 'posterior' or 'seed', got {rule!r}")

    def get_frequently_removed(self, min_removals: int | None = None) -> list[str]:
        """Components removed by users at least ``min_removals`` times (default 2)."""
        threshold = self.min_removals if min_removals is None else min_removals
        return [s.component_id for s in self.all_stats() if s.removal_count >= threshold]

    def get_deprecated(self) -> list[str]:
        """Components with a ``deprecated`` outcome, in order of first appearance."""
        return [s.component_id for s in self.all_stats() if s.deprecated]

    def report_for(self, component_id: str) -> ComponentReport | None:
        """The uncertainty-aware view of one component, or ``None`` if unknown."""
        stats = self.get_stats(component_id)
        if stats is None:
            return None
        return ComponentReport.from_stats(stats, min_removals=self.min_removals)

    def report(self) -> list[ComponentReport]:
        """The uncertainty-aware view of every component, in order of first appearance."""
        return [
            ComponentReport.from_stats(s, min_removals=self.min_removals) for s in self.all_stats()
        ]

    def ranking_multiplier(self, component_id: str) -> RankingMultiplier:
        """A recommender's score multiplier for ``component_id``, with its reasons."""
        return ranking_multiplier(self.get_stats(component_id))

    # -- co-failures and conflicts -----------------------------------------------------
    def get_co_failure_pairs(self, min_count: int = 2) -> list[tuple[str, str, int]]:
        """Pairs ``(a, b, n)`` that failed to install in the same session ``n >= min_count`` times.

        The earlier component tracker's raw count, kept for its callers (docs/compat.md):
        it also flags popular components that just fail often; :meth:`find_conflicts`
        separates those from real conflicts.
        """
        self.flush()
        return co_failure_pairs(self._rows((_FAILURE,)), self.session_gap, min_count)

    def find_conflicts(
        self,
        *,
        min_joint: int = DEFAULT_MIN_JOINT,
        min_lift: float = DEFAULT_MIN_LIFT,
        fdr: float = DEFAULT_FDR,
    ) -> ConflictAnalysis:
        """Pairs that fail together more than independence explains (see ``docs/components.md``).

        A conflict has >= ``min_joint`` joint failures, lift >= ``min_lift`` and a
        one-sided Fisher exact test whose Benjamini-Hochberg q-value is <= ``fdr``.
        """
        if not 0.0 < fdr < 1.0:
            raise ConfigError(f"fdr must be in (0, 1), got {fdr!r}")
        self.flush()
        sessions = install_sessions(self._rows(INSTALL_OUTCOMES), self.session_gap)
        return find_conflicts(sessions, min_joint=min_joint, min_lift=min_lift, fdr=fdr)

    # -- storage -----------------------------------------------------------------------
    def events(self, component_id: str | None = None) -> Iterator[ComponentEvent]:
        """Every stored event (of ``component_id``), in the order they were recorded."""
        self.flush()
        where = [] if component_id is None else [("component_id", "=", component_id)]
        return self.store.scan(_TABLE, where=where)  # type: ignore[arg-type]

    @property
    def writer(self) -> BackgroundWriter:
        """The writer events go through (its ``stats()`` count drops and failures)."""
        return self._writer

    def flush(self, timeout: float | None = 10.0) -> FlushResult:
        """Wait until every recorded event is stored; false on timeout or when events
        were lost since the previous flush (see :class:`~outcomes.store.FlushResult`)."""
        return self._writer.flush(timeout)

    def refresh(self) -> None:
        """Rebuild the statistics from the store (picks up other processes' events).

        Recording is not paused meanwhile: an event recorded by another thread while the
        store is being read may be missing from the statistics until the next refresh.
        """
        self.flush()
        counts = self._fold_store()
        with self._lock:
            self._counts = counts

    def close(self) -> None:
        """Flush and stop the writer if the tracker created it. Idempotent."""
        if self._owns_writer:
            self._writer.close()
        else:
            self._writer.flush()

    def __enter__(self) -> ComponentTracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def save(self, path: str | os.PathLike[str]) -> int:
        """Write every stored event to a JSON file (atomic, mode 0600); returns the count."""
        return write_events(path, self.events())

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        session_gap: float = DEFAULT_SESSION_GAP,
    ) -> ComponentTracker:
        """A tracker over ``store`` holding the events saved at ``path``.

        A missing file gives an empty tracker. A corrupt file is renamed aside
        (``<name>.corrupt-<time>``) with a warning and gives an empty tracker, so that a
        later :meth:`save` cannot overwrite the history it held. Events already in the
        store are not duplicated.
        """
        tracker = cls(store, clock=clock, session_gap=session_gap)
        events = read_events(path)
        if events:
            tracker.store.write(events)
            tracker.refresh()
        return tracker

    # -- internals ---------------------------------------------------------------------
    def _rows(self, outcomes: tuple[str, ...]) -> Iterator[Row]:
        for cid, outcome, ts, session in self.store.iter_query(OUTCOME_ROWS, (outcomes,)):
            yield cid, outcome, float(ts), session

    def _fold_store(self) -> dict[str, Counts]:
        return fold_totals(self.store.iter_query(OUTCOME_TOTAL_ROWS))
