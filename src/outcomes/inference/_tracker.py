"""The inference outcome tracker: one facade over the rooms that do the work.

Every event that changes what is known about a call becomes a :class:`Receipt`, written
through the background writer and folded into this process's profile state:

- ``record_complete``: one receipt (``source="complete"``): a mechanical success when the
  call produced output tokens, else unknown (inconclusive);
- ``record_failure``: one receipt (``source="failure"``, success false);
- a signal: a receipt that *supersedes* the call's latest receipt (``source="signal"``),
  repeating the superseded outcome so the fold can take it back;
- the pending sweep evicts calls from memory; their completion receipt already holds the
  mechanical outcome, so it is the sweep's receipt (no duplicate is written).

Recording never raises into the host application (unless ``strict=True``) and never
blocks: invalid input is logged once per kind and dropped.

The rooms: :mod:`._lifecycle` (pending calls), :mod:`._resolution` (signals),
:mod:`._limits` (exclusions, cooldowns), :mod:`._profile_view` (local fold, shared book,
published snapshots), :mod:`._compat` (profile files, the ledger buffer).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager
from typing import Any, TypeVar, Unpack

from outcomes import config
from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._ids import new_id
from outcomes.errors import ValidationError
from outcomes.inference import _calls
from outcomes.inference._calls import RecordedCall, StartOptions
from outcomes.inference._compat import LedgerBuffer, ProfileFiles
from outcomes.inference._context import TrackerContext
from outcomes.inference._feedback import FeedbackDesk, Outcome
from outcomes.inference._feedback_schema import MIGRATIONS as FEEDBACK_MIGRATIONS
from outcomes.inference._filter import ProfileFilter, matching_profiles
from outcomes.inference._later import Later, caught_up
from outcomes.inference._lifecycle import CallLifecycle
from outcomes.inference._limits import DEFAULT_COOLDOWN_S, RateLimits
from outcomes.inference._profile_view import DEFAULT_REFRESH_S, ProfileView, View
from outcomes.inference._profiles import DEFAULT_HALF_LIFE_S, ProfileState
from outcomes.inference._resolution import SignalResolution
from outcomes.inference._setting import Setting, check_seconds
from outcomes.inference._signals import (
    ActionResult,
    InferredOutcome,
    infer_from_action_sequence,
)
from outcomes.inference._snapshot import ProfileSnapshot
from outcomes.inference._validate import setting
from outcomes.inference._view import ModelProfile
from outcomes.records import Call, CodeVerdict, ConversationVerdict, Receipt, Signal
from outcomes.registry import ModelRegistry
from outcomes.store import BackgroundWriter, FlushResult, Store

DEFAULT_LATE_WINDOW_S = 7 * 86_400.0

F = TypeVar("F", bound=Callable[..., Any])


class OutcomeTracker:
    """Records model calls and their outcomes; folds them into model profiles.

    ``store`` (optional) receives every receipt through ``writer`` (default: a new
    :class:`~outcomes.store.BackgroundWriter`); without a store the tracker works in
    memory. ``clock`` is injectable (tests use ``FakeClock``); ``registry`` prices calls
    that report no cost; ``half_life`` (seconds) sets how fast old quality fades;
    ``late_window`` (seconds) how long after a call a signal may still correct it;
    ``cooldown`` the default rate-limit cooldown without Retry-After; ``refresh_s`` the
    minimum interval between two rebuilds of the published profile snapshots
    (:meth:`snapshot`). ``strict=True`` raises :class:`~outcomes.errors.ValidationError`
    on bad input instead of logging and dropping it. ``local_profiles=False`` (needs a
    store) keeps no fold of this process's receipts next to the store's rollups, which
    fold every receipt anyway: for a service whose reads are all of the store. Local
    reads (:meth:`profiles`, :meth:`profile`, :meth:`state`, the ``"local"`` snapshot)
    then answer from the store as :meth:`shared_profiles` does (committed receipts
    only), and :meth:`import_profiles`/:meth:`load_from_file` raise
    :class:`~outcomes.errors.ConfigError`. Unset durations come from
    ``OUTCOMES_QUALITY_HALF_LIFE``, ``OUTCOMES_LATE_SIGNAL_WINDOW`` and
    ``OUTCOMES_RATE_LIMIT_COOLDOWN`` (seconds).
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        writer: BackgroundWriter | None = None,
        clock: Clock | None = None,
        registry: ModelRegistry | None = None,
        half_life: float | None = None,
        late_window: float | None = None,
        cooldown: float | None = None,
        refresh_s: float = DEFAULT_REFRESH_S,
        strict: bool = False,
        local_profiles: bool = True,
    ) -> None:
        if half_life is None:
            half_life = setting(config.ENV_QUALITY_HALF_LIFE, DEFAULT_HALF_LIFE_S)
        if late_window is None:
            late_window = setting(config.ENV_LATE_SIGNAL_WINDOW, DEFAULT_LATE_WINDOW_S)
        if cooldown is None:
            cooldown = setting(config.ENV_RATE_LIMIT_COOLDOWN, DEFAULT_COOLDOWN_S)
        check_seconds(half_life, "half_life", positive=True)
        check_seconds(late_window, "late_window", positive=False)
        check_seconds(cooldown, "cooldown", positive=False)
        check_seconds(refresh_s, "refresh_s", positive=True)
        self.store = store
        self._own_writer = writer is None and store is not None
        if store is not None:
            store.migrate(FEEDBACK_MIGRATIONS)
            if writer is None:
                writer = BackgroundWriter(store)
        self.writer = writer
        ctx = self._ctx = TrackerContext(
            clock if clock is not None else SYSTEM_CLOCK, strict=strict, late_window=late_window
        )
        self._limits = RateLimits(ctx, cooldown)
        self._view = ProfileView(
            ctx, store, half_life=half_life, refresh_s=refresh_s, local=local_profiles
        )
        self._ledger = LedgerBuffer(ctx)
        self._files = ProfileFiles(self._view)
        submit, many = (None, None) if writer is None else (writer.submit, writer.submit_many)
        registry = registry if registry is not None else ModelRegistry.builtin()
        calls = CallLifecycle(ctx, self._view, self._limits, self._ledger, submit, registry, many)
        self._calls = calls
        self._signals = SignalResolution(ctx, calls, store)
        self._feedback = FeedbackDesk(ctx, self._signals, submit)
        self._later = Later(writer.settings.queue_size if writer is not None else 0)
        self._feed = self._later.feeder(writer)
        if writer is not None:
            writer.add_commit_hook(self._view.committed)
            writer.add_feed(self._feed)
        _live_trackers.add(self)

    # -- settings (each lives on the room that uses it) -------------------------------
    clock = Setting[Clock](
        "_ctx", "The clock stamping receipts (injectable; tests use ``FakeClock``)."
    )
    strict = Setting[bool]("_ctx", "Raise on bad input instead of logging and dropping it.")
    late_window = Setting[float](
        "_ctx", "Seconds after a call's latest receipt during which a signal may correct it."
    )
    default_cooldown = Setting[float](
        "_limits", "Seconds a rate-limited model cools down when the error gave no Retry-After."
    )
    max_pending = Setting[int]("_calls", "Pending calls kept in memory before the oldest go.")

    @property
    def registry(self) -> ModelRegistry:
        """Prices calls that report no cost (:meth:`clear_price_cache` after a change in
        place). Setting it, or clearing the cache, records the calls waiting first."""
        return self._calls.registry

    @registry.setter
    def registry(self, value: ModelRegistry) -> None:
        self._later.run()  # calls reported before are priced as they were reported
        self._calls.registry = value

    @property
    def refresh_s(self) -> float:
        """Minimum seconds between two rebuilds of the published snapshots."""
        return self._view.refresh_s

    def clear_price_cache(self) -> None:
        """Forget cached prices (call after changing ``tracker.registry`` in place)."""
        self._calls.clear_prices()

    # -- lifecycle ---------------------------------------------------------------------
    def record_start(
        self,
        model_id: str,
        task: str,
        routing_reason: str = "",
        *,
        project_id: str | None = None,
        intent: str | None = None,
        propensity: float | None = None,
        trace_id: str | None = None,
    ) -> str:
        """Record that a call started; returns its trace id (unique across processes).

        ``routing_reason`` is a short rationale ("code task -> qwen"), redacted and capped
        at 256 characters: never put prompt text in it. ``trace_id`` adopts an id made
        elsewhere (ingest, another service); it must be unique (a call still waiting to be
        recorded, :meth:`record_later`, is recorded first: it started first)."""
        self._later.catch_up(trace_id)
        start = self._calls.start
        return start(model_id, task, routing_reason, project_id, intent, propensity, trace_id)

    def record_complete(
        self,
        trace_id: str,
        latency_ms: float,
        input_tokens: int,
        output_tokens: int,
        *,
        cost_usd: float | None = None,
        ttft_ms: float | None = None,
    ) -> None:
        """Record that a call finished: latency, tokens, cost (from the registry if not given).

        Output tokens > 0 credit a mechanical success at once; quality is left to signals.
        ``ttft_ms`` is the time to the first token of a stream, stored on the receipt; a
        bad value (negative, not finite) is refused like a bad latency.
        """
        self._calls.complete(trace_id, latency_ms, input_tokens, output_tokens, cost_usd, ttft_ms)

    def record_call(
        self, model_id: str, task: str, latency_ms: float, input_tokens: int,
        output_tokens: int, routing_reason: str = "", *, cost_usd: float | None = None,
        trace_id: str | None = None, ttft_ms: float | None = None,
        timestamp: float | None = None, **options: Unpack[StartOptions],
    ) -> str:  # fmt: skip
        """Record a call reported once it finished: :meth:`record_start` (``options``:
        ``project_id``, ``intent``, ``propensity``) and :meth:`record_complete` (``ttft_ms``)
        in one step, same checks and receipt, started and completed at once; returns its
        trace id. Refused figures leave the call started, as the two calls would. ``timestamp``
        (default: the clock's now) is when it was reported, if later (:meth:`record_later`)."""
        self._later.catch_up(trace_id)  # as in record_start
        figures = (latency_ms, input_tokens, output_tokens, cost_usd, ttft_ms)
        return self._calls.start(
            model_id, task, routing_reason, options.get("project_id"), options.get("intent"),
            options.get("propensity"), trace_id, figures, at=timestamp,
        )  # fmt: skip

    def record_later(self, record: Callable[[float], object]) -> None:
        """Have ``record(at)`` record a call reported now (``at``: the clock's now, for
        :meth:`record_call`'s ``timestamp``) on the writer's thread before its next drain,
        or before any read of this tracker that could see it (see :mod:`._later`).
        ``record`` must not raise and must carry its trace id (:meth:`new_trace_id`). At
        once, on this thread, without a writer, when it is closed or blocks on a full
        queue (only this thread may wait), or after :meth:`close`; when too many calls
        wait, they are all recorded here first (memory stays bounded)."""
        self._later.report(record, self._ctx.now(), self.writer)

    def new_trace_id(self) -> str:
        """A fresh id for a call recorded later (own format: no secret scan when it starts)."""
        return new_id()

    def checked_trace_ids(self, trace_ids: list[str]) -> AbstractContextManager[bool]:
        """Check the trace ids of a batch about to be recorded in one pass over them all;
        in the ``with`` block, starting a call with one of them skips its own check.
        Yields whether they all passed (if not, each is checked as it starts)."""
        return self._calls.checked(trace_ids)

    def record_failure(
        self,
        trace_id: str,
        error: str,
        *,
        retry_after: float | None = None,
        latency_ms: float | None = None,
    ) -> None:
        """Record that a call failed (counts the call and a failure).

        ``429``/``RESOURCE_EXHAUSTED`` errors exclude the model for this session and start
        a cooldown of ``retry_after`` seconds (or a ``Retry-After`` found in the error, or
        the tracker's default cooldown).
        """
        self._calls.fail(trace_id, error, retry_after, latency_ms)

    def sweep_pending(self, ttl_secs: float, *, now: float | None = None) -> int:
        """Evict calls started more than ``ttl_secs`` ago; returns how many.

        A completed call's receipt (mechanical success, or inconclusive without output)
        goes to the ledger buffer and stays correctable by late signals; a call that never
        completed is dropped without a receipt.
        """
        return self._calls.sweep(ttl_secs, now)

    def is_resolved(self, trace_id: str) -> bool:
        """Whether this process resolved ``trace_id`` recently (within the late window)."""
        return trace_id in self._calls.recent

    def pending_trace_ids(self) -> list[str]:
        return list(self._calls.pending)

    def pending_completed(self, trace_id: str) -> bool | None:
        """``None`` when ``trace_id`` is not pending, else whether it has completed: the
        cheap form of ``get_pending(trace_id)`` and its ``completed_at`` (batch ingest)."""
        return self._calls.completed(trace_id)

    def get_pending(self, trace_id: str) -> Call | None:
        """The pending call as a :class:`Call` record, or ``None``."""
        return self._calls.get(trace_id)

    # -- signals -----------------------------------------------------------------------
    def record_signal(self, signal: Signal) -> bool:
        """Apply evidence about a call; idempotent by ``signal.signal_id``.

        Returns whether the signal changed anything (``False`` for a duplicate, an
        unknown trace, a failed call, a signal later than the late window, or a detail
        signal whose kind has a dot, such as ``code.symbol``: details describe a call,
        they do not replace its verdict).
        """
        return self._signals.signal(signal)

    def record_inferred_outcome(
        self,
        trace_id: str,
        outcome: InferredOutcome | ConversationVerdict | str,
        confidence: float | None = None,
        *,
        signal_id: str | None = None,
    ) -> bool:
        """Apply a conversation verdict (an :class:`InferredOutcome`, or a verdict and a
        confidence, default 1.0). ``signal_id`` makes it idempotent; without one, a verdict
        that repeats the call's latest signal changes nothing."""
        return self._signals.inferred(trace_id, outcome, confidence, signal_id)

    def record_code_outcome(
        self, trace_id: str, outcome: CodeVerdict | str, *, signal_id: str | None = None
    ) -> bool:
        """Apply what git showed about a code suggestion (ground truth)."""
        return self._signals.code(trace_id, outcome, signal_id)

    def resolve_pending_from_signals(self, outcomes: Iterable[tuple[str, InferredOutcome]]) -> int:
        """Apply (trace id, outcome) pairs; returns how many changed something."""
        return self._signals.many(outcomes)

    def infer_outcomes_from_action_sequence(
        self, action_results: Sequence[ActionResult]
    ) -> list[tuple[str, InferredOutcome]]:
        """Outcomes implied by a chain of actions (see :func:`infer_from_action_sequence`)."""
        return infer_from_action_sequence(action_results)

    def feedback(
        self,
        trace_id: str,
        *,
        score: float | None = None,
        score_range: tuple[float, float] = (0.0, 1.0),
        label: str | None = None,
        thumbs: bool | None = None,
        user_id: str | None = None,
        session_id: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, str | int | float | bool | None] | None = None,
        signal_id: str | None = None,
    ) -> bool:
        """Attach open feedback to a call: a ``score`` in ``score_range``, a categorical
        ``label``, ``thumbs`` up (True) or down (False), the ``user_id``/``session_id`` it
        came from (ids, <= 128 chars), ``tags`` (<= 20, each 1-64 letters, digits or
        ``_.:/-``; profiles filter on them) and small flat ``metadata`` (<= 16 scalars).

        The score, thumbs and label become the call's success and quality (see
        :func:`outcomes.inference._feedback.feedback_outcome` and docs/integrations.md),
        superseding its latest receipt like a signal; ``signal_id`` makes delivery
        idempotent. Returns whether the feedback was taken (False for invalid input,
        empty feedback or a repeated ``signal_id``); the stored row says whether the
        call's outcome changed. Never raises unless the tracker is strict.
        """
        fields = {
            "score": score, "score_range": score_range, "label": label, "thumbs": thumbs,
            "user_id": user_id, "session_id": session_id, "tags": tags,
            "metadata": metadata, "signal_id": signal_id,
        }  # fmt: skip
        return self._feedback.give(trace_id, fields)

    @property
    def feedback_labels(self) -> dict[str, Outcome]:
        """The label vocabulary of :meth:`feedback`: lower-case label -> (success,
        quality); edit it in place to add labels."""
        return self._feedback.labels

    # -- rate limits -------------------------------------------------------------------
    def is_excluded(self, model_id: str) -> bool:
        """Whether ``model_id`` was rate-limited in this session (hard exclusion)."""
        return self._limits.is_excluded(model_id)

    def clear_exclusion(self, model_id: str | None = None) -> None:
        """Lift the session exclusion (and cooldown) of one model, or of all."""
        self._limits.clear(model_id)

    def cooldown_until(self, model_id: str) -> float | None:
        """Unix time until which ``model_id`` should not be called, or ``None``."""
        return self._limits.cooldown_until(model_id)

    def rate_limits(self) -> tuple[AbstractSet[str], Mapping[str, float]]:
        """The models excluded for this session and the running cooldowns' deadlines.

        Both are empty in the common case, which costs no lock: a router then skips its
        per-model checks. Otherwise they are copies taken under the lock (another thread
        may be recording a 429 meanwhile); passed cooldowns are dropped on the way.
        """
        return self._limits.current()

    def is_available(self, model_id: str) -> bool:
        """Neither excluded for the session nor cooling down."""
        return not self.is_excluded(model_id) and self.cooldown_until(model_id) is None

    # -- reads -------------------------------------------------------------------------
    def profile(
        self, model_id: str, *, task: str | None = None, project_id: str | None = None
    ) -> ModelProfile | None:
        """This process's profile of ``model_id`` (optionally one task/project), or None."""
        return self._view.profile(
            model_id, task, project_id,
            excluded=self.is_excluded(model_id), cooldown_until=self.cooldown_until(model_id),
        )  # fmt: skip

    def profiles(
        self, *, task: str | None = None, project_id: str | None = None
    ) -> list[ModelProfile]:
        """Profiles of every model with data for the filter, by model id."""
        excluded, cooldowns = self._limits.current()
        return self._view.profiles(
            task, project_id, excluded=set(excluded), cooldowns=dict(cooldowns)
        )

    def shared_profiles(
        self,
        *,
        task: str | None = None,
        project_id: str | None = None,
        tag: str | None = None,
        since: float | None = None,
        flush: bool = True,
    ) -> list[ModelProfile]:
        """Profiles as stored, i.e. as every process sharing the store sees them (this
        process's exclusions and cooldowns added). Without a store: :meth:`profiles`.
        Waits for the writer (unless ``flush=False``) and reads the store. ``tag`` keeps
        the calls tagged so by :meth:`feedback`, ``since`` (Unix time) the calls first
        recorded from then on (both need a store; see :class:`ProfileFilter`)."""
        flt = ProfileFilter(task, project_id, tag, since)
        book = self._view.book()
        if book is None:
            if flt.selects_calls:
                raise ValidationError("tag and since filters read a store", where="tag")
            return self.profiles(task=task, project_id=project_id)
        if flush:
            self.flush()
        out = matching_profiles(book.store, flt, book=book)
        for p in out:
            p.excluded = self.is_excluded(p.model_id)
            p.cooldown_until = self.cooldown_until(p.model_id)
        return out

    def all_profiles(self) -> dict[str, ModelProfile]:
        return {p.model_id: p for p in self.profiles()}

    def state(self) -> ProfileState:
        """The live mergeable state (fold of this process's receipts and imports)."""
        return self._view.state()

    def snapshot(self, view: View = "shared") -> ProfileSnapshot:
        """The latest published profiles of ``view``, without a lock or I/O.

        ``"shared"``: as stored (every process sharing the store); ``"local"``: this
        process's receipts and imports (the shared view without a store). A background
        thread publishes a new snapshot at most every ``refresh_s`` seconds when the
        writer has committed or the local state changed, and every ``refresh_s`` anyway
        to see other processes. The first request for a view starts that thread and
        gets the empty snapshot until its first build: :meth:`refresh_view` waits for
        one, and :meth:`flush` publishes what it committed.
        """
        return self._view.snapshot(view)

    def refresh_view(self, view: View = "shared", *, timeout: float | None = 10.0) -> FlushResult:
        """Build and publish ``view`` now, after flushing the writer for the shared view
        (and keep the view fresh from then on). Returns the flush's result (a true one
        for the local view)."""
        self._view.snapshot(view)
        ok = FlushResult(True)
        if view == "shared" and self.writer is not None:
            ok = self.writer.flush(timeout)
        self._view.refresh([view])
        return ok

    # -- compatibility persistence -----------------------------------------------------
    def drain_ledger(self) -> list[Receipt]:
        """Resolved receipts since the last drain (failures, signals, swept calls)."""
        return self._ledger.drain()

    def export_profiles(self) -> list[ModelProfile]:
        return self.profiles()

    def import_profiles(self, profiles: Iterable[ModelProfile]) -> None:
        """Replace what is known about each model with an imported profile (dirties).
        A profile built by hand (``ModelProfile.new("x")``) makes ``x`` known."""
        self._view.import_profiles(profiles)

    def is_dirty(self) -> bool:
        return self._files.is_dirty()

    def save_to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the profile state to ``path`` atomically (temp file, fsync, rename; 0600)."""
        self._files.save(path)

    def save_if_dirty(self, path: str | os.PathLike[str]) -> bool:
        return self._files.save_if_dirty(path)

    def load_from_file(self, path: str | os.PathLike[str]) -> int:
        """Load profiles saved by :meth:`save_to_file`; returns how many models.

        Loading is not a change (the tracker stays clean). A missing file loads nothing;
        a corrupt one is renamed aside (``<name>.corrupt-<time>``) with a warning.
        """
        return self._files.load(path)

    # -- persistence -------------------------------------------------------------------
    def flush(self, timeout: float | None = 10.0) -> FlushResult:
        """Wait until every receipt so far is committed to the store, then publish the
        snapshots requested so far (decisions after ``flush`` see these receipts). False
        on timeout or when receipts were lost since the previous flush (``.dropped``,
        ``.failed``)."""
        ok = FlushResult(True) if self.writer is None else self.writer.flush(timeout)
        if self._view.active():
            self._view.refresh()
        return ok

    @property
    def dropped(self) -> int:
        """Receipts the writer dropped since it was created (queue full or closed);
        0 without a store. See :meth:`BackgroundWriter.stats`."""
        self._later.run()
        return 0 if self.writer is None else self.writer.stats().dropped

    def close(self, timeout: float | None = 10.0) -> None:
        """Stop the snapshot refresher, then flush (and close the writer if it is the
        tracker's own)."""
        self._view.close(timeout)
        if self.writer is not None:
            self.writer.remove_commit_hook(self._view.committed)
            self.writer.remove_feed(self._feed)
            self._later.limit = 0  # nothing runs it any more: later calls record at once
            self._later.run()  # calls added since the flush above (see record_later)
            if self._own_writer:
                self.writer.close(timeout)
            else:
                self.writer.flush(timeout)

    def __enter__(self) -> OutcomeTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ergonomics (see _calls.py) ----------------------------------------------------
    def call(
        self, model_id: str, task: str, routing_reason: str = "", **options: Unpack[StartOptions]
    ) -> RecordedCall:
        """Record one call around a block, with ``with`` or ``async with`` (see
        :class:`outcomes.inference._calls.RecordedCall`); ``options``: ``project_id``,
        ``intent`` and ``propensity``, as for :meth:`record_start`::

        with tracker.call("gpt-4o-mini", "generate") as c:
            resp = client.chat(...)
            c.set_usage(resp.usage.prompt_tokens, resp.usage.completion_tokens)
        """
        return RecordedCall(self, model_id, task, routing_reason, **options)

    acall = call
    """The async spelling of :meth:`call`: ``async with tracker.acall(...) as c`` (recording
    itself never awaits I/O)."""

    def track(
        self, model_id: str, task: str, routing_reason: str = "", *,
        usage: Callable[[Any], tuple[int, int] | None] = _calls.usage_of,
        project_id: str | None = None, intent: str | None = None,
    ) -> Callable[[F], F]:  # fmt: skip
        """Decorator recording every call of a sync or async function (see
        :func:`outcomes.inference._calls.track`)."""
        return _calls.track(
            self, model_id, task, routing_reason, usage=usage, project_id=project_id,
            intent=intent,
        )  # fmt: skip


# Every read that could see a call waiting in ``_later`` records the waiting calls first; not
# snapshot() (published on its own schedule), nor record_complete (no-op on a complete call).
for _name in (
    "record_failure", "sweep_pending", "is_resolved", "pending_trace_ids",
    "pending_completed", "get_pending", "record_signal", "record_inferred_outcome",
    "record_code_outcome", "resolve_pending_from_signals", "infer_outcomes_from_action_sequence",
    "feedback", "profile", "profiles", "all_profiles", "state", "drain_ledger",
    "export_profiles", "is_dirty", "save_to_file", "save_if_dirty", "flush", "close",
    "refresh_view", "import_profiles", "load_from_file", "clear_price_cache",
):  # fmt: skip
    setattr(OutcomeTracker, _name, caught_up(getattr(OutcomeTracker, _name)))

_live_trackers: weakref.WeakSet[OutcomeTracker] = weakref.WeakSet()


def _reinit_all_in_child() -> None:
    for tracker in list(_live_trackers):
        tracker._ctx.after_fork_in_child()
        tracker._limits.after_fork_in_child()
        tracker._view.after_fork_in_child()
        tracker._later.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_all_in_child)
