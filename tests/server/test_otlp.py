"""The OTLP/HTTP receiver: a real OpenTelemetry SDK exporter, and OTLP/JSON bodies."""

from __future__ import annotations

import gzip
from pathlib import Path

import msgspec
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from starlette.testclient import TestClient

from outcomes.server import ServerLimits

from .conftest import TOKEN, ServerProcess, make_client

PROMPT = "SECRET PROMPT about the quarterly numbers"


@pytest.mark.slow
def test_a_real_sdk_exporter_feeds_the_leaderboard_and_no_prompt_is_stored(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    db = tmp_path / "otlp.db"
    server = server_factory(f"sqlite:///{db}", tmp_path, token=True)
    server.start()
    provider = TracerProvider()
    exporter = OTLPSpanExporter(
        endpoint=f"{server.url}/v1/traces", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("app")
    chat = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 7,
            "gen_ai.prompt.0.content": PROMPT}  # fmt: skip
    for _ in range(3):
        with tracer.start_as_current_span("chat gpt-4o", attributes=chat):
            pass
    with tracer.start_as_current_span(
        "chat claude",
        attributes={
            **chat,
            "gen_ai.request.model": "claude-3-5-haiku",
            "error.type": "RateLimitError",
            "http.response.status_code": 429,
        },
    ) as span:
        span.set_status(Status(StatusCode.ERROR, PROMPT))
    with tracer.start_as_current_span("GET /health"):
        pass
    provider.shutdown()
    with server.client() as client:
        models = {m["model_id"]: m for m in client.get("/v1/models").json()["models"]}
    assert set(models) == {"gpt-4o", "claude-3-5-haiku"}
    assert (models["gpt-4o"]["calls"], models["gpt-4o"]["successes"]) == (3, 3)
    assert models["gpt-4o"]["input_tokens"] == 36
    assert models["claude-3-5-haiku"]["failures"] == 1
    server.stop()
    for path in tmp_path.glob("otlp.db*"):
        assert b"SECRET PROMPT" not in path.read_bytes()


def otlp_json(spans: list[dict[str, object]]) -> dict[str, object]:
    return {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}


def span(span_id: str, model: str, **attrs: object) -> dict[str, object]:
    values = [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
              {"key": "gen_ai.request.model", "value": {"stringValue": model}},
              {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "5"}}]  # fmt: skip
    values += [{"key": k, "value": v} for k, v in attrs.items()]
    return {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": span_id,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000250000000",
            "attributes": values}  # fmt: skip


def test_otlp_json_and_gzip(client: TestClient) -> None:
    body = otlp_json([span("b7ad6b7169203331", "gpt-4o"), span("b7ad6b7169203332", "o3-mini")])
    answer = client.post("/v1/traces", json=body)
    assert answer.status_code == 200
    assert answer.json() == {}
    zipped = gzip.compress(msgspec.json.encode(otlp_json([span("b7ad6b7169203333", "gpt-4o")])))
    answer = client.post("/v1/traces", content=zipped, headers={
        "content-type": "application/json", "content-encoding": "gzip"})  # fmt: skip
    assert answer.status_code == 200
    models = {m["model_id"]: m for m in client.get("/v1/models").json()["models"]}
    assert (models["gpt-4o"]["calls"], models["o3-mini"]["calls"]) == (2, 1)
    assert models["gpt-4o"]["latency_ms"]["mean"] == pytest.approx(250, rel=0.05)


def test_otlp_refuses_garbage_and_gzip_bombs(tracker) -> None:  # type: ignore[no-untyped-def]
    with make_client(tracker, limits=ServerLimits(max_body_bytes=10_000)) as client:
        garbage = client.post("/v1/traces", content=b"\x0a\xff\xff\xff",
                              headers={"content-type": "application/x-protobuf"})  # fmt: skip
        assert garbage.status_code == 400
        assert garbage.json()["error"]["code"] == "bad_request"
        bomb = gzip.compress(b" " * 1_000_000)
        assert len(bomb) < 10_000
        answer = client.post("/v1/traces", content=bomb, headers={
            "content-type": "application/json", "content-encoding": "gzip"})  # fmt: skip
        assert answer.status_code == 413
