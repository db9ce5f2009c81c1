"""The call lifecycle: pending calls from start to completion or failure, the pending
sweep and eviction, and the memory of recently resolved calls.

Every receipt leaves through :meth:`CallLifecycle.emit`: into the local profile fold (if
the tracker keeps one) and to the background writer. ``start`` and ``complete`` are the
recording hot path: no lock, no I/O, a plain list per pending call.
"""

from __future__ import annotations

import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from msgspec.structs import force_setattr, replace

from outcomes._ids import new_id
from outcomes._redact import refuse_secret, remember_clean
from outcomes.errors import ValidationError
from outcomes.inference._compat import LedgerBuffer
from outcomes.inference._context import TrackerContext
from outcomes.inference._fold import INFERENCE_KIND
from outcomes.inference._limits import RateLimits
from outcomes.inference._profile_view import ProfileView
from outcomes.inference._signals import check_confidence
from outcomes.inference._validate import (
    all_trace_ids_valid,
    check_amount,
    check_count,
    check_label,
    check_trace_id,
)
from outcomes.records import Call, Receipt, _redact_reason, validate_task
from outcomes.registry import ModelRegistry

MAX_RECENT = 100_000
MAX_PENDING = 100_000
DEFAULT_PENDING_TTL_S = 300.0

# A pending call is a plain tuple (cheapest to build on the hot path):
# (model_id, task, started_at, routing_reason, project_id, intent, propensity, receipt).
# A tuple, not a list: it holds only strings, numbers and the receipt (a msgspec Struct
# with gc=False), so the collector stops tracking it at its first collection. Up to
# MAX_PENDING completed calls wait here for their signals; as lists they made every
# full collection walk them all (about 25 ms of CPU at 100k calls, holding the GIL, so
# a routing decision on another thread waited as long: benchmarks decide_under_load).
MODEL, TASK, AT, REASON, PROJECT, INTENT, PROPENSITY, RECEIPT = range(8)

Figures = tuple[float, int, int, "float | None", "float | None"]
"""What completes a call: latency_ms, input_tokens, output_tokens, cost_usd, ttft_ms."""


class CallLifecycle:
    """Pending calls of one tracker and the receipts they produce.

    ``view`` receives every receipt for the local fold (unless it keeps none), ``submit``
    (the background writer's, if any) persists it; ``limits`` learns from failures;
    ``ledger`` buffers resolved receipts; ``registry`` prices calls that report no cost.
    """

    def __init__(
        self,
        ctx: TrackerContext,
        view: ProfileView,
        limits: RateLimits,
        ledger: LedgerBuffer,
        submit: Callable[[Any], object] | None,
        registry: ModelRegistry,
        submit_many: Callable[[list[Any]], object] | None = None,
    ) -> None:
        self._ctx = ctx
        self._fold = view.fold
        self._submit = submit
        self._submit_many = submit_many
        self._limits = limits
        self._ledger = ledger
        self.registry = registry
        self.max_pending = MAX_PENDING
        self.pending: dict[str, tuple[Any, ...]] = {}
        self.recent: OrderedDict[str, Receipt] = OrderedDict()
        """Resolved receipts by trace id, for the late window (signals find them here)."""
        self.checked_ids: frozenset[str] = frozenset()
        """Trace ids that passed :func:`check_trace_id` together, as a batch (see
        :meth:`OutcomeTracker.checked_trace_ids`): a call they start is not checked again."""
        self._prices: dict[str, tuple[float | None, float | None]] = {}
        self._tasks_ok: set[str] = set()
        self._models_ok: set[str] = set()

    def emit(self, r: Receipt) -> None:
        """Fold ``r`` locally (if the view keeps a fold) and hand it to the writer."""
        if self._fold is not None:
            self._fold(r)
        if self._submit is not None:
            self._submit(r)

    def emit_all(self, receipts: list[Receipt]) -> None:
        """:meth:`emit` each of ``receipts``, in order, handed to the writer together."""
        if self._fold is not None:
            for r in receipts:
                self._fold(r)
        if self._submit_many is not None:
            self._submit_many(receipts)
        elif self._submit is not None:
            for r in receipts:
                self._submit(r)

    def settle(self, r: Receipt) -> None:
        """Remember a final receipt for late signals and buffer it for the ledger."""
        self.settle_all((r,))

    def settle_all(self, receipts: Sequence[Receipt]) -> None:
        """:meth:`settle` each of ``receipts``, in order, trimming :attr:`recent` once
        (eviction settles a tenth of the pending table at a time)."""
        self._ledger.extend(receipts)
        recent = self.recent
        move_to_end = recent.move_to_end
        for r in receipts:
            recent[r.trace_id] = r
            move_to_end(r.trace_id)
        for _ in range(len(recent) - MAX_RECENT):
            recent.popitem(last=False)

    @contextmanager
    def checked(self, trace_ids: list[str]) -> Iterator[bool]:
        """:attr:`checked_ids` set to ``trace_ids`` in the block when they all pass the
        trace id check together (see :meth:`OutcomeTracker.checked_trace_ids`)."""
        before = self.checked_ids
        ok = all_trace_ids_valid(trace_ids)
        if ok:
            self.checked_ids = frozenset(trace_ids)
            # That check proved no named detector matches any of them: the store's scrub
            # of the receipts' trace ids need not look again.
            remember_clean(trace_ids)
        try:
            yield ok
        finally:
            self.checked_ids = before

    def clear_prices(self) -> None:
        self._prices.clear()

    def _price_of(self, model_id: str) -> tuple[float | None, float | None]:
        info = self.registry.get(model_id)
        price = (None, None) if info is None else (info.usd_per_1m_input, info.usd_per_1m_output)
        if len(self._prices) < 10_000:
            self._prices[model_id] = price
        return price

    # -- the hot path ------------------------------------------------------------------
    def start(
        self,
        model_id: str,
        task: str,
        routing_reason: str,
        project_id: str | None,
        intent: str | None,
        propensity: float | None,
        trace_id: str | None,
        figures: Figures | None = None,
        out: list[Receipt] | None = None,
        at: float | None = None,
    ) -> str:
        """Open a call; returns its trace id. ``figures`` complete it in the same step
        (a call reported once it finished: one pending entry, one reading of the clock);
        figures that are refused (logged, not strict) leave the call started, as
        :meth:`complete` would, and when strict nothing is recorded. ``out`` collects
        the receipt instead of emitting it (a batch emits its receipts together:
        :meth:`emit_all`). ``at`` is when the call was reported (default: now)."""
        reject = self._ctx.reject
        try:
            if trace_id is None:
                trace_id = new_id()
            else:
                if trace_id not in self.checked_ids:
                    check_trace_id(trace_id)
                if trace_id in self.pending:
                    raise ValidationError(f"trace {trace_id!r} already started", where="trace_id")
        except ValidationError as exc:
            reject(exc, "record_start with an invalid trace_id")
            return new_id()
        try:
            if task not in self._tasks_ok:
                validate_task(task)
                refuse_secret(task, "task")
                if len(self._tasks_ok) < 10_000:
                    self._tasks_ok.add(task)
            if model_id not in self._models_ok:
                # Look-alike ids (bidi overrides, zero-width, full-width letters) are refused
                # or NFKC-normalized, credentials refused; ids already in their normal form
                # are remembered.
                checked = check_label(model_id, "model_id", optional=False)
                if checked == model_id and len(self._models_ok) < 10_000:
                    self._models_ok.add(model_id)
                model_id = checked  # type: ignore[assignment]
            if project_id is not None or intent is not None:
                project_id = check_label(project_id, "project_id")
                intent = check_label(intent, "intent")
            if propensity is not None:
                check_confidence(propensity, "propensity")
            reason = _redact_reason(routing_reason) if routing_reason else ""
        except (ValueError, TypeError) as exc:
            reject(exc, "record_start with invalid input")
            return trace_id
        if at is None:
            at = self._ctx.now()
        p = (model_id, str(task), at, reason, project_id, intent, propensity, None)
        r = None if figures is None else self._receipt(trace_id, p, at, figures)
        if len(self.pending) >= self.max_pending:
            self.evict()
        self.pending[trace_id] = p if r is None else (*p[:RECEIPT], r)
        if r is not None:
            if out is None:
                self.emit(r)
            else:
                out.append(r)
        return trace_id

    def complete(
        self,
        trace_id: str,
        latency_ms: float,
        input_tokens: int,
        output_tokens: int,
        cost_usd: float | None,
        ttft_ms: float | None = None,
    ) -> None:
        p = self.pending.get(trace_id)
        if p is None or p[RECEIPT] is not None:
            return
        figures = (latency_ms, input_tokens, output_tokens, cost_usd, ttft_ms)
        r = self._receipt(trace_id, p, self._ctx.now(), figures)
        if r is None:
            return
        with self._ctx.lock:
            # Under the call lock: a signal that took the call meanwhile keeps it taken.
            if self.pending.get(trace_id) is p:
                self.pending[trace_id] = (*p[:RECEIPT], r)
        self.emit(r)

    def _receipt(
        self, trace_id: str, p: tuple[Any, ...], now: float, figures: Figures
    ) -> Receipt | None:
        """The completion receipt of pending call ``p`` at ``now``, or ``None`` when the
        figures were refused (raised when strict, else logged)."""
        latency_ms, input_tokens, output_tokens, cost_usd, ttft_ms = figures
        try:
            if latency_ms.__class__ is not float or not 0.0 <= latency_ms < math.inf:
                latency_ms = check_amount(latency_ms, "latency_ms")
            if input_tokens.__class__ is not int or input_tokens < 0:
                check_count(input_tokens, "input_tokens")
            if output_tokens.__class__ is not int or output_tokens < 0:
                check_count(output_tokens, "output_tokens")
            if cost_usd is None:
                price = self._prices.get(p[MODEL])
                if price is None:
                    price = self._price_of(p[MODEL])
                if price[0] is not None and price[1] is not None:
                    cost_usd = (input_tokens * price[0] + output_tokens * price[1]) / 1e6
            else:
                cost_usd = check_amount(cost_usd, "cost_usd")
            if ttft_ms is not None:
                ttft_ms = check_amount(ttft_ms, "ttft_ms")
        except ValidationError as exc:
            self._ctx.reject(exc, "record_complete with invalid input")
            return None
        # The first receipt of a call takes the call's (unique, time-ordered) trace id.
        # kind and source keep their defaults ("inference", "complete"): msgspec matches
        # up to 15 keywords fast and takes about three times as long from the 16th on.
        r = Receipt(
            receipt_id=trace_id, trace_id=trace_id, model_id=p[MODEL], task=p[TASK],
            timestamp=now, success=True if output_tokens > 0 else None,
            latency_ms=latency_ms, input_tokens=input_tokens, output_tokens=output_tokens,
            cost_usd=cost_usd, routing_reason=p[REASON], project_id=p[PROJECT],
            intent=p[INTENT], propensity=p[PROPENSITY],
        )  # fmt: skip
        if ttft_ms is not None:
            # Set after construction to keep the common (unstreamed) path at 15 keywords.
            force_setattr(r, "ttft_ms", ttft_ms)
        return r

    # -- failures ----------------------------------------------------------------------
    def fail(
        self, trace_id: str, error: object, retry_after: float | None, latency_ms: float | None
    ) -> None:
        ctx = self._ctx
        try:
            error = str(error)
            if retry_after is not None:
                retry_after = check_amount(retry_after, "retry_after")
            if latency_ms is not None:
                latency_ms = check_amount(latency_ms, "latency_ms")
        except Exception as exc:  # even an error object whose str() raises
            ctx.reject(exc, "record_failure with invalid input")
            return
        with ctx.lock:
            p = self.pending.pop(trace_id, None)
            if p is None:
                return
            now = ctx.clock.now()
            r: Receipt
            if p[RECEIPT] is not None:
                # A failure after completion supersedes the mechanical outcome instead of
                # counting the call twice.
                prior = p[RECEIPT]
                r = replace(
                    prior, receipt_id=new_id(), timestamp=now, success=False, quality=None,
                    error=error, source="failure", supersedes=prior.receipt_id,
                    superseded_success=prior.success, superseded_quality=prior.quality,
                    superseded_at=prior.timestamp,
                )  # fmt: skip
            else:
                r = Receipt(
                    receipt_id=trace_id, trace_id=trace_id, model_id=p[MODEL], task=p[TASK],
                    timestamp=now, success=False, latency_ms=latency_ms or 0.0, error=error,
                    routing_reason=p[REASON], project_id=p[PROJECT], intent=p[INTENT],
                    kind=INFERENCE_KIND, source="failure", propensity=p[PROPENSITY],
                )  # fmt: skip
            self._limits.note_failure(p[MODEL], error, retry_after, now)
            self.emit(r)
            self.settle(r)  # so a later signal finds it final without a store lookup

    # -- sweep and eviction ------------------------------------------------------------
    def evict(self) -> None:
        """Keep memory bounded when nobody sweeps: sweep with the default TTL, then drop
        the oldest tenth of what is left (completed ones keep their receipts)."""
        self.sweep(DEFAULT_PENDING_TTL_S, None)
        with self._ctx.lock:
            excess = len(self.pending) - int(self.max_pending * 0.9)
            self._drop(list(itertools.islice(self.pending, max(excess, 0))))

    def _drop(self, trace_ids: list[str]) -> None:
        """Remove these calls from the pending table; completed ones settle."""
        pop = self.pending.pop
        gone = [pop(trace_id)[RECEIPT] for trace_id in trace_ids]
        self.settle_all([r for r in gone if r is not None])

    def sweep(self, ttl_secs: float, now: float | None) -> int:
        """Evict calls started more than ``ttl_secs`` before ``now``; returns how many.
        Completed ones settle with their completion receipt; others leave none."""
        ctx = self._ctx
        now = ctx.clock.now() if now is None else now
        cutoff = now - ttl_secs
        with ctx.lock:
            expired = [t for t, p in self.pending.items() if p[AT] < cutoff]
            self._drop(expired)
            horizon = now - ctx.late_window
            recent = self.recent
            while recent:
                first = next(iter(recent.values()))
                if first.timestamp >= horizon:
                    break
                recent.popitem(last=False)
        return len(expired)

    # -- reads -------------------------------------------------------------------------
    def completed(self, trace_id: str) -> bool | None:
        """``None`` when ``trace_id`` is not pending, else whether it has completed
        (what :meth:`get` tells, without building a :class:`Call`)."""
        p = self.pending.get(trace_id)
        return None if p is None else p[RECEIPT] is not None

    def get(self, trace_id: str) -> Call | None:
        p = self.pending.get(trace_id)
        if p is None:
            return None
        r = p[RECEIPT]
        return Call(
            trace_id, p[MODEL], p[TASK], p[AT], p[REASON],
            None if r is None else r.timestamp, None if r is None else r.latency_ms,
            0 if r is None else r.input_tokens, 0 if r is None else r.output_tokens,
            None if r is None else r.cost_usd, None, p[PROJECT], p[INTENT], p[PROPENSITY],
        )  # fmt: skip
