"""GenAI spans -> calls: the pure mapping shared by the OpenTelemetry exporter and the
service's OTLP receiver (no OpenTelemetry import here).

A span is given as its attribute mapping, its timing, whether its status is ERROR, and
the exception type of its first ``exception`` event if any. :func:`genai_call` answers
``None`` for a span that is not a model call (cheaply: one pass over its attribute names)
and otherwise the call's fields. Three attribute vocabularies are read
(``docs/integrations.md`` has the table):

- OpenTelemetry GenAI semantic conventions: ``gen_ai.operation.name``,
  ``gen_ai.request.model``/``gen_ai.response.model``, ``gen_ai.usage.input_tokens``/
  ``output_tokens`` (and the older ``prompt_tokens``/``completion_tokens``),
  ``error.type``, ``http.response.status_code`` (or the older ``http.status_code``);
- OpenLLMetry (Traceloop): ``llm.request.type``, ``llm.request.model``/
  ``llm.response.model``, ``llm.usage.total_tokens``;
- OpenInference (Arize Phoenix): ``openinference.span.kind``, ``llm.model_name``,
  ``embedding.model_name``, ``llm.token_count.prompt``/``completion``, ``llm.cost.total``.

Nothing else of a span is read: prompt and completion attributes
(``gen_ai.prompt.*``, ``gen_ai.completion.*``, ``llm.input_messages.*``,
``input.value``...), events and the status description (which may quote the prompt) never
leave the span. The error text follows the integrations' rule (type, status, kind word;
never a message), so a 429 always carries ``429`` and starts the tracker's cooldown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from outcomes._validate import TASK_PATTERN

if TYPE_CHECKING:
    from outcomes.inference import OutcomeTracker

MARKERS = (
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.system",
    "llm.request.type",
    "openinference.span.kind",
)
"""A span with none of these attributes is not a GenAI span and costs nothing more."""

_OPERATIONS = {
    "chat": "generate",
    "text_completion": "generate",
    "generate_content": "generate",
    "completion": "generate",
    "embeddings": "embed",
    "embedding": "embed",
    "rerank": "rerank",
}
"""``gen_ai.operation.name`` and OpenLLMetry's ``llm.request.type`` -> task."""

_NOT_CALLS = frozenset({"execute_tool", "create_agent", "invoke_agent", "unknown"})
"""Operations that wrap model calls or are not model calls: counting them would count a
call twice (an agent span around its chat spans) or count a tool as a model."""

_OPENINFERENCE = {"LLM": "generate", "EMBEDDING": "embed", "RERANKER": "rerank"}
"""OpenInference span kinds that are model calls (CHAIN, TOOL, AGENT... are not)."""

_MODEL_KEYS = (
    "gen_ai.response.model",
    "llm.response.model",
    "gen_ai.request.model",
    "llm.request.model",
    "llm.model_name",
    "embedding.model_name",
)
"""Where the model id is, best first: the model that answered, then the one asked for."""

_INPUT_KEYS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
_OUTPUT_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
_STATUS_KEYS = ("http.response.status_code", "http.status_code")
_COST_KEYS = ("llm.cost.total", "gen_ai.usage.cost")
_TASK_RE = re.compile(TASK_PATTERN)
_TYPE_NAME = re.compile(r"[A-Za-z0-9_-]+")
MAX_ERROR_TYPE_CHARS = 64


@dataclass(frozen=True, slots=True)
class GenAICall:
    """One model call read from a span: what :func:`record_genai` hands the tracker."""

    model_id: str
    task: str
    latency_ms: float
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error: str | None = None
    project_id: str | None = None


_MARKER_SET = frozenset(MARKERS)


def is_genai(attributes: Mapping[str, Any]) -> bool:
    """Whether a span with these attributes may be a model call.

    One pass over the keys: a lookup of a missing key in a ``Mapping`` that is not a
    dict (the SDK's span attributes) raises and catches ``KeyError``, six times per span.
    """
    return not _MARKER_SET.isdisjoint(attributes)


def span_trace_id(trace_id: int | str, span_id: int | str) -> str:
    """The outcomes trace id of the span (``otel-<32 hex>-<16 hex>``), the one
    :meth:`OutcomeTracker.feedback` takes. Ints (the SDK's) or hex strings (OTLP JSON)."""
    t = f"{trace_id:032x}" if isinstance(trace_id, int) else str(trace_id).lower()
    s = f"{span_id:016x}" if isinstance(span_id, int) else str(span_id).lower()
    return f"otel-{t}-{s}"


def _text(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _count(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    """The first non-negative integer among ``keys`` (OTLP JSON sends ints as strings)."""
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and 0 <= value < 2**63:
            return value
    return None


def _task(attributes: Mapping[str, Any]) -> str | None:
    """The call's task, or None when the span is not a model call."""
    kind = attributes.get("openinference.span.kind")
    if isinstance(kind, str):
        return _OPENINFERENCE.get(kind.upper())
    op = attributes.get("gen_ai.operation.name", attributes.get("llm.request.type"))
    if not isinstance(op, str) or not op:
        return "generate"  # a model attribute without an operation: a model call
    if op in _NOT_CALLS:
        return None
    task = _OPERATIONS.get(op)
    if task is None and _TASK_RE.match(op):
        task = op  # a newer operation name ("image_generation") is its own task
    return task


def _cost(attributes: Mapping[str, Any]) -> float | None:
    for key in _COST_KEYS:
        value = attributes.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value) and value >= 0:
            return float(value)
    return None


def error_text(error_type: str | None, status: int | None, error_status: bool) -> str | None:
    """The error to record: ``<type> [<status>] [<kind>]`` (the integrations' rule), or
    None for a call that did not fail."""
    if error_type is None and not error_status and (status is None or status < 400):
        return None
    kind_of = (error_type or "").lower()
    # A type name only, unqualified like the integrations' (``openai.RateLimitError`` ->
    # ``RateLimitError``): what someone put after it ("RateLimitError: <prompt>") is cut.
    token = re.split(r"[\s:]", error_type or "", maxsplit=1)[0].rsplit(".", 1)[-1]
    m = _TYPE_NAME.match(token)
    name = m.group(0)[:MAX_ERROR_TYPE_CHARS] if m else ""
    parts = [name or ("HTTPError" if status is not None and status >= 400 else "SpanError")]
    if status is not None and status >= 400 and parts[0] != str(status):
        parts.append(str(status))
    if status == 429 or "ratelimit" in kind_of.replace("_", "").replace(" ", ""):
        if status != 429:
            parts.append("429")
        parts.append("rate_limit")
    elif "timeout" in kind_of:
        parts.append("timeout")
    elif status is not None and status >= 500:
        parts.append("server_error")
    elif "connection" in kind_of:
        parts.append("connection")
    return " ".join(parts)


def genai_call(
    attributes: Mapping[str, Any],
    *,
    start_ns: int,
    end_ns: int,
    error_status: bool = False,
    exception_type: str | None = None,
    default_task: str | None = None,
    default_project: str | None = None,
) -> GenAICall | None:
    """The call a span describes, or None when it is not a model call (no GenAI marker,
    an agent or tool span, no model id).

    ``start_ns``/``end_ns`` are the span's times in nanoseconds; ``error_status`` whether
    its status is ERROR; ``exception_type`` the ``exception.type`` of its first
    ``exception`` event. The task is the span's ``outcomes.task`` attribute when the
    application sets one, else ``default_task`` for a chat or completion (embeddings stay
    ``embed``), else the operation's (``generate``, ``embed``, ``rerank``, or a newer
    operation's own name); the project is ``outcomes.project_id``, else
    ``default_project``.
    """
    if not is_genai(attributes):
        return None
    task = _task(attributes)
    model = _text(attributes, _MODEL_KEYS)
    if task is None or model is None:
        return None
    own_task = attributes.get("outcomes.task")
    if isinstance(own_task, str) and _TASK_RE.match(own_task):
        task = own_task
    elif default_task is not None and task == "generate":
        task = default_task
    project = attributes.get("outcomes.project_id")
    if not isinstance(project, str) or not project:
        project = default_project
    status = _count(attributes, _STATUS_KEYS)
    error_type = _text(attributes, ("error.type",)) or exception_type
    return GenAICall(
        model_id=model,
        task=task,
        latency_ms=max(0.0, (end_ns - start_ns) / 1e6),
        input_tokens=_count(attributes, _INPUT_KEYS) or 0,
        output_tokens=_count(attributes, _OUTPUT_KEYS) or 0,
        cost_usd=_cost(attributes),
        error=error_text(error_type, status, error_status),
        project_id=project,
    )


_DATED = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def _price(tracker: OutcomeTracker, call: GenAICall) -> float | None:
    """The call's cost: its own, else None for the tracker to price (or leave unknown),
    a dated answer (``gpt-4o-2024-08-06``) priced as its undated name."""
    if call.cost_usd is not None or tracker.registry.get(call.model_id) is not None:
        return call.cost_usd
    undated = _DATED.sub("", call.model_id)
    if undated == call.model_id:
        return None
    return tracker.registry.cost(undated, call.input_tokens, call.output_tokens)


def record_genai(tracker: OutcomeTracker, call: GenAICall, trace_id: str) -> None:
    """Record ``call`` under ``trace_id``: a failure, or a completion with its tokens.
    Invalid values are the tracker's to refuse (logged, or raised when it is strict)."""
    tracker.record_start(
        call.model_id, call.task, "otel", project_id=call.project_id, trace_id=trace_id
    )
    if call.error is not None:
        tracker.record_failure(trace_id, call.error, latency_ms=call.latency_ms)
        return
    tracker.record_complete(
        trace_id, call.latency_ms, call.input_tokens, call.output_tokens,
        cost_usd=_price(tracker, call),
    )  # fmt: skip
