"""Leaderboard and routing over HTTP (in process)."""

from __future__ import annotations

from starlette.testclient import TestClient

from outcomes.inference import OutcomeTracker


def calls(model: str, n: int, *, ok: bool = True, task: str = "code", project: str | None = None):
    out = []
    for i in range(n):
        event = {"trace_id": f"{model}-{task}-{project}-{ok}-{i}", "model_id": model, "task": task}
        if project:
            event["project_id"] = project
        if ok:
            out.append({**event, "event": "complete", "latency_ms": 100, "output_tokens": 5})
        else:
            out.append({**event, "event": "failure", "error": "boom"})
    return out


def test_models_read_their_writes_best_first(client: TestClient) -> None:
    client.post("/v1/events", json=calls("gpt-4o", 8) + calls("gpt-4o-mini", 8, ok=False))
    body = client.get("/v1/models").json()
    assert [m["model_id"] for m in body["models"]] == ["gpt-4o", "gpt-4o-mini"]
    assert body["models"][0]["calls"] == 8
    assert body["models"][1]["failures"] == 8
    assert body["receipts"] == 16


def test_models_filter_by_task_and_project(client: TestClient) -> None:
    client.post("/v1/events", json=calls("a", 3, task="code", project="web")
                + calls("b", 2, task="chat", project="cli"))  # fmt: skip
    assert [m["model_id"] for m in client.get("/v1/models?task=chat").json()["models"]] == ["b"]
    web = client.get("/v1/models", params={"project": "web"}).json()["models"]
    assert [(m["model_id"], m["calls"]) for m in web] == [("a", 3)]
    bad = client.get("/v1/models", params={"task": "\u202eevil"})
    assert bad.status_code == 422
    assert bad.json()["error"]["where"] == "task"


def test_one_model_with_its_tasks(client: TestClient) -> None:
    client.post("/v1/events", json=calls("a", 3, task="code") + calls("a", 1, task="chat"))
    body = client.get("/v1/models/a").json()
    assert body["model"]["calls"] == 4
    assert [(t["task"], t["calls"]) for t in body["tasks"]] == [("chat", 1), ("code", 3)]
    missing = client.get("/v1/models/zzz")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_route_decides_and_its_trace_id_takes_the_outcome(
    client: TestClient, tracker: OutcomeTracker
) -> None:
    body = {"task": "code", "candidates": ["gpt-4o", "gpt-4o-mini"], "project_id": "web"}
    decision = client.post("/v1/route", json=body).json()
    assert decision["model_id"] in ("gpt-4o", "gpt-4o-mini")
    assert 0 < decision["propensity"] <= 1
    assert [c["model_id"] for c in decision["candidates"]] == ["gpt-4o", "gpt-4o-mini"]
    assert decision["fallbacks"] == [m for m in body["candidates"] if m != decision["model_id"]]
    assert decision["reason"]
    done = {"event": "complete", "trace_id": decision["trace_id"], "latency_ms": 12,
            "output_tokens": 4}  # fmt: skip
    assert client.post("/v1/events", json=[done]).json()["accepted"] == 1
    (profile,) = client.get("/v1/models", params={"project": "web"}).json()["models"]
    assert (profile["model_id"], profile["calls"]) == (decision["model_id"], 1)


def test_route_refuses_bad_bodies_with_the_field(client: TestClient) -> None:
    for body, where in (
        ({"task": "code", "max_cost_usd": -1}, "max_cost_usd"),
        ({"task": "code", "policy": "random"}, "policy"),
        ({"task": "code", "typo": 1}, "typo"),
        ({}, "task"),
    ):
        answer = client.post("/v1/route", json=body)
        assert answer.status_code == 422, body
        assert answer.json()["error"]["where"] == where


def test_route_without_any_model_is_409_with_the_reasons(client: TestClient) -> None:
    body = {"task": "code", "candidates": ["gpt-4o"], "max_cost_usd": 0}
    answer = client.post("/v1/route", json=body)
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "no_model_available"
    assert "gpt-4o: expected cost" in error["message"]


def test_feedback_changes_the_leaderboard_and_tags_filter_it(client: TestClient) -> None:
    client.post("/v1/events", json=calls("a", 2) + calls("b", 2))
    feedback = [
        {"trace_id": "a-code-None-True-0", "thumbs": False, "tags": ["beta"], "signal_id": "f1"},
        {"trace_id": "a-code-None-True-1", "score": 7, "score_range": [0, 10]},
        {"trace_id": "b-code-None-True-0", "score": 11, "score_range": [0, 10]},
        {"trace_id": "b-code-None-True-1", "thumbs": "yes"},
    ]
    answer = client.post("/v1/feedback", json=feedback).json()
    assert (answer["accepted"], answer["rejected"]) == (2, 2)
    assert [p["index"] for p in answer["problems"]] == [2, 3]
    again = client.post("/v1/feedback", json=feedback[:1]).json()
    assert (again["accepted"], again["ignored"]) == (0, 1)  # signal_id: delivered once
    tagged = client.get("/v1/models", params={"tag": "beta"}).json()["models"]
    assert [(m["model_id"], m["failures"]) for m in tagged] == [("a", 1)]
    recent = client.get("/v1/models", params={"since": "1h"}).json()["models"]
    assert {m["model_id"] for m in recent} == {"a", "b"}
    bad = client.get("/v1/models", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert bad.json()["error"]["where"] == "since"
