"""The pure GenAI span mapping: attribute vocabularies, tasks, tokens, errors, and what
is not a model call."""

from __future__ import annotations

from typing import Any

import pytest

from outcomes.integrations._genai import error_text, genai_call, is_genai, span_trace_id

START, END = 1_760_000_000_000_000_000, 1_760_000_000_840_000_000  # 840 ms


def call(attributes: dict[str, Any], **kw: Any) -> Any:
    return genai_call(attributes, start_ns=START, end_ns=END, **kw)


@pytest.mark.parametrize(
    ("attributes", "want"),
    [
        (  # OpenTelemetry GenAI conventions (opentelemetry-instrumentation-openai-v2)
            {"gen_ai.operation.name": "chat", "gen_ai.system": "openai",
             "gen_ai.request.model": "gpt-4o-mini",
             "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
             "gen_ai.usage.input_tokens": 120, "gen_ai.usage.output_tokens": 80},
            ("gpt-4o-mini-2024-07-18", "generate", 120, 80),
        ),
        (  # the older usage names
            {"gen_ai.operation.name": "text_completion", "gen_ai.request.model": "m",
             "gen_ai.usage.prompt_tokens": 7, "gen_ai.usage.completion_tokens": 3},
            ("m", "generate", 7, 3),
        ),
        (  # OpenLLMetry
            {"llm.request.type": "chat", "gen_ai.system": "Anthropic",
             "gen_ai.request.model": "claude-3-5-haiku", "llm.usage.total_tokens": 50,
             "gen_ai.usage.prompt_tokens": 30, "gen_ai.usage.completion_tokens": 20},
            ("claude-3-5-haiku", "generate", 30, 20),
        ),
        (  # OpenLLMetry embeddings, older model attribute
            {"llm.request.type": "embedding", "llm.request.model": "text-embedding-3-small",
             "gen_ai.usage.prompt_tokens": 9},
            ("text-embedding-3-small", "embed", 9, 0),
        ),
        (  # OpenInference
            {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o",
             "llm.token_count.prompt": 11, "llm.token_count.completion": 4},
            ("gpt-4o", "generate", 11, 4),
        ),
        (
            {"openinference.span.kind": "EMBEDDING",
             "embedding.model_name": "text-embedding-3-large"},
            ("text-embedding-3-large", "embed", 0, 0),
        ),
        (  # OTLP JSON sends integers as strings
            {"gen_ai.operation.name": "embeddings", "gen_ai.request.model": "e",
             "gen_ai.usage.input_tokens": "42"},
            ("e", "embed", 42, 0),
        ),
        (  # a newer operation is its own task
            {"gen_ai.operation.name": "image_generation", "gen_ai.request.model": "img"},
            ("img", "image_generation", 0, 0),
        ),
        (  # nonsense token counts are ignored, not stored
            {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
             "gen_ai.usage.input_tokens": -5, "gen_ai.usage.output_tokens": True},
            ("m", "generate", 0, 0),
        ),
    ],
)  # fmt: skip
def test_each_vocabulary_maps_to_the_same_call(
    attributes: dict[str, Any], want: tuple[str, str, int, int]
) -> None:
    got = call(attributes)
    assert got is not None
    assert (got.model_id, got.task, got.input_tokens, got.output_tokens) == want
    assert got.latency_ms == pytest.approx(840.0)
    assert got.error is None


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"http.request.method": "GET", "http.response.status_code": 200},
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "gpt-4o"},
        {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
        {"openinference.span.kind": "CHAIN", "llm.model_name": "gpt-4o"},
        {"openinference.span.kind": "TOOL"},
        {"gen_ai.operation.name": "chat"},  # no model: nothing to attribute it to
        {"gen_ai.system": "openai", "gen_ai.request.model": ""},
    ],
)
def test_spans_that_are_not_model_calls_are_skipped(attributes: dict[str, Any]) -> None:
    assert call(attributes) is None


def test_the_application_may_name_task_and_project_on_the_span() -> None:
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}
    own = call({**base, "outcomes.task": "code", "outcomes.project_id": "web"})
    assert (own.task, own.project_id) == ("code", "web")
    default = call(base, default_task="summarize", default_project="p")
    assert (default.task, default.project_id) == ("summarize", "p")
    embed = call({**base, "gen_ai.operation.name": "embeddings"}, default_task="summarize")
    assert embed.task == "embed"  # the default names chats, not embeddings


@pytest.mark.parametrize(
    ("error_type", "status", "error_status", "want"),
    [
        ("RateLimitError", None, True, "RateLimitError 429 rate_limit"),
        ("openai.RateLimitError", 429, True, "RateLimitError 429 rate_limit"),
        ("429", 429, False, "429 rate_limit"),  # error.type may be the status
        (None, 429, False, "HTTPError 429 rate_limit"),
        ("InternalServerError", 503, True, "InternalServerError 503 server_error"),
        ("APITimeoutError", None, True, "APITimeoutError timeout"),
        ("APIConnectionError", None, True, "APIConnectionError connection"),
        (None, None, True, "SpanError"),
        ("_OTHER", None, False, "_OTHER"),
        ("BadRequestError: please summarise my diary", 400, True, "BadRequestError 400"),
        (None, 200, False, None),
        (None, None, False, None),
    ],
)
def test_errors_follow_the_integrations_rule_and_never_keep_a_message(
    error_type: str | None, status: int | None, error_status: bool, want: str | None
) -> None:
    assert error_text(error_type, status, error_status) == want


def test_a_failed_span_records_its_http_status_and_exception_type() -> None:
    got = call(
        {"gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
         "http.status_code": 429},
        error_status=True, exception_type="openai.RateLimitError",
    )  # fmt: skip
    assert got.error == "RateLimitError 429 rate_limit"


def test_markers_and_trace_ids() -> None:
    assert is_genai({"gen_ai.system": "x"})
    assert not is_genai({"db.system": "postgresql"})
    assert span_trace_id(1, 2) == "otel-" + "0" * 31 + "1-" + "0" * 15 + "2"
    assert span_trace_id("ABC", "DEF") == "otel-abc-def"
