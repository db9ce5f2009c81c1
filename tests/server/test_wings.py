"""Components, shadow and trajectory endpoints (in process, and the outbox end to end)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from outcomes.trajectory import SelfCheck, TrajectoryOutbox, TrajectoryStore

from .conftest import TOKEN, ServerProcess


def test_component_events_per_item_and_report(client: TestClient) -> None:
    body = [
        {"component_id": "plug-a", "outcome": "install_failure", "context": "exit 1"},
        {"component_id": "plug-a", "outcome": "install_success", "session_id": "s1"},
        {"component_id": "plug-a", "outcome": "exploded"},
        {"component_id": "plug-b", "outcome": "install_success", "extra": 1},
    ]
    answer = client.post("/v1/components/events", json=body).json()
    assert (answer["accepted"], answer["rejected"]) == (2, 2)
    assert [(p["index"], p["where"]) for p in answer["problems"]] == [
        (2, "outcome_type"), (3, "extra"),
    ]  # fmt: skip
    (report,) = client.get("/v1/components").json()["components"]
    assert (report["component_id"], report["successes"], report["failures"]) == ("plug-a", 1, 1)


def test_shadow_observations_labels_and_report(client: TestClient) -> None:
    observations = [
        {
            "memory_id": f"m{i}",
            "namespace": "notes",
            "source": "user",
            "caller_confidence": 0.9,
            "signals": {"source_age_days": 3.0},
        }
        for i in range(3)
    ] + [{"memory_id": "x", "namespace": "notes", "source": "user", "caller_confidence": 2}]
    answer = client.post("/v1/shadow/observations", json=observations).json()
    assert (answer["accepted"], answer["rejected"]) == (3, 1)
    assert answer["problems"][0]["where"] == "caller_confidence"
    ids = [entry["id"] for entry in answer["ids"]]
    labels = [{"observation_id": i, "outcome": True} for i in ids]
    labels.append({"observation_id": "missing-1", "outcome": False})
    labelled = client.post("/v1/shadow/labels", json=labels).json()
    assert (labelled["accepted"], labelled["rejected"]) == (3, 1)
    (group,) = client.get("/v1/shadow/report").json()["groups"]
    assert (group["namespace"], group["count"], group["labeled"]) == ("notes", 3, 3)
    assert group["verdict"] == "insufficient_data"


def test_trajectory_upload_is_idempotent_and_readable(client: TestClient) -> None:
    run = {"run_id": "run-1", "pipeline": "review",
           "steps": [{"kind": "self_check", "keep_count": 3, "drop_count": 1,
                      "avg_confidence": 0.5}]}  # fmt: skip
    assert client.post("/v1/trajectories", json=run).json()["status"] == "stored"
    assert client.post("/v1/trajectories", json=run).json()["status"] == "duplicate"
    got = client.get("/v1/trajectories/run-1").json()
    assert got["steps"][0]["keep_count"] == 3
    bad = client.post("/v1/trajectories", json={**run, "run_id": "run-2",
                                                "steps": [{"kind": "self_check"}]})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["error"]["where"].startswith("steps[0]")
    assert client.get("/v1/trajectories/run-2").status_code == 404


def test_the_outbox_delivers_to_a_real_server_with_its_token(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    from outcomes.store import SQLiteStore

    server = server_factory(f"sqlite:///{tmp_path / 'server.db'}", tmp_path, token=True)
    server.start()
    local = SQLiteStore(tmp_path / "local.db")
    try:
        trajectories = TrajectoryStore(local, outbox_endpoint=f"{server.url}/v1/trajectories")
        trajectories.save("run-9", [SelfCheck(keep_count=2, drop_count=0, avg_confidence=0.9)])
        unauthorized = TrajectoryOutbox(trajectories, token="not-the-token-at-all")
        assert unauthorized.deliver_due().failed == 1  # 401: permanent, kept as failed
        assert trajectories.store is local
        assert TrajectoryOutbox(trajectories, token=TOKEN).retry_failed() == 1
        report = TrajectoryOutbox(trajectories, token=TOKEN).deliver_due()
        assert report.delivered == 1
    finally:
        local.close()
    with server.client() as client:
        assert client.get("/v1/trajectories/run-9").json()["steps"][0]["keep_count"] == 2
