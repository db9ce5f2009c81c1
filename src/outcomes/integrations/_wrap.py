"""Instrumenting one SDK method in place: the part the OpenAI and Anthropic wrappers share.

:func:`patch` replaces ``resource.<name>`` on the instance with a function that makes a
:class:`Pending` call, runs the SDK's method, and hands the result to the endpoint's
:class:`Endpoint` (a response is recorded at once; a stream is observed until it
settles). ``outcomes_trace_id=`` and ``outcomes_task=`` are taken out of the keyword
arguments before the SDK sees them. Patching twice is a no-op.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from outcomes.inference import OutcomeTracker
from outcomes.integrations._record import Pending, warn_once
from outcomes.integrations._stream import Observer, observe

MARK = "__outcomes_instrumented__"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How one SDK method's results are read.

    ``task``: the default task name; ``response(result, pending)`` reads a complete
    answer's model and usage; ``observer`` reads one stream event; ``input_chars(kwargs)``
    counts the request's text for the token estimate; ``is_stream(result, kwargs)`` tells
    a stream from an answer.
    """

    task: str
    response: Callable[[Any, Pending], None]
    observer: Observer
    input_chars: Callable[[dict[str, Any]], int]
    is_stream: Callable[[Any, dict[str, Any]], bool]


def begin(
    tracker: OutcomeTracker, task: str | None, endpoint: Endpoint, kwargs: dict[str, Any]
) -> Pending:
    trace_id = kwargs.pop("outcomes_trace_id", None)
    chosen = kwargs.pop("outcomes_task", None) or task or endpoint.task
    return Pending(tracker, chosen, kwargs.get("model"), trace_id)


def _returned(
    result: Any, pending: Pending, endpoint: Endpoint, kwargs: dict[str, Any], is_async: bool
) -> Any:
    try:
        if endpoint.is_stream(result, kwargs):
            pending.in_chars = endpoint.input_chars(kwargs)
            return observe(result, pending, endpoint.observer, is_async=is_async)
        endpoint.response(result, pending)
    except Exception as exc:
        warn_once("a response could not be read", exc)
    if pending.input_tokens is None:
        pending.in_chars = endpoint.input_chars(kwargs)
    pending.succeed()
    try:  # noqa: SIM105 - not contextlib.suppress (a context manager): every call's path
        object.__setattr__(result, "outcomes_trace_id", pending.trace_id)
    except (AttributeError, TypeError):
        pass  # a result that takes no attribute still has its id in last_trace_id()
    return result


def _sync(
    create: Callable[..., Any], tracker: OutcomeTracker, task: str | None, endpoint: Endpoint
) -> Callable[..., Any]:
    @functools.wraps(create)
    def instrumented(*args: Any, **kwargs: Any) -> Any:
        pending = begin(tracker, task, endpoint, kwargs)
        try:  # not a context manager: this is every call's path
            result = create(*args, **kwargs)
        except BaseException as exc:
            pending.fail(exc)
            raise
        return _returned(result, pending, endpoint, kwargs, False)

    return instrumented


def _async(
    create: Callable[..., Awaitable[Any]],
    tracker: OutcomeTracker,
    task: str | None,
    endpoint: Endpoint,
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(create)
    async def instrumented(*args: Any, **kwargs: Any) -> Any:
        pending = begin(tracker, task, endpoint, kwargs)
        try:
            result = await create(*args, **kwargs)
        except BaseException as exc:
            pending.fail(exc)
            raise
        return _returned(result, pending, endpoint, kwargs, True)

    return instrumented


def patch(
    resource: Any,
    name: str,
    tracker: OutcomeTracker,
    task: str | None,
    endpoint: Endpoint,
    *,
    is_async: bool,
) -> bool:
    """Instrument ``resource.<name>`` in place; False when it is missing or already done."""
    method = getattr(resource, name, None)
    if method is None or getattr(method, MARK, False):
        return False
    wrapped = (_async if is_async else _sync)(method, tracker, task, endpoint)
    setattr(wrapped, MARK, True)
    setattr(resource, name, wrapped)
    return True


def stream_usage_tokens(usage: Any, names: tuple[str, str]) -> tuple[int | None, int | None]:
    """(input, output) tokens from a usage object or dict under the two field names."""
    if usage is None:
        return None, None
    if isinstance(usage, dict):
        i, o = usage.get(names[0]), usage.get(names[1])
    else:
        i, o = getattr(usage, names[0], None), getattr(usage, names[1], None)
    ok_i = isinstance(i, int) and not isinstance(i, bool) and i >= 0
    ok_o = isinstance(o, int) and not isinstance(o, bool) and o >= 0
    return (i if ok_i else None), (o if ok_o else None)


__all__ = ["MARK", "Endpoint", "begin", "patch", "stream_usage_tokens"]
