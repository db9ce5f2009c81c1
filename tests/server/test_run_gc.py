"""``outcomes serve``'s worker app freezes its start-up objects once it has started."""

from __future__ import annotations

import gc
import threading
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from outcomes import config
from outcomes.server import create_app
from outcomes.server._run import app_from_env
from outcomes.store import MemoryStore


def _freeze_done(timeout: float = 60.0) -> None:
    for thread in threading.enumerate():
        if thread.name == "outcomes-gc-freeze":
            thread.join(timeout)
            assert not thread.is_alive()


def test_the_serve_worker_freezes_the_collector_after_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(config.ENV_DB_URL, f"sqlite:///{tmp_path / 'o.db'}")
    monkeypatch.delenv(config.ENV_SERVER_TOKEN_FILE, raising=False)
    gc.unfreeze()
    try:
        with TestClient(app_from_env()) as client:
            assert client.get("/healthz").status_code == 200
            _freeze_done()
            assert gc.get_freeze_count() > 0
            # Still serving, and still writing, after the freeze.
            answer = client.post("/v1/events", json=[{
                "event": "complete", "trace_id": "t1", "model_id": "m", "task": "code",
                "latency_ms": 5.0}])  # fmt: skip
            assert answer.json()["accepted"] == 1
    finally:
        gc.unfreeze()


def test_an_embedded_app_leaves_the_collector_alone() -> None:
    gc.unfreeze()
    with TestClient(create_app(MemoryStore())) as client:
        assert client.get("/healthz").status_code == 200
        _freeze_done()
    assert gc.get_freeze_count() == 0
