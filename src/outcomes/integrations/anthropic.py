"""The Anthropic SDK in one line: ``instrument(Anthropic())`` records every call.

>>> from anthropic import Anthropic                                # doctest: +SKIP
>>> from outcomes.integrations.anthropic import instrument         # doctest: +SKIP
>>> client = instrument(Anthropic(), tracker)                      # doctest: +SKIP

``messages.create`` (streaming or not) and ``messages.stream`` of an
``anthropic.Anthropic`` or ``anthropic.AsyncAnthropic`` client are instrumented in place.
What is recorded and what never is: see ``docs/integrations.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from outcomes.inference import OutcomeTracker
from outcomes.integrations._default import resolve_tracker
from outcomes.integrations._record import Pending, int_or_none, text_chars, warn_once
from outcomes.integrations._stream import observe
from outcomes.integrations._wrap import MARK, Endpoint, begin, patch

C = TypeVar("C")


def _usage(pending: Pending, usage: Any) -> None:
    # Cached prompt tokens are input the model read: counted with input_tokens.
    if usage is None:
        return
    parts = [
        int_or_none(getattr(usage, name, None))
        for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    ]
    if parts[0] is not None:
        pending.input_tokens = sum(p for p in parts if p is not None)
    output = int_or_none(getattr(usage, "output_tokens", None))
    if output is not None:
        pending.output_tokens = output


def _model(pending: Pending, message: Any) -> None:
    model = getattr(message, "model", None)
    if isinstance(model, str) and model:
        pending.model = model


def _message(result: Any, pending: Pending) -> None:
    _model(pending, result)
    _usage(pending, getattr(result, "usage", None))


def _event(event: Any, pending: Pending) -> None:
    kind = event.type
    if kind == "content_block_delta":
        delta = event.delta
        text = (
            getattr(delta, "text", None)
            or getattr(delta, "partial_json", None)
            or getattr(delta, "thinking", None)
        )
        pending.token(len(text) if isinstance(text, str) else 0)
    elif kind == "message_start":
        _message(event.message, pending)
    elif kind == "message_delta":
        # The final usage: output tokens so far (cumulative); input only when present.
        usage = getattr(event, "usage", None)
        if int_or_none(getattr(usage, "input_tokens", None)) is not None:
            _usage(pending, usage)
        else:
            output = int_or_none(getattr(usage, "output_tokens", None))
            if output is not None:
                pending.output_tokens = output
    elif kind == "message_stop":
        pending.finished = True


def _input_chars(kwargs: dict[str, Any]) -> int:
    return text_chars(kwargs.get("messages")) + text_chars(kwargs.get("system"))


MESSAGES = Endpoint(
    "generate", _message, _event, _input_chars, lambda _r, kw: bool(kw.get("stream"))
)


class _StreamManager:
    """Wraps the SDK's ``MessageStreamManager`` (sync or async): entering it makes the
    request; the stream it gives is observed through its raw event stream."""

    def __init__(self, inner: Any, pending: Pending) -> None:
        self._inner = inner
        self._pending = pending

    def _observed(self, stream: Any, *, is_async: bool) -> Any:
        raw = getattr(stream, "_raw_stream", None)
        if raw is None:
            warn_once("this anthropic MessageStream cannot be observed; timed to headers")
            self._pending.finished = True
            self._pending.succeed()
        else:
            observe(raw, self._pending, _event, is_async=is_async)
        stream.outcomes_trace_id = self._pending.ensure_id()
        return stream

    def __enter__(self) -> Any:
        try:
            stream = self._inner.__enter__()
        except BaseException as exc:
            self._pending.fail(exc)
            raise
        return self._observed(stream, is_async=False)

    def __exit__(self, *exc: object) -> Any:
        return self._inner.__exit__(*exc)

    async def __aenter__(self) -> Any:
        try:
            stream = await self._inner.__aenter__()
        except BaseException as exc:
            self._pending.fail(exc)
            raise
        return self._observed(stream, is_async=True)

    async def __aexit__(self, *exc: object) -> Any:
        return await self._inner.__aexit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _patch_stream(resource: Any, tracker: OutcomeTracker, task: str | None) -> None:
    method: Callable[..., Any] | None = getattr(resource, "stream", None)
    if method is None or getattr(method, MARK, False):
        return
    make = method

    @functools.wraps(make)
    def stream(*args: Any, **kwargs: Any) -> Any:
        pending = begin(tracker, task, MESSAGES, kwargs)
        pending.in_chars = _input_chars(kwargs)
        try:
            inner = make(*args, **kwargs)
        except BaseException as exc:
            pending.fail(exc)
            raise
        return _StreamManager(inner, pending)

    setattr(stream, MARK, True)
    resource.stream = stream


def instrument(client: C, tracker: OutcomeTracker | None = None, *, task: str | None = None) -> C:
    """Instrument an ``anthropic.Anthropic`` or ``anthropic.AsyncAnthropic`` client in
    place; return it.

    ``messages.create`` (streaming or not) and ``messages.stream`` become calls in
    ``tracker`` (default: :func:`outcomes.integrations.default_tracker`) under ``task``
    (default ``generate``). ``outcomes_trace_id=`` and ``outcomes_task=`` work per call as
    for :func:`outcomes.integrations.openai.instrument`; the trace id is on the returned
    message or stream (``outcomes_trace_id``) and in
    :func:`outcomes.integrations.last_trace_id`. Instrumenting twice changes nothing.
    """
    import anthropic

    chosen = resolve_tracker(tracker)
    is_async = isinstance(client, anthropic.AsyncAnthropic)
    if not is_async and not isinstance(client, anthropic.Anthropic):
        raise TypeError(
            f"expected an anthropic.Anthropic or AsyncAnthropic client, got {type(client)!r}"
        )
    sdk: Any = client
    messages = sdk.messages
    patch(messages, "create", chosen, task, MESSAGES, is_async=is_async)
    _patch_stream(messages, chosen, task)
    return client


__all__ = ["instrument"]
