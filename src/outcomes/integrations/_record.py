"""One client call in flight, from the request to its one record.

A :class:`Pending` is made when an instrumented method is called and settles exactly
once: :meth:`Pending.succeed` (the answer, or a stream read to its end),
:meth:`Pending.fail` (an exception) or :meth:`Pending.abandon` (a stream closed or
dropped before its end). Settling writes the call to the tracker (``record_start`` with
the model that answered, then ``record_complete`` or ``record_failure``) and publishes a
:class:`CallInfo` for :func:`outcomes.integrations.last_call`.

The tracker is told about the call only once it settles: the model that answered is
known then, and a call that never settles (a stream nobody reads nor closes) leaves no
half-recorded entry behind. An answered call whose trace id is the integration's own is
handed to :meth:`OutcomeTracker.record_later`: the caller's thread keeps only its facts
(model, tokens, latency, id) and returns; the receipt, the same one, is built on the
writer's thread (or by the first read of the tracker that could see it). A call with an
outside trace id, and a failure (a 429 must exclude its model at once), are recorded on
the caller's thread. Recording never raises into the host application: a failure
to record is logged once and dropped.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import cast

import msgspec

from outcomes._ids import new_id
from outcomes.errors import ValidationError
from outcomes.inference import OutcomeTracker
from outcomes.inference._validate import check_trace_id
from outcomes.integrations._errors import ABANDONED, classify

log = logging.getLogger("outcomes.integrations")

CHARS_PER_TOKEN = 4
"""The estimate of tokens when a stream reports no usage: one token per 4 characters of
text (rounded up), the usual rule of thumb for English with OpenAI/Anthropic tokenizers.
Calls recorded from an estimate say so in :attr:`CallInfo.usage_estimated`."""

_DATED = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")
_warned: set[str] = set()
_UNSET = object()
_price_names: dict[tuple[int, str, str], object] = {}
"""(registry, answering model, requested model) -> the registry name that prices the
call (None: the tracker prices the answering model itself)."""


class CallInfo(msgspec.Struct, frozen=True, gc=False):
    """What an integration recorded about one call (no prompt or answer text).

    ``ttft_ms`` is the time to the first token of a stream (``None`` for a call that was
    not streamed or produced no token); ``usage_estimated`` says the token counts are the
    :data:`CHARS_PER_TOKEN` estimate because the stream carried no usage; ``abandoned``
    that the caller stopped reading a stream before its end (recorded as a failure with
    the error ``StreamAbandoned abandoned``).
    """

    trace_id: str
    model_id: str
    task: str
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    ttft_ms: float | None = None
    usage_estimated: bool = False
    streamed: bool = False
    error: str | None = None
    abandoned: bool = False


_last: ContextVar[Pending | None] = ContextVar("outcomes_last_call", default=None)
"""The last settled call; its :class:`CallInfo` is built when asked for (not on the call's
path)."""
_last_trace: ContextVar[str | None] = ContextVar("outcomes_last_trace_id", default=None)


def last_call() -> CallInfo | None:
    """The last call an integration recorded in this thread or task, or None."""
    pending = _last.get()
    return None if pending is None else pending.info()


def last_trace_id() -> str | None:
    """The trace id of the last call an integration made in this thread or asyncio task
    (an answer just returned, a stream just opened or settled), or None."""
    return _last_trace.get()


def note_trace(trace_id: str) -> None:
    _last_trace.set(trace_id)


def warn_once(what: str, exc: BaseException | None = None) -> None:
    if what not in _warned:
        _warned.add(what)
        log.warning("outcomes: %s%s (not logged again)", what, f": {exc!r}" if exc else "")


def adopt_trace_id(value: object) -> str | None:
    """``value`` if it is a valid outside trace id; None (a new id will be made) when it
    is None or invalid (logged once)."""
    if value is None:
        return None
    try:
        return check_trace_id(value, "outcomes_trace_id")
    except ValidationError as exc:
        warn_once("an invalid outcomes_trace_id was replaced by a new id", exc)
        return None


def estimate_tokens(chars: int) -> int:
    """Tokens for ``chars`` characters of text (see :data:`CHARS_PER_TOKEN`)."""
    return math.ceil(chars / CHARS_PER_TOKEN) if chars > 0 else 0


def text_chars(value: object, depth: int = 0) -> int:
    """Characters of text in a request's messages (strings under any nesting), for the
    token estimate; the text itself is neither kept nor copied."""
    if isinstance(value, str):
        return len(value)
    if depth > 8:
        return 0
    # The usual shapes first: an ABC isinstance check costs several exact type tests.
    kind = type(value)
    if kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        items = cast("Mapping[object, object]", value).items()
        return sum(text_chars(v, depth + 1) for k, v in items if k not in _NOT_TEXT)
    if (
        kind is list
        or kind is tuple
        or (isinstance(value, Iterable) and not isinstance(value, bytes | bytearray))
    ):
        return sum(text_chars(v, depth + 1) for v in cast("Iterable[object]", value))
    return 0


_NOT_TEXT = frozenset({"role", "type", "name", "id", "tool_call_id", "image_url", "cache_control"})


def int_or_none(value: object) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None  # type: ignore[return-value]


class Pending:
    """One call between its request and its record; see the module docstring.

    Stream observers update ``model``, the token counts (``usage_seen`` once the stream
    reported usage), ``out_chars`` (for the estimate), ``first_token_at`` and
    ``finished`` (the stream said it was complete) as events go by.
    """

    __slots__ = (
        "abandoned",
        "adopted",
        "error",
        "estimated",
        "finished",
        "first_token_at",
        "in_chars",
        "input_tokens",
        "latency_ms",
        "model",
        "out_chars",
        "output_tokens",
        "requested",
        "settled",
        "started",
        "streamed",
        "task",
        "trace_id",
        "tracker",
    )

    def __init__(
        self, tracker: OutcomeTracker, task: str, requested: object, trace_id: object
    ) -> None:
        self.tracker = tracker
        self.task = task
        self.requested = requested if isinstance(requested, str) and requested else "unknown"
        self.trace_id: str | None = adopt_trace_id(trace_id)
        """The call's id: the outside one, else made when first needed (:meth:`ensure_id`)."""
        self.adopted = self.trace_id is not None
        self.latency_ms = 0.0
        self.estimated = False
        self.abandoned = False
        self.model: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.in_chars = 0
        self.out_chars = 0
        self.first_token_at: float | None = None
        self.finished = False
        self.error: str | None = None
        """Set by an observer when the answer itself says it failed (``response.failed``)."""
        self.settled = False
        self.streamed = False
        self.started = time.perf_counter()

    def ensure_id(self) -> str:
        """The call's trace id, made now if it has none yet (a stream shows it at once)."""
        if self.trace_id is None:
            self.trace_id = new_id()  # own format: its call starts without the secret scan
        return self.trace_id

    def token(self, chars: int) -> None:
        """A piece of answer of ``chars`` characters arrived (first one: time to first token)."""
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()
        self.out_chars += chars

    def _model_id(self) -> str:
        model = self.model
        return model if isinstance(model, str) and model else self.requested

    def _cost(self, model: str, i: int, o: int) -> float | None:
        # A dated answer ("gpt-4o-2024-08-06") is priced as its undated name, else as the
        # model asked for; None lets the tracker price it (or leave it unknown).
        registry = self.tracker.registry
        key = (id(registry), model, self.requested)
        name = _price_names.get(key, _UNSET)
        if name is _UNSET:
            name = None
            if registry.get(model) is None:
                for candidate in (_DATED.sub("", model), self.requested):
                    if registry.get(candidate) is not None:
                        name = candidate
                        break
            if len(_price_names) < 10_000:
                _price_names[key] = name
        return None if name is None else registry.cost(str(name), i, o)

    def _ttft_ms(self) -> float | None:
        ttft = self.first_token_at
        return None if ttft is None else (ttft - self.started) * 1000.0

    def info(self) -> CallInfo:
        """What was recorded about this settled call (see :func:`last_call`)."""
        common = (cast(str, self.trace_id), cast(str, self.model), self.task, self.latency_ms)
        if self.error is not None:
            return CallInfo(
                *common, ttft_ms=self._ttft_ms(), streamed=self.streamed, error=self.error,
                abandoned=self.abandoned,
            )  # fmt: skip
        return CallInfo(
            *common, cast(int, self.input_tokens), cast(int, self.output_tokens),
            self._ttft_ms(), self.estimated, self.streamed,
        )  # fmt: skip

    def _settled(self) -> None:
        _last.set(self)
        _last_trace.set(cast(str, self.trace_id))

    def succeed(self) -> None:
        """Record the call as answered with the usage seen (or the estimate); as failed
        when the answer said so (:attr:`error`)."""
        if self.settled:
            return None
        if self.error is not None:
            return self._failed(self.error, None, abandoned=False)
        self.settled = True
        self.latency_ms = (time.perf_counter() - self.started) * 1000.0
        if self.output_tokens is None:
            self.output_tokens = estimate_tokens(self.out_chars)
            self.estimated = True
        if self.input_tokens is None:
            self.input_tokens = estimate_tokens(self.in_chars)
            self.estimated = True
        model = self.model
        if not (isinstance(model, str) and model):
            self.model = self.requested
        if self.adopted:
            self.trace_id = trace_id = self._record(None)
        else:
            if (trace_id := self.trace_id) is None:
                self.trace_id = trace_id = new_id()  # own format: no secret scan at start
            self.tracker.record_later(self._record)
        # Inline, not _settled(): this is every answered call's path.
        _last.set(self)
        _last_trace.set(cast(str, trace_id))

    def _record(self, at: float | None) -> str | None:
        """Record the settled call (reported at ``at``, default now); its trace id."""
        model, i, o = cast(str, self.model), self.input_tokens, self.output_tokens
        try:
            # One step (record_start and record_complete at once): the call is over.
            return self.tracker.record_call(
                model, self.task, self.latency_ms, cast(int, i), cast(int, o),
                cost_usd=self._cost(model, cast(int, i), cast(int, o)),
                trace_id=self.trace_id, ttft_ms=self._ttft_ms(), timestamp=at,
            )  # fmt: skip
        except Exception as exc:
            warn_once("recording a call failed", exc)
            return self.trace_id

    def fail(self, exc: BaseException) -> None:
        """Record the call as failed with ``exc`` (type, status, kind; never its text)."""
        if self.settled:
            return None
        error, retry_after = classify(exc)
        return self._failed(error, retry_after, abandoned=False)

    def abandon(self) -> None:
        """Record a stream stopped before its end: a failure whose error is
        :data:`~outcomes.integrations._errors.ABANDONED` (once, whatever the path)."""
        if self.settled:
            return None
        return self._failed(ABANDONED, None, abandoned=True)

    def close(self) -> None:
        """The stream was closed: complete if it said it was done, else abandoned."""
        return self.succeed() if self.finished else self.abandon()

    def _failed(self, error: str, retry_after: float | None, *, abandoned: bool) -> None:
        self.settled = True
        self.latency_ms = elapsed_ms = (time.perf_counter() - self.started) * 1000.0
        self.model = model = self._model_id()
        self.error, self.abandoned = error, abandoned
        try:
            tracker = self.tracker
            trace = tracker.record_start(model, self.task, trace_id=self.trace_id)
            self.trace_id = trace
            tracker.record_failure(trace, error, retry_after=retry_after, latency_ms=elapsed_ms)
        except Exception as exc:
            warn_once("recording a failed call failed", exc)
        self.ensure_id()
        self._settled()


__all__ = [
    "CHARS_PER_TOKEN",
    "CallInfo",
    "Pending",
    "adopt_trace_id",
    "estimate_tokens",
    "int_or_none",
    "last_call",
    "last_trace_id",
    "note_trace",
    "text_chars",
    "warn_once",
]
