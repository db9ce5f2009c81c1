"""Several ``outcomes serve`` processes on one PostgreSQL give the same answers."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import POSTGRES_URL, make_postgres_store

from .conftest import ServerProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def leaderboard(client: httpx.Client) -> list[tuple[str, int, int]]:
    models = client.get("/v1/models").json()["models"]
    return sorted((m["model_id"], m["calls"], m["successes"]) for m in models)


def test_two_servers_on_one_postgres_agree_and_learn_from_each_other(
    tmp_path: Path, server_factory: type[ServerProcess]
) -> None:
    store = make_postgres_store()
    try:
        sep = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{store.schema}"
        a = server_factory(url, tmp_path)
        b = server_factory(url, tmp_path)
        a.start()
        b.start()
        with a.client() as on_a, b.client() as on_b:
            ok = [{"event": "complete", "trace_id": f"a{i}", "model_id": "gpt-4o", "task": "code",
                   "latency_ms": 50, "output_tokens": 5} for i in range(5)]  # fmt: skip
            bad = [{"event": "failure", "trace_id": f"b{i}", "model_id": "o3-mini", "task": "code",
                    "error": "upstream 503"} for i in range(5)]  # fmt: skip
            assert on_a.post("/v1/events", json=ok).json()["accepted"] == 5
            assert on_b.post("/v1/events", json=bad).json()["accepted"] == 5
            decision = on_a.post("/v1/route", json={"task": "code",
                                 "candidates": ["gpt-4o", "o3-mini"]}).json()  # fmt: skip
            done = {"event": "complete", "trace_id": decision["trace_id"], "latency_ms": 40,
                    "output_tokens": 3}  # fmt: skip
            assert on_a.post("/v1/events", json=[done]).json()["accepted"] == 1
            expected = sorted([("gpt-4o", 5, 5), ("o3-mini", 5, 0)])
            chosen = decision["model_id"]
            expected = sorted(
                (m, calls + (m == chosen), ok_ + (m == chosen)) for m, calls, ok_ in expected
            )
            deadline = time.monotonic() + 15  # other processes' writes: within the refresh
            seen = None
            while time.monotonic() < deadline:
                seen = (leaderboard(on_a), leaderboard(on_b))
                if seen == (expected, expected):
                    break
                time.sleep(0.2)
            assert seen == (expected, expected)
            # B routes on what A recorded: its decision's candidates carry A's evidence.
            on_b_decision = on_b.post("/v1/route", json={"task": "code", "record": False,
                                      "candidates": ["gpt-4o", "o3-mini"]}).json()  # fmt: skip
            evidence = {c["model_id"]: c["successes"] for c in on_b_decision["candidates"]}
            assert evidence["gpt-4o"] > 4.9  # decayed by age: a hair under 5
    finally:
        store.drop_schema()
        store.close()
