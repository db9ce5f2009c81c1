"""The service in process (Starlette's TestClient): envelope, events, auth, limits."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from outcomes.inference import OutcomeTracker
from outcomes.records import Receipt
from outcomes.server import ServerLimits

from .conftest import TOKEN, make_client


def stored(tracker: OutcomeTracker) -> int:
    assert tracker.store is not None
    return tracker.store.count(Receipt.__table__)


def complete(trace_id: str, model: str = "gpt-4o", **extra: object) -> dict[str, object]:
    return {"event": "complete", "trace_id": trace_id, "model_id": model, "task": "code",
            "latency_ms": 120, "input_tokens": 10, "output_tokens": 5, **extra}  # fmt: skip


def test_every_error_has_the_one_envelope(client: TestClient) -> None:
    answers = [
        client.get("/no/such/path"),
        client.get("/v1/events"),
        client.post("/v1/events", content=b"{", headers={"content-type": "application/json"}),
    ]
    for answer in answers:
        body = answer.json()
        assert set(body) == {"error"}
        assert set(body["error"]) == {"status", "code", "message", "where"}
        assert body["error"]["status"] == answer.status_code
        assert answer.headers["content-type"] == "application/json"
    assert [a.json()["error"]["code"] for a in answers] == [
        "not_found", "method_not_allowed", "invalid_body",
    ]  # fmt: skip


def test_envelope_shape_is_pinned(client: TestClient) -> None:
    answer = client.get("/nope")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {"status": 404, "code": "not_found", "message": "Not Found", "where": None}
    }


def test_events_json_array_are_committed_before_the_answer(
    client: TestClient, tracker: OutcomeTracker
) -> None:
    answer = client.post("/v1/events", json=[complete("t1"), complete("t2")])
    assert answer.status_code == 200
    assert answer.json() == {"received": 2, "accepted": 2, "ignored": 0, "rejected": 0,
                             "dropped_fields": 0, "problems": []}  # fmt: skip
    assert stored(tracker) == 2


def test_events_ndjson_with_a_bad_line_keeps_the_good_ones(
    client: TestClient, tracker: OutcomeTracker
) -> None:
    lines = [
        json.dumps(complete("a")),
        '{"event": "complete", "trace_id": "b", "latency_ms": 1}',
        "",
        json.dumps(complete("c", latency_ms=-1)),
        json.dumps(complete("d", color="red")),
    ]
    answer = client.post(
        "/v1/events", content="\n".join(lines), headers={"content-type": "application/x-ndjson"}
    )
    body = answer.json()
    assert answer.status_code == 200
    assert (body["accepted"], body["rejected"], body["dropped_fields"]) == (2, 2, 1)
    assert [p["index"] for p in body["problems"]] == [1, 3]  # line numbers minus one
    assert "send its start first" in body["problems"][0]["reason"]
    assert body["problems"][1]["where"] == "latency_ms"
    assert stored(tracker) == 2


def test_a_repeated_batch_adds_nothing(client: TestClient, tracker: OutcomeTracker) -> None:
    batch = [complete("r1"), {"event": "signal", "trace_id": "r1", "signal_id": "s1",
                              "kind": "conversation", "verdict": "accepted"}]  # fmt: skip
    first = client.post("/v1/events", json=batch).json()
    again = client.post("/v1/events", json=batch).json()
    assert first["accepted"] == 2
    assert (again["accepted"], again["ignored"]) == (0, 2)
    assert stored(tracker) == 2  # the completion and its superseding signal receipt


def test_event_timestamps_are_replayed(client: TestClient, tracker: OutcomeTracker) -> None:
    client.post("/v1/events", json=[complete("old", timestamp=1_700_000_000)])
    assert tracker.store is not None
    (receipt,) = tracker.store.scan(Receipt.__table__)
    assert receipt.timestamp == 1_700_000_000


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'[{"event": "complete", "trace_id": "x", "latency_ms": NaN}]', "NaN"),
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b'[{"event": "start", "trace_id": "\xff\xfe"}]', "UTF-8"),
        (b'{"event": "complete"}', "JSON array"),
    ],
)
def test_hostile_bodies_get_a_clear_422(client: TestClient, body: bytes, reason: str) -> None:
    answer = client.post("/v1/events", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert reason in answer.json()["error"]["message"]


def test_wrong_types_are_rejected_per_item(client: TestClient, tracker: OutcomeTracker) -> None:
    body = [
        complete("ok"),
        complete("bad", input_tokens="many"),
        complete("big", output_tokens=2**70),
    ]
    answer = client.post("/v1/events", json=body).json()
    assert answer["accepted"] == 1
    assert [p["where"] for p in answer["problems"]] == ["input_tokens", "output_tokens"]
    assert stored(tracker) == 1


def test_oversized_bodies_and_batches_get_413(tracker: OutcomeTracker) -> None:
    limits = ServerLimits(max_body_bytes=1000, max_items=3)
    with make_client(tracker, limits=limits) as c:
        big = c.post("/v1/events", content=b"[" + b" " * 2000 + b"]")
        assert big.status_code == 413
        assert big.json()["error"]["code"] == "body_too_large"

        def chunks() -> object:
            yield b"["
            for _ in range(100):
                yield b" " * 100  # no Content-Length: refused while streaming

        streamed = c.post("/v1/events", content=chunks())  # type: ignore[arg-type]
        assert streamed.status_code == 413
        many = c.post("/v1/events", json=[complete(f"t{i}") for i in range(4)])
        assert many.status_code == 413
        assert many.json()["error"]["code"] == "batch_too_large"
    assert stored(tracker) == 0


def test_token_guards_everything_but_healthz(tracker: OutcomeTracker) -> None:
    with make_client(tracker, token=TOKEN) as c:
        assert c.get("/healthz").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            for method, path in (("GET", "/readyz"), ("GET", "/metrics"), ("POST", "/v1/events")):
                answer = c.request(method, path, headers=headers, json=[complete("z")])
                assert answer.status_code == 401
                assert answer.json()["error"]["code"] == "unauthorized"
                assert answer.headers["www-authenticate"] == "Bearer"
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/readyz", headers=good).status_code == 200
        assert c.post("/v1/events", headers=good, json=[complete("z")]).json()["accepted"] == 1
    assert stored(tracker) == 1


def test_readyz_says_which_store(client: TestClient) -> None:
    assert client.get("/readyz").json()["status"] == "ready"


def test_metrics_count_requests_and_writes(client: TestClient, tracker: OutcomeTracker) -> None:
    client.post("/v1/events", json=[complete("m1"), {"event": "bogus"}])
    tracker.refresh_view()
    text = client.get("/metrics").text
    assert 'outcomes_http_requests_total{method="POST",route="/v1/events",status="200"} 1.0' in text
    assert 'outcomes_items_rejected_total{endpoint="events"} 1.0' in text
    assert "outcomes_receipts_written_total 1.0" in text
    assert "outcomes_writer_queue_depth 0.0" in text
    assert 'outcomes_model_calls_total{model="gpt-4o"} 1.0' in text
    assert 'outcomes_http_request_duration_seconds_count{route="/v1/events"} 1.0' in text


def test_metrics_keep_a_bounded_set_of_methods(client: TestClient) -> None:
    for i in range(20):
        client.request(f"BREW{i}", "/v1/models")  # any token is a method to the parser
    text = client.get("/metrics").text
    assert "BREW" not in text
    assert (
        'outcomes_http_requests_total{method="OTHER",route="/v1/models",status="405"} 20.0' in text
    )


def test_readyz_is_503_when_the_store_is_unreachable(tracker: OutcomeTracker) -> None:
    from outcomes.errors import StoreUnavailableError

    assert tracker.store is not None

    def down(*args: object) -> object:
        raise StoreUnavailableError("connection refused")

    with make_client(tracker) as c:
        tracker.store.migration_status = down  # type: ignore[method-assign]
        answer = c.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "not_ready"
    assert "connection refused" in answer.json()["error"]["message"]
