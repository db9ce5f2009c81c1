"""The inference outcome tracker: call lifecycle, signals, receipts, profiles.

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
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from types import MappingProxyType
from typing import Any

from msgspec.structs import replace

from outcomes import config
from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._ids import derived_id, new_id
from outcomes.errors import ValidationError
from outcomes.inference import _calls
from outcomes.inference._files import atomic_write, load_state_file, state_file_text
from outcomes.inference._fold import INFERENCE_KIND, ProfileBook, profiles_of
from outcomes.inference._profiles import (
    DEFAULT_HALF_LIFE_S,
    ProfileState,
    is_rate_limit,
)
from outcomes.inference._signals import (
    ActionResult,
    InferredOutcome,
    check_confidence,
    infer_from_action_sequence,
    outcome_of,
)
from outcomes.inference._validate import (
    check_amount,
    check_count,
    check_label,
    check_trace_id,
    retry_after_from,
    setting,
)
from outcomes.inference._view import ModelProfile
from outcomes.records import (
    Call,
    CodeVerdict,
    ConversationVerdict,
    Receipt,
    Signal,
    _redact_reason,
    validate_task,
)
from outcomes.registry import ModelRegistry
from outcomes.store import BackgroundWriter, Store

log = logging.getLogger("outcomes.inference")

_NO_EXCLUSIONS: frozenset[str] = frozenset()
_NO_COOLDOWNS: Mapping[str, float] = MappingProxyType({})

MAX_LEDGER_BUFFER = 5000
DEFAULT_LATE_WINDOW_S = 7 * 86_400.0
DEFAULT_COOLDOWN_S = 60.0
MAX_RECENT = 100_000
MAX_PENDING = 100_000
DEFAULT_PENDING_TTL_S = 300.0
FOLD_EVERY = 4096
"""Receipts are folded into the profile state lazily: on read, or every this many."""


# A pending call is a plain list (cheapest to build on the hot path):
# [model_id, task, started_at, routing_reason, project_id, intent, propensity, receipt]
_MODEL, _TASK, _AT, _REASON, _PROJECT, _INTENT, _PROPENSITY, _RECEIPT = range(8)


class OutcomeTracker:
    """Records model calls and their outcomes; folds them into model profiles.

    ``store`` (optional) receives every receipt through ``writer`` (default: a new
    :class:`~outcomes.store.BackgroundWriter`); without a store the tracker works in
    memory like the seed. ``clock`` is injectable (tests use ``FakeClock``);
    ``registry`` prices calls that report no cost; ``half_life`` (seconds) sets how fast
    old quality fades; ``late_window`` (seconds) how long after a call a signal may still
    correct it; ``cooldown`` the default rate-limit cooldown without Retry-After.
    ``strict=True`` raises :class:`~outcomes.errors.ValidationError` on bad input instead
    of logging and dropping it. Unset durations come from ``OUTCOMES_QUALITY_HALF_LIFE``,
    ``OUTCOMES_LATE_SIGNAL_WINDOW`` and ``OUTCOMES_RATE_LIMIT_COOLDOWN`` (seconds).
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
        strict: bool = False,
    ) -> None:
        if half_life is None:
            half_life = setting(config.ENV_QUALITY_HALF_LIFE, DEFAULT_HALF_LIFE_S)
        if late_window is None:
            late_window = setting(config.ENV_LATE_SIGNAL_WINDOW, DEFAULT_LATE_WINDOW_S)
        if cooldown is None:
            cooldown = setting(config.ENV_RATE_LIMIT_COOLDOWN, DEFAULT_COOLDOWN_S)
        if not (math.isfinite(half_life) and half_life > 0):
            raise ValidationError("half_life must be > 0 seconds", where="half_life")
        if not (math.isfinite(late_window) and late_window >= 0):
            raise ValidationError("late_window must be >= 0 seconds", where="late_window")
        if not (math.isfinite(cooldown) and cooldown >= 0):
            raise ValidationError("cooldown must be >= 0 seconds", where="cooldown")
        self.store = store
        self._own_writer = writer is None and store is not None
        if store is not None:
            store.migrate()
            if writer is None:
                writer = BackgroundWriter(store)
        self.writer = writer
        self._clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self._now = self._clock.now
        self._prices: dict[str, tuple[float | None, float | None]] = {}
        self.registry = registry if registry is not None else ModelRegistry.builtin()
        self.late_window = late_window
        self.default_cooldown = cooldown
        self.strict = strict
        self.max_pending = MAX_PENDING
        self._book: ProfileBook | None = None
        self._lock = threading.RLock()
        self._pending: dict[str, list[Any]] = {}
        self._recent: OrderedDict[str, Receipt] = OrderedDict()
        self._seen_signals: OrderedDict[str, None] = OrderedDict()
        self._unfolded: deque[Receipt] = deque()
        self._ledger: deque[Receipt] = deque(maxlen=MAX_LEDGER_BUFFER)
        self._state = ProfileState(half_life=half_life)
        self._excluded: set[str] = set()
        self._cooldown: dict[str, float] = {}
        self._dirty = False
        self._tasks_ok: set[str] = set()
        self._warned: set[str] = set()

    @property
    def clock(self) -> Clock:
        """The clock stamping receipts (injectable; tests use ``FakeClock``)."""
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self._clock = clock
        self._now = clock.now

    def clear_price_cache(self) -> None:
        """Forget cached prices (call after changing ``tracker.registry``)."""
        self._prices.clear()

    # -- helpers ---------------------------------------------------------------------
    def _price_of(self, model_id: str) -> tuple[float | None, float | None]:
        info = self.registry.get(model_id)
        price = (None, None) if info is None else (info.usd_per_1m_input, info.usd_per_1m_output)
        if len(self._prices) < 10_000:
            self._prices[model_id] = price
        return price

    def _reject(self, exc: Exception, what: str) -> None:
        if self.strict:
            if isinstance(exc, ValidationError):
                raise exc
            raise ValidationError(str(exc)) from exc
        if what not in self._warned:
            self._warned.add(what)
            log.warning("outcomes: %s ignored: %s (further ones are not logged)", what, exc)

    def _emit(self, r: Receipt) -> None:
        q = self._unfolded
        q.append(r)
        self._dirty = True
        if self.writer is not None:
            self.writer.submit(r)
        if len(q) >= FOLD_EVERY:
            self._sync()

    def _sync(self) -> ProfileState:
        with self._lock:
            q = self._unfolded
            fold = self._state.fold
            while q:
                fold(q.popleft())
            return self._state

    def _remember(self, r: Receipt) -> None:
        recent = self._recent
        recent[r.trace_id] = r
        recent.move_to_end(r.trace_id)
        while len(recent) > MAX_RECENT:
            recent.popitem(last=False)

    # -- lifecycle -------------------------------------------------------------------
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
        elsewhere (ingest, another service); it must be unique.
        """
        try:
            if trace_id is None:
                trace_id = new_id()
            else:
                check_trace_id(trace_id)
                if trace_id in self._pending:
                    raise ValidationError(f"trace {trace_id!r} already started", where="trace_id")
        except ValidationError as exc:
            self._reject(exc, "record_start with an invalid trace_id")
            return new_id()
        try:
            if task not in self._tasks_ok:
                validate_task(task)
                if len(self._tasks_ok) < 10_000:
                    self._tasks_ok.add(task)
            if not isinstance(model_id, str) or not model_id or len(model_id) > 256:
                raise ValidationError("model_id must be a non-empty string", where="model_id")
            if project_id is not None or intent is not None:
                check_label(project_id, "project_id")
                check_label(intent, "intent")
            if propensity is not None:
                check_confidence(propensity, "propensity")
            reason = _redact_reason(routing_reason) if routing_reason else ""
        except (ValueError, TypeError) as exc:
            self._reject(exc, "record_start with invalid input")
            return trace_id
        if len(self._pending) >= self.max_pending:
            self._evict()
        self._pending[trace_id] = [
            model_id,
            str(task),
            self._now(),
            reason,
            project_id,
            intent,
            propensity,
            None,
        ]
        return trace_id

    def record_complete(
        self,
        trace_id: str,
        latency_ms: float,
        input_tokens: int,
        output_tokens: int,
        *,
        cost_usd: float | None = None,
    ) -> None:
        """Record that a call finished: latency, tokens, cost (from the registry if not given).

        Output tokens > 0 credit a mechanical success at once; quality is left to signals.
        """
        p = self._pending.get(trace_id)
        if p is None or p[_RECEIPT] is not None:
            return
        try:
            if latency_ms.__class__ is not float or not 0.0 <= latency_ms < math.inf:
                latency_ms = check_amount(latency_ms, "latency_ms")
            if input_tokens.__class__ is not int or input_tokens < 0:
                check_count(input_tokens, "input_tokens")
            if output_tokens.__class__ is not int or output_tokens < 0:
                check_count(output_tokens, "output_tokens")
            if cost_usd is None:
                price = self._prices.get(p[_MODEL])
                if price is None:
                    price = self._price_of(p[_MODEL])
                if price[0] is not None and price[1] is not None:
                    cost_usd = (input_tokens * price[0] + output_tokens * price[1]) / 1e6
            else:
                cost_usd = check_amount(cost_usd, "cost_usd")
        except ValidationError as exc:
            self._reject(exc, "record_complete with invalid input")
            return
        # The first receipt of a call takes the call's (unique, time-ordered) trace id.
        # kind and source keep their defaults ("inference", "complete"): msgspec matches
        # up to 15 keywords fast and takes about three times as long from the 16th on.
        r = Receipt(
            receipt_id=trace_id, trace_id=trace_id, model_id=p[_MODEL], task=p[_TASK],
            timestamp=self._now(), success=True if output_tokens > 0 else None,
            latency_ms=latency_ms, input_tokens=input_tokens, output_tokens=output_tokens,
            cost_usd=cost_usd, routing_reason=p[_REASON], project_id=p[_PROJECT],
            intent=p[_INTENT], propensity=p[_PROPENSITY],
        )  # fmt: skip
        p[_RECEIPT] = r
        self._emit(r)

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
        try:
            error = str(error)
            if retry_after is not None:
                retry_after = check_amount(retry_after, "retry_after")
            if latency_ms is not None:
                latency_ms = check_amount(latency_ms, "latency_ms")
        except Exception as exc:  # even an error object whose str() raises
            self._reject(exc, "record_failure with invalid input")
            return
        with self._lock:
            p = self._pending.pop(trace_id, None)
            if p is None:
                return
            now = self.clock.now()
            r: Receipt
            if p[_RECEIPT] is not None:
                prior = p[_RECEIPT]
                r = replace(
                    prior, receipt_id=new_id(), timestamp=now, success=False, quality=None,
                    error=error, source="failure", supersedes=prior.receipt_id,
                    superseded_success=prior.success, superseded_quality=prior.quality,
                    superseded_at=prior.timestamp,
                )  # fmt: skip
            else:
                r = Receipt(
                    receipt_id=trace_id, trace_id=trace_id, model_id=p[_MODEL], task=p[_TASK],
                    timestamp=now, success=False, latency_ms=latency_ms or 0.0, error=error,
                    routing_reason=p[_REASON], project_id=p[_PROJECT], intent=p[_INTENT],
                    kind=INFERENCE_KIND, source="failure", propensity=p[_PROPENSITY],
                )  # fmt: skip
            limited = is_rate_limit(error)
            if retry_after is None and limited:
                retry_after = retry_after_from(error)
            if limited:
                self._excluded.add(p[_MODEL])
            if limited or retry_after is not None:
                wait = retry_after if retry_after is not None else self.default_cooldown
                self._cooldown[p[_MODEL]] = max(self._cooldown.get(p[_MODEL], 0.0), now + wait)
            self._emit(r)
            self._ledger.append(r)
            self._remember(r)  # so a later signal finds it final without a store lookup

    # -- signals ---------------------------------------------------------------------
    def record_signal(self, signal: Signal) -> bool:
        """Apply evidence about a call; idempotent by ``signal.signal_id``.

        Returns whether the signal changed anything (``False`` for a duplicate, an
        unknown trace, a failed call, a signal later than the late window, or a detail
        signal whose kind has a dot, such as ``code.symbol``: details describe a call,
        they do not replace its verdict).
        """
        try:
            if not isinstance(signal, Signal):
                raise ValidationError("record_signal takes a Signal", where="signal")
            check_label(signal.signal_id, "signal_id", optional=False)
            check_label(signal.trace_id, "trace_id", optional=False)
            check_label(signal.kind, "kind", optional=False)
            if "." in signal.kind:
                return False  # a detail ("code.symbol", "code.survival"): not the call's outcome
            success, quality = outcome_of(signal)
        except (ValidationError, ValueError, TypeError) as exc:
            self._reject(exc, "record_signal with invalid input")
            return False
        return self._resolve(signal.trace_id, success, quality, signal.signal_id)

    def record_inferred_outcome(
        self,
        trace_id: str,
        outcome: InferredOutcome | ConversationVerdict | str,
        confidence: float | None = None,
        *,
        signal_id: str | None = None,
    ) -> bool:
        """Apply a conversation verdict (an :class:`InferredOutcome`, or a verdict and a
        confidence, default 1.0). ``signal_id`` makes it idempotent."""
        try:
            if not isinstance(outcome, InferredOutcome):
                conf = 1.0 if confidence is None else confidence
                outcome = InferredOutcome(ConversationVerdict(outcome), conf)
        except (ValidationError, ValueError) as exc:
            self._reject(exc, "record_inferred_outcome with invalid input")
            return False
        if signal_id is not None:
            return self.record_signal(
                Signal(signal_id, trace_id, "conversation", outcome.verdict.value,
                       self.clock.now(), outcome.confidence)
            )  # fmt: skip
        return self._resolve(trace_id, outcome.is_success(), outcome.quality_score(), None)

    def record_code_outcome(
        self, trace_id: str, outcome: CodeVerdict | str, *, signal_id: str | None = None
    ) -> bool:
        """Apply what git showed about a code suggestion (ground truth)."""
        try:
            verdict = CodeVerdict(outcome)
        except ValueError as exc:
            self._reject(exc, "record_code_outcome with invalid input")
            return False
        if signal_id is not None:
            return self.record_signal(
                Signal(signal_id, trace_id, "code", verdict.value, self.clock.now())
            )
        return self._resolve(trace_id, verdict.is_success(), verdict.quality(), None)

    def resolve_pending_from_signals(self, outcomes: Iterable[tuple[str, InferredOutcome]]) -> int:
        """Apply (trace id, outcome) pairs; returns how many changed something."""
        return sum(1 for trace_id, o in outcomes if self.record_inferred_outcome(trace_id, o))

    def infer_outcomes_from_action_sequence(
        self, action_results: Sequence[ActionResult]
    ) -> list[tuple[str, InferredOutcome]]:
        """Outcomes implied by a chain of actions (see :func:`infer_from_action_sequence`)."""
        return infer_from_action_sequence(action_results)

    def _latest_in_store(self, trace_id: str, signal_id: str | None) -> Receipt | bool | None:
        """Latest unsuperseded receipt of ``trace_id`` in the store; ``False`` if the signal
        is already there."""
        if self.store is None:
            return None
        try:
            rows = list(self.store.scan(Receipt.__table__, where=[("trace_id", "=", trace_id)]))
        except Exception as exc:  # the store is down: a signal must not raise
            self._reject(exc, "store lookup for a late signal")
            return None
        if signal_id is not None and any(r.signal_id == signal_id for r in rows):
            return False
        superseded = {r.supersedes for r in rows if r.supersedes}
        live = [r for r in rows if r.receipt_id not in superseded and r.kind == INFERENCE_KIND]
        return live[-1] if live else None

    def _resolve(
        self, trace_id: str, success: bool | None, quality: float | None, signal_id: str | None
    ) -> bool:
        with self._lock:
            if signal_id is not None and signal_id in self._seen_signals:
                return False
            now = self.clock.now()
            p = self._pending.pop(trace_id, None)
            prior: Receipt | None = None
            if p is not None:
                prior = p[_RECEIPT]
            else:
                prior = self._recent.get(trace_id)
                if prior is None:
                    found = self._latest_in_store(trace_id, signal_id)
                    if found is False:
                        return False
                    prior = found if isinstance(found, Receipt) else None
                if prior is None or prior.source == "failure":
                    return False
                if now - prior.timestamp > self.late_window:
                    return False
            rid = derived_id("inference.signal", signal_id) if signal_id else new_id()
            if prior is None:
                assert p is not None
                r = Receipt(
                    receipt_id=rid, trace_id=trace_id, model_id=p[_MODEL], task=p[_TASK],
                    timestamp=now, success=success, quality=quality,
                    routing_reason=p[_REASON], project_id=p[_PROJECT], intent=p[_INTENT],
                    kind=INFERENCE_KIND, source="signal", signal_id=signal_id,
                    propensity=p[_PROPENSITY],
                )  # fmt: skip
            else:
                if success is None and quality is None:
                    success, quality = prior.success, prior.quality
                r = replace(
                    prior, receipt_id=rid, timestamp=now, success=success, quality=quality,
                    source="signal", supersedes=prior.receipt_id, signal_id=signal_id,
                    superseded_success=prior.success, superseded_quality=prior.quality,
                    superseded_at=prior.timestamp,
                )  # fmt: skip
            if signal_id is not None:
                self._seen_signals[signal_id] = None
                while len(self._seen_signals) > MAX_RECENT:
                    self._seen_signals.popitem(last=False)
            self._emit(r)
            self._ledger.append(r)
            self._remember(r)
            return True

    def _evict(self) -> None:
        """Keep memory bounded when nobody sweeps: sweep with the default TTL, then drop
        the oldest tenth of what is left (completed ones keep their receipts)."""
        self.sweep_pending(DEFAULT_PENDING_TTL_S)
        with self._lock:
            excess = len(self._pending) - int(self.max_pending * 0.9)
            for trace_id in list(itertools.islice(self._pending, max(excess, 0))):
                p = self._pending.pop(trace_id)
                if p[_RECEIPT] is not None:
                    self._ledger.append(p[_RECEIPT])
                    self._remember(p[_RECEIPT])

    def sweep_pending(self, ttl_secs: float, *, now: float | None = None) -> int:
        """Evict calls started more than ``ttl_secs`` ago; returns how many.

        A completed call's receipt (mechanical success, or inconclusive without output)
        goes to the ledger buffer and stays correctable by late signals; a call that never
        completed is dropped without a receipt.
        """
        now = self.clock.now() if now is None else now
        cutoff = now - ttl_secs
        with self._lock:
            expired = [t for t, p in self._pending.items() if p[_AT] < cutoff]
            for trace_id in expired:
                p = self._pending.pop(trace_id)
                if p[_RECEIPT] is not None:
                    self._ledger.append(p[_RECEIPT])
                    self._remember(p[_RECEIPT])
            horizon = now - self.late_window
            recent = self._recent
            while recent:
                first = next(iter(recent.values()))
                if first.timestamp >= horizon:
                    break
                recent.popitem(last=False)
        return len(expired)

    # -- rate limits -----------------------------------------------------------------
    def is_excluded(self, model_id: str) -> bool:
        """Whether ``model_id`` was rate-limited in this session (hard exclusion)."""
        return model_id in self._excluded

    def clear_exclusion(self, model_id: str | None = None) -> None:
        """Lift the session exclusion (and cooldown) of one model, or of all."""
        with self._lock:
            if model_id is None:
                self._excluded.clear()
                self._cooldown.clear()
            else:
                self._excluded.discard(model_id)
                self._cooldown.pop(model_id, None)

    def cooldown_until(self, model_id: str) -> float | None:
        """Unix time until which ``model_id`` should not be called, or ``None``."""
        until = self._cooldown.get(model_id)
        return until if until is not None and until > self.clock.now() else None

    def rate_limits(self) -> tuple[AbstractSet[str], Mapping[str, float]]:
        """The models excluded for this session and the running cooldowns' deadlines.

        Both are empty in the common case, which costs no lock: a router then skips its
        per-model checks. Otherwise they are copies taken under the lock (another thread
        may be recording a 429 meanwhile); passed cooldowns are dropped on the way.
        """
        if not self._excluded and not self._cooldown:
            return _NO_EXCLUSIONS, _NO_COOLDOWNS
        with self._lock:
            now = self.clock.now()
            for model_id in [m for m, until in self._cooldown.items() if until <= now]:
                del self._cooldown[model_id]
            return frozenset(self._excluded), dict(self._cooldown)

    def is_available(self, model_id: str) -> bool:
        """Neither excluded for the session nor cooling down."""
        return not self.is_excluded(model_id) and self.cooldown_until(model_id) is None

    # -- reads -----------------------------------------------------------------------
    def profile(
        self, model_id: str, *, task: str | None = None, project_id: str | None = None
    ) -> ModelProfile | None:
        """This process's profile of ``model_id`` (optionally one task/project), or None."""
        state = self._sync()
        with self._lock:
            if not any(k[0] == model_id for k in state.parts):
                return None
            return ModelProfile.from_state(
                state, model_id, task=task, project_id=project_id,
                excluded=self.is_excluded(model_id), cooldown_until=self.cooldown_until(model_id),
            )  # fmt: skip

    def profiles(
        self, *, task: str | None = None, project_id: str | None = None
    ) -> list[ModelProfile]:
        """Profiles of every model with data for the filter, by model id."""
        state = self._sync()
        with self._lock:
            cool = {m: u for m in self._cooldown if (u := self.cooldown_until(m)) is not None}
            return profiles_of(
                state, task=task, project_id=project_id, excluded=self._excluded, cooldowns=cool
            )

    def shared_profiles(
        self, *, task: str | None = None, project_id: str | None = None, flush: bool = True
    ) -> list[ModelProfile]:
        """Profiles as stored, i.e. as every process sharing the store sees them (this
        process's exclusions and cooldowns added). Without a store: :meth:`profiles`."""
        if self.store is None:
            return self.profiles(task=task, project_id=project_id)
        if flush:
            self.flush()
        if self._book is None:
            self._book = ProfileBook(self.store, half_life=self._state.half_life)
        out = self._book.profiles(task=task, project_id=project_id)
        for p in out:
            p.excluded = self.is_excluded(p.model_id)
            p.cooldown_until = self.cooldown_until(p.model_id)
        return out

    def all_profiles(self) -> dict[str, ModelProfile]:
        return {p.model_id: p for p in self.profiles()}

    def state(self) -> ProfileState:
        """The live mergeable state (fold of this process's receipts and imports)."""
        return self._sync()

    def is_resolved(self, trace_id: str) -> bool:
        """Whether this process resolved ``trace_id`` recently (within the late window)."""
        return trace_id in self._recent

    def pending_trace_ids(self) -> list[str]:
        return list(self._pending)

    def get_pending(self, trace_id: str) -> Call | None:
        """The pending call as a :class:`Call` record, or ``None``."""
        p = self._pending.get(trace_id)
        if p is None:
            return None
        r = p[_RECEIPT]
        return Call(
            trace_id, p[_MODEL], p[_TASK], p[_AT], p[_REASON],
            None if r is None else r.timestamp, None if r is None else r.latency_ms,
            0 if r is None else r.input_tokens, 0 if r is None else r.output_tokens,
            None if r is None else r.cost_usd, None, p[_PROJECT], p[_INTENT], p[_PROPENSITY],
        )  # fmt: skip

    def drain_ledger(self) -> list[Receipt]:
        """Resolved receipts since the last drain (failures, signals, swept calls)."""
        with self._lock:
            out = list(self._ledger)
            self._ledger.clear()
            return out

    # -- profile files ---------------------------------------------------------------
    def export_profiles(self) -> list[ModelProfile]:
        return self.profiles()

    def import_profiles(self, profiles: Iterable[ModelProfile]) -> None:
        """Replace what is known about each model with an imported profile (dirties)."""
        state = self._sync()
        with self._lock:
            for p in profiles:
                source = p.state if p.state is not None else ProfileState(state.half_life)
                state.replace_model(p.model_id, source)
            self._dirty = True

    def is_dirty(self) -> bool:
        return self._dirty

    def save_to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the profile state to ``path`` atomically (temp file, fsync, rename; 0600)."""
        state = self._sync()
        with self._lock:
            text = state_file_text(state)
        atomic_write(Path(path), text)

    def save_if_dirty(self, path: str | os.PathLike[str]) -> bool:
        if not self._dirty:
            return False
        self.save_to_file(path)
        self._dirty = False
        return True

    def load_from_file(self, path: str | os.PathLike[str]) -> int:
        """Load profiles saved by :meth:`save_to_file`; returns how many models.

        Loading is not a change (the tracker stays clean). A missing file loads nothing;
        a corrupt one is renamed aside (``<name>.corrupt-<time>``) with a warning.
        """
        loaded = load_state_file(Path(path))
        if loaded is None:
            return 0
        state = self._sync()
        with self._lock:
            if loaded.half_life != state.half_life:
                log.warning(
                    "outcomes: %s was saved with quality half-life %ss, this tracker uses %ss;"
                    " decayed quality of the loaded models follows the file's",
                    path, loaded.half_life, state.half_life,
                )  # fmt: skip
            models = loaded.model_ids()
            for model_id in models:
                state.replace_model(model_id, loaded)
        return len(models)

    # -- persistence -----------------------------------------------------------------
    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every receipt so far is committed to the store."""
        return True if self.writer is None else self.writer.flush(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        if self.writer is not None:
            if self._own_writer:
                self.writer.close(timeout)
            else:
                self.writer.flush(timeout)

    def __enter__(self) -> OutcomeTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ergonomics (see _calls.py) --------------------------------------------------
    call = _calls.call
    acall = _calls.acall
    track = _calls.track
