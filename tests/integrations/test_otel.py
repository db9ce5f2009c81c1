"""OutcomesSpanExporter behind a real TracerProvider: spans shaped like the popular
instrumentations become calls; prompts, answers and everything else stay out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
)
from opentelemetry.trace import Status, StatusCode, Tracer

from outcomes.inference import OutcomeTracker
from outcomes.integrations.otel import OutcomesSpanExporter, trace_id_of_span
from tests.integrations.conftest import ANSWER, PROMPT, db_bytes, stored


@pytest.fixture
def traced(tracker: OutcomeTracker) -> Iterator[tuple[Tracer, OutcomesSpanExporter]]:
    exporter = OutcomesSpanExporter(tracker)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test"), exporter
    provider.shutdown()


def openai_v2_span(tracer: Tracer) -> Any:
    """As opentelemetry-instrumentation-openai-v2 emits it (content in events)."""
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat", "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.response.id": "chatcmpl-1", "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 300,
            "server.address": "api.openai.com",
        })  # fmt: skip
        span.add_event("gen_ai.user.message", {"gen_ai.system": "openai", "content": PROMPT})
        span.add_event("gen_ai.choice", {"index": 0, "message": ANSWER})
    return span


def openllmetry_span(tracer: Tracer) -> Any:
    """As Traceloop's OpenLLMetry emits it (content in attributes)."""
    with tracer.start_as_current_span("anthropic.chat") as span:
        span.set_attributes({
            "llm.request.type": "chat", "gen_ai.system": "Anthropic",
            "gen_ai.request.model": "claude-3-5-haiku",
            "gen_ai.response.model": "claude-3-5-haiku",
            "gen_ai.usage.prompt_tokens": 40, "gen_ai.usage.completion_tokens": 25,
            "llm.usage.total_tokens": 65, "llm.is_streaming": True,
            "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": PROMPT,
            "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": ANSWER,
            "traceloop.workflow.name": "support-bot",
        })  # fmt: skip
    return span


def openinference_span(tracer: Tracer) -> Any:
    """As Arize's OpenInference instrumentations emit it."""
    with tracer.start_as_current_span("ChatCompletion") as span:
        span.set_attributes({
            "openinference.span.kind": "LLM", "llm.model_name": "gemini-2.0-flash",
            "llm.provider": "google", "llm.token_count.prompt": 10,
            "llm.token_count.completion": 5, "llm.token_count.total": 15,
            "input.value": PROMPT, "output.value": ANSWER,
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": PROMPT,
            "llm.output_messages.0.message.content": ANSWER,
            "llm.invocation_parameters": '{"temperature": 0.2}',
        })  # fmt: skip
    return span


def test_spans_of_popular_instrumentations_become_calls_without_their_text(
    traced: tuple[Tracer, OutcomesSpanExporter], tracker: OutcomeTracker, db_path: Path
) -> None:
    tracer, exporter = traced
    spans = [openai_v2_span(tracer), openllmetry_span(tracer), openinference_span(tracer)]
    with tracer.start_as_current_span("EmbeddingSpan") as emb:
        emb.set_attributes({
            "openinference.span.kind": "EMBEDDING",
            "embedding.model_name": "text-embedding-3-small",
            "embedding.embeddings.0.embedding.text": PROMPT,
        })  # fmt: skip
    with tracer.start_as_current_span("GET /answer") as http:
        http.set_attribute("http.request.method", "GET")
        http.set_attribute("url.full", f"https://example.test/?q={PROMPT}")
    with tracer.start_as_current_span("invoke_agent helper") as agent:
        agent.set_attributes(
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "gpt-4o"}
        )
    got = {r.trace_id: r for r in stored(tracker)}
    assert exporter.recorded == 4
    first = got[trace_id_of_span(spans[0])]
    assert (first.model_id, first.task, first.input_tokens, first.output_tokens) == (
        "gpt-4o-mini-2024-07-18", "generate", 1200, 300,
    )  # fmt: skip
    assert first.success is True
    assert first.cost_usd == pytest.approx(tracker.registry.cost("gpt-4o-mini", 1200, 300))
    assert 0 < first.latency_ms < 10_000
    second = got[trace_id_of_span(spans[1])]
    assert (second.model_id, second.input_tokens, second.output_tokens) == (
        "claude-3-5-haiku", 40, 25,
    )  # fmt: skip
    third = got[trace_id_of_span(spans[2])]
    assert (third.model_id, third.input_tokens, third.output_tokens) == ("gemini-2.0-flash", 10, 5)
    assert got[trace_id_of_span(emb)].task == "embed"
    assert trace_id_of_span(http) not in got
    assert trace_id_of_span(agent) not in got
    tracker.close()
    data = db_bytes(db_path)
    for text in (PROMPT, ANSWER, "SECRET-PROMPT", "SECRET-ANSWER", "temperature"):
        assert text.encode() not in data, text


def test_a_rate_limited_span_is_a_failure_that_cools_the_model_down(
    traced: tuple[Tracer, OutcomesSpanExporter], tracker: OutcomeTracker, db_path: Path
) -> None:
    tracer, _ = traced
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "error.type": "RateLimitError", "gen_ai.prompt.0.content": PROMPT,
        })  # fmt: skip
        span.record_exception(RuntimeError(f"rate limited while answering {PROMPT}"))
        span.set_status(Status(StatusCode.ERROR, f"quota exceeded for {PROMPT}"))
    (receipt,) = stored(tracker)
    assert (receipt.success, receipt.error) == (False, "RateLimitError 429 rate_limit")
    assert tracker.cooldown_until("gpt-4o") is not None
    assert tracker.is_excluded("gpt-4o")
    tracker.close()
    assert PROMPT.encode() not in db_bytes(db_path)


def test_an_exception_event_names_the_error_when_error_type_is_missing(
    traced: tuple[Tracer, OutcomesSpanExporter], tracker: OutcomeTracker
) -> None:
    tracer, _ = traced

    class APITimeoutError(Exception):
        pass

    def failing_call() -> Any:
        with tracer.start_as_current_span("chat m") as span:
            span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"})
            raise APITimeoutError(PROMPT)

    with pytest.raises(APITimeoutError):
        failing_call()
    (receipt,) = stored(tracker)
    assert receipt.error == "APITimeoutError timeout"
    assert receipt.trace_id.startswith("otel-")


def test_feedback_reaches_the_call_of_a_span(
    traced: tuple[Tracer, OutcomesSpanExporter], tracker: OutcomeTracker
) -> None:
    tracer, _ = traced
    span = openai_v2_span(tracer)
    assert tracker.feedback(trace_id_of_span(span), thumbs=False, tags=["otel"])
    p = tracker.shared_profiles(tag="otel")
    assert [(x.model_id, x.calls, x.failures) for x in p] == [("gpt-4o-mini-2024-07-18", 1, 1)]


def test_batch_processor_and_project_and_task_defaults(tracker: OutcomeTracker) -> None:
    exporter = OutcomesSpanExporter(tracker, task="support", project_id="web")
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for _ in range(50):
        openai_v2_span(tracer)
    with tracer.start_as_current_span("chat own") as span:
        span.set_attributes({"gen_ai.request.model": "m", "outcomes.task": "code"})
    assert provider.force_flush()
    provider.shutdown()
    got = stored(tracker)
    assert len(got) == 51
    assert {(r.task, r.project_id) for r in got} == {("support", "web"), ("code", "web")}
    assert exporter.export([]).name == "FAILURE"  # after shutdown, nothing is taken


def test_an_invalid_span_value_is_dropped_without_breaking_the_export(
    traced: tuple[Tracer, OutcomesSpanExporter], tracker: OutcomeTracker
) -> None:
    tracer, exporter = traced
    with tracer.start_as_current_span("bad") as bad:
        bad.set_attributes({"gen_ai.request.model": "bad\u202emodel"})  # bidi override
    openllmetry_span(tracer)
    assert [r.model_id for r in stored(tracker)] == ["claude-3-5-haiku"]
    assert trace_id_of_span(bad)
    assert exporter.recorded == 2  # handed to the tracker, which refused the bad one
