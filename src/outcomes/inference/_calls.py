"""Ergonomic recording: ``with tracker.call(...)``, ``async with tracker.acall(...)`` and
the ``@tracker.track(...)`` decorator.

:class:`RecordedCall` and :func:`track` take any :class:`Recorder` (the tracker's three
recording methods); :class:`~outcomes.inference.OutcomeTracker` defines ``call``, ``acall``
and ``track`` methods that pass themselves, so this module needs nothing from the tracker's.

Timing is measured with a monotonic clock; an exception inside the block is recorded as
a failure and re-raised, never swallowed. Only the exception's type, an HTTP-like status
and a rate-limit marker are recorded, never its message (which may echo a prompt).
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, Protocol, TypedDict, TypeVar, Unpack

F = TypeVar("F", bound=Callable[..., Any])


class Recorder(Protocol):
    """What recording around a block needs: start, complete and failure of a call."""

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
    ) -> str: ...

    def record_complete(
        self,
        trace_id: str,
        latency_ms: float,
        input_tokens: int,
        output_tokens: int,
        *,
        cost_usd: float | None = None,
        ttft_ms: float | None = None,
    ) -> None: ...

    def record_failure(
        self,
        trace_id: str,
        error: str,
        *,
        retry_after: float | None = None,
        latency_ms: float | None = None,
    ) -> None: ...


class StartOptions(TypedDict, total=False):
    """The options of ``record_start`` that ``call`` and ``acall`` pass on unchanged."""

    project_id: str | None
    intent: str | None
    propensity: float | None


class CallHandle:
    """What the block reports about its call: tokens, cost, or a failure."""

    __slots__ = ("_error", "_retry_after", "cost_usd", "input_tokens", "output_tokens", "trace_id")

    def __init__(self, trace_id: str) -> None:
        self.trace_id = trace_id
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd: float | None = None
        self._error: str | None = None
        self._retry_after: float | None = None

    def set_usage(
        self, input_tokens: int, output_tokens: int, *, cost_usd: float | None = None
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        if cost_usd is not None:
            self.cost_usd = cost_usd

    def fail(self, error: str, *, retry_after: float | None = None) -> None:
        """Mark the call failed without raising (e.g. a provider returned an error body)."""
        self._error = error
        self._retry_after = retry_after


def describe_error(exc: BaseException) -> tuple[str, float | None]:
    """A privacy-safe error text and a Retry-After in seconds, from an exception."""
    parts = [type(exc).__name__]
    status = None
    for attr in ("status_code", "status", "code", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and not isinstance(value, bool):
            status = value
            break
    if status is not None:
        parts.append(str(status))
    text = str(exc)
    if "RESOURCE_EXHAUSTED" in text:
        parts.append("RESOURCE_EXHAUSTED")
    elif status is None and "429" in text:
        parts.append("429")
    retry_after: float | None = None
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is not None:
        try:
            raw = headers.get("retry-after") or headers.get("Retry-After")
            retry_after = float(raw) if raw is not None else None
        except (TypeError, ValueError, AttributeError):
            retry_after = None
    if retry_after is None:
        value = getattr(exc, "retry_after", None)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            retry_after = float(value)
    return " ".join(parts), retry_after


def _finish(tracker: Recorder, handle: CallHandle, t0: float) -> None:
    elapsed_ms = (time.perf_counter() - t0) * 1000.0
    if handle._error is not None:
        tracker.record_failure(
            handle.trace_id, handle._error, retry_after=handle._retry_after, latency_ms=elapsed_ms
        )
    else:
        tracker.record_complete(
            handle.trace_id, elapsed_ms, handle.input_tokens, handle.output_tokens,
            cost_usd=handle.cost_usd,
        )  # fmt: skip


def _failed(tracker: Recorder, handle: CallHandle, t0: float, exc: BaseException) -> None:
    error, retry_after = describe_error(exc)
    elapsed_ms = (time.perf_counter() - t0) * 1000.0
    tracker.record_failure(handle.trace_id, error, retry_after=retry_after, latency_ms=elapsed_ms)


class RecordedCall:
    """One call recorded around a block; the same object serves ``with`` and ``async with``.

    Entering records the start and hands out a :class:`CallHandle`; leaving records the
    completion, or the failure when the block raised (the exception is re-raised, never
    swallowed) or called :meth:`CallHandle.fail`. Recording never awaits I/O, so the async
    form does exactly what the sync one does.
    """

    __slots__ = ("_handle", "_options", "_start", "_t0", "_tracker")

    def __init__(
        self,
        tracker: Recorder,
        model_id: str,
        task: str,
        routing_reason: str = "",
        **options: Unpack[StartOptions],
    ) -> None:
        self._tracker = tracker
        self._start = (model_id, task, routing_reason)
        self._options = options
        self._handle: CallHandle | None = None
        self._t0 = 0.0

    def __enter__(self) -> CallHandle:
        trace_id = self._tracker.record_start(*self._start, **self._options)
        self._handle = CallHandle(trace_id)
        self._t0 = time.perf_counter()
        return self._handle

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        handle = self._handle
        if handle is None:  # left without entering: nothing was started
            return
        self._handle = None
        if exc is not None:
            _failed(self._tracker, handle, self._t0, exc)
        else:
            _finish(self._tracker, handle, self._t0)

    async def __aenter__(self) -> CallHandle:
        return self.__enter__()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self.__exit__(exc_type, exc, tb)


def usage_of(result: Any) -> tuple[int, int] | None:
    """Token usage of an OpenAI- or Anthropic-shaped response, if it has one."""
    usage = getattr(result, "usage", None)
    if usage is None and isinstance(result, dict):
        usage = result.get("usage")
    if usage is None:
        return None

    def pick(*names: str) -> int | None:
        for name in names:
            value = usage.get(name) if isinstance(usage, dict) else getattr(usage, name, None)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        return None

    i = pick("prompt_tokens", "input_tokens")
    o = pick("completion_tokens", "output_tokens")
    if i is None and o is None:
        return None
    return i or 0, o or 0


def track(
    tracker: Recorder,
    model_id: str,
    task: str,
    routing_reason: str = "",
    *,
    usage: Callable[[Any], tuple[int, int] | None] = usage_of,
    project_id: str | None = None,
    intent: str | None = None,
) -> Callable[[F], F]:
    """Decorator recording every call of a sync or async function.

    ``usage(result)`` gives (input, output) tokens; the default reads an OpenAI- or
    Anthropic-shaped ``result.usage``. Without usage the call counts output as unknown
    (0 tokens: inconclusive, not a success).
    """

    def decorate(fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with RecordedCall(
                    tracker, model_id, task, routing_reason, project_id=project_id, intent=intent
                ) as c:
                    result = await fn(*args, **kwargs)
                    _apply_usage(c, usage, result)
                    return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with RecordedCall(
                tracker, model_id, task, routing_reason, project_id=project_id, intent=intent
            ) as c:
                result = fn(*args, **kwargs)
                _apply_usage(c, usage, result)
                return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _apply_usage(
    handle: CallHandle, usage: Callable[[Any], tuple[int, int] | None], result: Any
) -> None:
    try:
        got = usage(result)
    except Exception:
        got = None
    if got is not None:
        handle.set_usage(got[0], got[1])


__all__ = ["CallHandle", "RecordedCall", "Recorder", "describe_error", "track", "usage_of"]
