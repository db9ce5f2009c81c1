"""Signal resolution: verdicts that settle or correct a call's outcome.

A signal becomes a receipt that *supersedes* the call's latest one (repeating the
superseded outcome so that the fold can take it back). A signal is applied once: by its
``signal_id`` when it has one; without one, a signal that repeats the outcome of the
call's latest signal changes nothing (a retried delivery must not count twice), while a
different one still supersedes. A call that failed is final. Past the tracker's late
window (seconds after the call's latest receipt) a signal is ignored. A call this process
no longer remembers is looked up in the store, so a signal can correct a call recorded
by another process.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from msgspec.structs import replace

from outcomes._ids import derived_id, new_id
from outcomes.errors import ValidationError
from outcomes.inference._context import TrackerContext
from outcomes.inference._fold import INFERENCE_KIND
from outcomes.inference._lifecycle import (
    INTENT,
    MODEL,
    PROJECT,
    PROPENSITY,
    REASON,
    RECEIPT,
    TASK,
    CallLifecycle,
)
from outcomes.inference._signals import InferredOutcome, outcome_of
from outcomes.inference._validate import check_label
from outcomes.records import CodeVerdict, ConversationVerdict, Receipt, Signal
from outcomes.store import Store

MAX_SEEN_SIGNALS = 100_000
SIGNAL_SOURCES = frozenset({"signal", "feedback"})
"""Receipt sources that record a verdict on a call (a signal, or open feedback)."""


class SignalResolution:
    """Applies signals to the calls of ``calls``; ``store`` (optional) is searched for
    calls this process no longer remembers."""

    def __init__(self, ctx: TrackerContext, calls: CallLifecycle, store: Store | None) -> None:
        self._ctx = ctx
        self._calls = calls
        self._store = store
        self._seen: OrderedDict[str, None] = OrderedDict()

    def signal(self, signal: Signal) -> bool:
        """Apply a :class:`Signal`; returns whether it changed anything (``False`` for
        a duplicate, an unknown trace, a failed call, a late signal, or a detail signal
        whose kind has a dot: details describe a call, they do not replace its verdict)."""
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
            self._ctx.reject(exc, "record_signal with invalid input")
            return False
        return self.resolve(signal.trace_id, success, quality, signal.signal_id)

    def inferred(
        self,
        trace_id: str,
        outcome: InferredOutcome | ConversationVerdict | str,
        confidence: float | None,
        signal_id: str | None,
    ) -> bool:
        """Apply a conversation verdict (default confidence 1.0)."""
        try:
            if not isinstance(outcome, InferredOutcome):
                conf = 1.0 if confidence is None else confidence
                outcome = InferredOutcome(ConversationVerdict(outcome), conf)
        except (ValidationError, ValueError) as exc:
            self._ctx.reject(exc, "record_inferred_outcome with invalid input")
            return False
        if signal_id is not None:
            return self.signal(
                Signal(signal_id, trace_id, "conversation", outcome.verdict.value,
                       self._ctx.clock.now(), outcome.confidence)
            )  # fmt: skip
        return self.resolve(trace_id, outcome.is_success(), outcome.quality_score(), None)

    def code(self, trace_id: str, outcome: CodeVerdict | str, signal_id: str | None) -> bool:
        """Apply what git showed about a code suggestion (ground truth)."""
        try:
            verdict = CodeVerdict(outcome)
        except ValueError as exc:
            self._ctx.reject(exc, "record_code_outcome with invalid input")
            return False
        if signal_id is not None:
            return self.signal(
                Signal(signal_id, trace_id, "code", verdict.value, self._ctx.clock.now())
            )
        return self.resolve(trace_id, verdict.is_success(), verdict.quality(), None)

    def many(self, outcomes: Iterable[tuple[str, InferredOutcome]]) -> int:
        return sum(1 for trace_id, o in outcomes if self.inferred(trace_id, o, None, None))

    # -- the resolution ----------------------------------------------------------------
    def seen(self, signal_id: str) -> bool:
        """Whether this process already applied the signal ``signal_id``."""
        return signal_id in self._seen

    def resolve(
        self,
        trace_id: str,
        success: bool | None,
        quality: float | None,
        signal_id: str | None,
        *,
        source: str = "signal",
    ) -> bool:
        """Write the receipt of one verdict on ``trace_id`` (``source``: ``signal`` or
        ``feedback``); returns whether it did."""
        ctx = self._ctx
        with ctx.lock:
            if signal_id is not None and signal_id in self._seen:
                return False
            now = ctx.clock.now()
            p = self._calls.pending.pop(trace_id, None)
            prior: Receipt | None = None
            if p is not None:
                prior = p[RECEIPT]
            else:
                found = self._final_receipt(trace_id, signal_id)
                if found is None or now - found.timestamp > ctx.late_window:
                    return False
                prior = found
                if signal_id is None and _repeats(prior, success, quality):
                    return False
            rid = derived_id("inference.signal", signal_id) if signal_id else new_id()
            if prior is None:
                assert p is not None
                r = _first_receipt(p, rid, trace_id, now, success, quality, signal_id, source)
            else:
                if success is None and quality is None:
                    success, quality = prior.success, prior.quality
                r = replace(
                    prior, receipt_id=rid, timestamp=now, success=success, quality=quality,
                    source=source, supersedes=prior.receipt_id, signal_id=signal_id,
                    superseded_success=prior.success, superseded_quality=prior.quality,
                    superseded_at=prior.timestamp,
                )  # fmt: skip
            if signal_id is not None:
                self._seen[signal_id] = None
                while len(self._seen) > MAX_SEEN_SIGNALS:
                    self._seen.popitem(last=False)
            self._calls.emit(r)
            self._calls.settle(r)
            return True

    def _final_receipt(self, trace_id: str, signal_id: str | None) -> Receipt | None:
        """The latest receipt of a call that is no longer pending, if a signal may still
        supersede it (not a failure, this signal not already applied)."""
        prior = self._calls.recent.get(trace_id)
        if prior is None:
            found = self._latest_in_store(trace_id, signal_id)
            if found is False:
                return None
            prior = found if isinstance(found, Receipt) else None
        if prior is None or prior.source == "failure":
            return None
        return prior

    def _latest_in_store(self, trace_id: str, signal_id: str | None) -> Receipt | bool | None:
        """Latest unsuperseded receipt of ``trace_id`` in the store; ``False`` if the
        signal is already there."""
        if self._store is None:
            return None
        try:
            rows = list(self._store.scan(Receipt.__table__, where=[("trace_id", "=", trace_id)]))
        except Exception as exc:  # the store is down: a signal must not raise
            self._ctx.reject(exc, "store lookup for a late signal")
            return None
        if signal_id is not None and any(r.signal_id == signal_id for r in rows):
            return False
        superseded = {r.supersedes for r in rows if r.supersedes}
        live = [r for r in rows if r.receipt_id not in superseded and r.kind == INFERENCE_KIND]
        return live[-1] if live else None


def _repeats(prior: Receipt, success: bool | None, quality: float | None) -> bool:
    """Whether a verdict only repeats the call's latest signal (nothing to supersede)."""
    if prior.source not in SIGNAL_SOURCES:
        return False
    if success is None and quality is None:
        return True  # an inconclusive verdict keeps the outcome it finds
    return prior.success == success and prior.quality == quality


def _first_receipt(
    p: tuple[Any, ...],
    rid: str,
    trace_id: str,
    now: float,
    success: bool | None,
    quality: float | None,
    signal_id: str | None,
    source: str,
) -> Receipt:
    """The receipt of a signal that settles a call before it completed."""
    return Receipt(
        receipt_id=rid, trace_id=trace_id, model_id=p[MODEL], task=p[TASK], timestamp=now,
        success=success, quality=quality, routing_reason=p[REASON], project_id=p[PROJECT],
        intent=p[INTENT], kind=INFERENCE_KIND, source=source, signal_id=signal_id,
        propensity=p[PROPENSITY],
    )  # fmt: skip
