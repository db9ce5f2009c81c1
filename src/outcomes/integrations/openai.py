"""The OpenAI SDK in one line: ``instrument(OpenAI())`` records every call.

>>> from openai import OpenAI                                      # doctest: +SKIP
>>> from outcomes.integrations.openai import instrument            # doctest: +SKIP
>>> client = instrument(OpenAI(), tracker)                         # doctest: +SKIP
>>> reply = client.chat.completions.create(model="gpt-4o-mini", messages=[...])  # +SKIP
>>> tracker.feedback(reply.outcomes_trace_id, thumbs=True)         # doctest: +SKIP

``chat.completions.create``, ``responses.create`` and ``embeddings.create`` of an
``openai.OpenAI`` or ``openai.AsyncOpenAI`` client are instrumented in place, streaming
and not. What is recorded and what never is: see ``docs/integrations.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from outcomes.inference import OutcomeTracker
from outcomes.integrations._default import resolve_tracker
from outcomes.integrations._record import Pending, text_chars
from outcomes.integrations._wrap import Endpoint, patch, stream_usage_tokens

C = TypeVar("C")

RESPONSE_FAILED = "ResponseFailed failed"
"""The error of a Responses API answer whose status is ``failed`` (no exception raised)."""

_CHAT_USAGE = ("prompt_tokens", "completion_tokens")
_RESPONSES_USAGE = ("input_tokens", "output_tokens")


def _streaming(result: Any, kwargs: dict[str, Any]) -> bool:
    return bool(kwargs.get("stream"))


def _model(pending: Pending, obj: Any) -> None:
    model = getattr(obj, "model", None)
    if isinstance(model, str) and model:
        pending.model = model


def _usage(pending: Pending, usage: Any, names: tuple[str, str]) -> None:
    i, o = stream_usage_tokens(usage, names)
    if i is not None:
        pending.input_tokens = i
    if o is not None:
        pending.output_tokens = o


def _chat_response(result: Any, pending: Pending) -> None:
    _model(pending, result)
    usage = getattr(result, "usage", None)
    if usage is not None:
        i, o = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
        if i.__class__ is int and o.__class__ is int and i >= 0 and o >= 0:
            pending.input_tokens, pending.output_tokens = i, o  # the SDK's own shape, at once
        else:
            _usage(pending, usage, _CHAT_USAGE)
    else:
        for choice in getattr(result, "choices", None) or ():
            content = getattr(getattr(choice, "message", None), "content", None)
            if isinstance(content, str):
                pending.out_chars += len(content)


def _chat_chunk(chunk: Any, pending: Pending) -> None:
    if pending.model is None:
        _model(pending, chunk)
    usage = getattr(chunk, "usage", None)
    if usage is not None:
        _usage(pending, usage, _CHAT_USAGE)
    for choice in chunk.choices or ():
        delta = choice.delta
        if delta is not None:
            chars = len(delta.content or "") + len(getattr(delta, "refusal", None) or "")
            for call in getattr(delta, "tool_calls", None) or ():
                function = getattr(call, "function", None)
                chars += len(getattr(function, "arguments", None) or "")
            if chars:
                pending.token(chars)
        if choice.finish_reason is not None:
            pending.finished = True


def _responses_response(result: Any, pending: Pending) -> None:
    _model(pending, result)
    _usage(pending, getattr(result, "usage", None), _RESPONSES_USAGE)
    if getattr(result, "status", None) == "failed":
        pending.error = RESPONSE_FAILED


_DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
    }
)
_DONE = frozenset({"response.completed", "response.incomplete", "response.failed"})


def _responses_event(event: Any, pending: Pending) -> None:
    kind = getattr(event, "type", None)
    if kind in _DELTAS:
        delta = getattr(event, "delta", None)
        pending.token(len(delta) if isinstance(delta, str) else 0)
    elif kind in _DONE or kind == "response.created":
        response = getattr(event, "response", None)
        _model(pending, response)
        _usage(pending, getattr(response, "usage", None), _RESPONSES_USAGE)
        if kind in _DONE:
            pending.finished = True
        if kind == "response.failed":
            pending.error = RESPONSE_FAILED


def _embeddings_response(result: Any, pending: Pending) -> None:
    _model(pending, result)
    i, _ = stream_usage_tokens(getattr(result, "usage", None), _CHAT_USAGE)
    pending.input_tokens = i
    pending.output_tokens = 0  # an embedding has no output tokens (see the docs)


def _chars_of(*names: str) -> Callable[[dict[str, Any]], int]:
    def count(kwargs: dict[str, Any]) -> int:
        return sum(text_chars(kwargs.get(n)) for n in names)

    return count


CHAT = Endpoint("generate", _chat_response, _chat_chunk, _chars_of("messages"), _streaming)
RESPONSES = Endpoint(
    "generate", _responses_response, _responses_event, _chars_of("input", "instructions"),
    _streaming,
)  # fmt: skip
EMBEDDINGS = Endpoint("embed", _embeddings_response, _chat_chunk, _chars_of("input"), _streaming)


def instrument(client: C, tracker: OutcomeTracker | None = None, *, task: str | None = None) -> C:
    """Instrument an ``openai.OpenAI`` or ``openai.AsyncOpenAI`` client in place; return it.

    Every ``chat.completions.create``, ``responses.create`` and ``embeddings.create``
    becomes one call in ``tracker`` (default: :func:`outcomes.integrations.default_tracker`)
    under ``task`` (default ``generate``, ``embed`` for embeddings). Per call,
    ``outcomes_trace_id=`` adopts an outside trace id and ``outcomes_task=`` overrides the
    task; both are removed before the SDK sees the arguments. The trace id is on the
    result (``result.outcomes_trace_id``, a stream's too) and in
    :func:`outcomes.integrations.last_trace_id`. Instrumenting twice changes nothing.
    Clients derived later (``client.with_options(...)``) are not instrumented.
    """
    import openai

    chosen = resolve_tracker(tracker)
    is_async = isinstance(client, openai.AsyncOpenAI)
    if not is_async and not isinstance(client, openai.OpenAI):
        raise TypeError(f"expected an openai.OpenAI or AsyncOpenAI client, got {type(client)!r}")
    sdk: Any = client
    for resource, endpoint in (
        (sdk.chat.completions, CHAT),
        (getattr(sdk, "responses", None), RESPONSES),
        (sdk.embeddings, EMBEDDINGS),
    ):
        if resource is not None:
            patch(resource, "create", chosen, task, endpoint, is_async=is_async)
    return client


__all__ = ["instrument"]
