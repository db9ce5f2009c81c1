"""``outcomes models``, ``profiles rebuild`` and ``ingest``, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

from outcomes.inference import OutcomeTracker, rebuild
from outcomes.store import SQLiteStore
from outcomes.testing import cli

REQUIRED = {
    "model_id", "task", "calls", "successes", "failures", "inconclusive", "success_rate",
    "success_interval", "quality", "latency_ms", "input_tokens", "output_tokens", "cost_usd",
    "cost_per_success", "excluded", "degraded",
}  # fmt: skip

EVENTS = [
    {"event": "start", "trace_id": "t1", "model_id": "gpt-4o-mini", "task": "generate",
     "routing_reason": "default", "project_id": "web", "timestamp": 1_750_000_000},
    {"event": "complete", "trace_id": "t1", "latency_ms": 420, "input_tokens": 120,
     "output_tokens": 80, "timestamp": 1_750_000_001},
    {"event": "signal", "signal_id": "s1", "trace_id": "t1", "kind": "conversation",
     "verdict": "accepted", "confidence": 0.9, "timestamp": 1_750_000_060},
    {"event": "complete", "trace_id": "t2", "model_id": "claude-3-5-haiku", "task": "code",
     "latency_ms": 900, "input_tokens": 300, "output_tokens": 0, "timestamp": 1_750_000_100},
    {"event": "failure", "trace_id": "t3", "model_id": "claude-3-5-haiku", "task": "code",
     "error": "429 rate limited", "retry_after": 20, "timestamp": 1_750_000_200},
]  # fmt: skip


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = cli.invoke(list(args), input=stdin)
    return result.exit_code, result.output


def write_events(path: Path, extra: list[str] = ()) -> Path:  # type: ignore[assignment]
    lines = [json.dumps(e) for e in EVENTS]
    path.write_text("\n".join([*lines, *extra]) + "\n", "utf-8")
    return path


def test_ingest_keeps_good_lines_and_reports_bad_ones_by_number(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    events = write_events(
        tmp_path / "e.jsonl",
        ["not json", json.dumps({"event": "complete", "trace_id": "zz", "latency_ms": 1}),
         '{"event": "complete", "trace_id": "t4", "model_id": "m", "task": "code", '
         '"latency_ms": NaN}',
         json.dumps({"event": "start", "trace_id": "t5", "model_id": "m", "task": "bad task!"}),
         json.dumps({"event": "teleport", "trace_id": "t6"})],
    )  # fmt: skip
    code, out = invoke("ingest", str(events), "--db", db, "--json")
    assert code == 1
    report = json.loads(out)
    assert (report["applied"], report["invalid"]) == (5, 5)
    assert [p["line"] for p in report["problems"]] == [6, 7, 8, 9, 10]
    assert "unknown trace" in report["problems"][1]["reason"]
    assert "NaN" in report["problems"][2]["reason"]
    assert "task" in report["problems"][3]["reason"]
    # the same file again adds nothing
    code, out = invoke("ingest", str(events), "--db", db, "--json")
    store = SQLiteStore(tmp_path / "o.db")
    try:
        state = rebuild(store)
        assert state.receipts == 4
    finally:
        store.close()


def test_ingest_from_stdin_and_a_clean_file_exits_zero(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    text = "\n".join(json.dumps(e) for e in EVENTS) + "\n"
    code, out = invoke("ingest", "-", "--db", db, stdin=text)
    assert code == 0, out
    assert "5 events recorded" in out
    code, _ = invoke("ingest", str(tmp_path / "missing.jsonl"), "--db", db)
    assert code == 2


def test_models_json_has_exactly_the_documented_fields(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    invoke("ingest", str(write_events(tmp_path / "e.jsonl")), "--db", db)
    code, out = invoke("models", "--json", "--db", db)
    assert code == 0
    rows = json.loads(out)
    assert [r["model_id"] for r in rows] == ["gpt-4o-mini", "claude-3-5-haiku"]
    for row in rows:
        assert set(row) >= REQUIRED
        assert set(row["latency_ms"]) == {"p50", "p95", "p99", "mean"}
    gpt, claude = rows
    assert gpt["task"] is None
    assert (gpt["calls"], gpt["successes"], gpt["quality"]) == (1, 1, 0.9)
    assert gpt["cost_usd"] == (120 * 0.15 + 80 * 0.60) / 1e6
    assert len(gpt["success_interval"]) == 2
    assert (claude["calls"], claude["failures"], claude["inconclusive"]) == (2, 1, 1)
    assert claude["success_rate"] == 0.0
    assert claude["cost_per_success"] is None


def test_models_filters_by_task_and_project(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    invoke("ingest", str(write_events(tmp_path / "e.jsonl")), "--db", db)
    _, out = invoke("models", "--task", "code", "--json", "--db", db)
    rows = json.loads(out)
    assert [(r["model_id"], r["task"]) for r in rows] == [("claude-3-5-haiku", "code")]
    _, out = invoke("models", "--project", "web", "--json", "--db", db)
    assert [r["model_id"] for r in json.loads(out)] == ["gpt-4o-mini"]
    code, out = invoke("models", "--db", db)
    assert code == 0
    assert "gpt-4o-mini" in out
    assert "success" in out


def test_empty_store_and_unknown_model(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    code, out = invoke("models", "--json", "--db", db)
    assert (code, json.loads(out)) == (0, [])
    code, out = invoke("models", "--db", db)
    assert "no model calls" in out
    code, _ = invoke("models", "show", "nope", "--db", db)
    assert code == 2


def test_models_show_gives_per_task_rows_and_registry(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    invoke("ingest", str(write_events(tmp_path / "e.jsonl")), "--db", db)
    code, out = invoke("models", "show", "claude-3-5-haiku", "--json", "--db", db)
    assert code == 0
    doc = json.loads(out)
    assert doc["model"]["calls"] == 2
    assert [t["task"] for t in doc["tasks"]] == ["code"]
    assert doc["registry"]["provider"] == "anthropic"
    code, out = invoke("models", "show", "claude-3-5-haiku", "--db", db)
    assert code == 0
    assert "ema quality" in out


def test_profiles_rebuild_matches_the_incremental_tracker(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "o.db")
    tracker = OutcomeTracker(store)
    for i in range(30):
        t = tracker.record_start(["a", "b"][i % 2], "code", "r")
        tracker.record_complete(t, 100.0 + i, 10, i % 3)
        if i % 4 == 0:
            tracker.record_inferred_outcome(t, "rejected", 0.8)
    tracker.close()
    expected = [p.to_json() for p in tracker.profiles()]
    store.close()
    db = f"sqlite:///{tmp_path / 'o.db'}"
    out_file = tmp_path / "profiles.json"
    code, out = invoke("profiles", "rebuild", "--json", "--db", db, "--out", str(out_file))
    assert code == 0
    summary = json.loads(out)
    assert (summary["receipts"], summary["models"]) == (38, 2)
    fresh = OutcomeTracker()
    assert fresh.load_from_file(out_file) == 2
    got = [p.to_json() for p in fresh.profiles()]
    assert [(g["calls"], g["successes"], g["failures"]) for g in got] == [
        (e["calls"], e["successes"], e["failures"]) for e in expected
    ]
    code, out = invoke("profiles", "rebuild", "--db", db)
    assert "rebuilt profiles of 2 models" in out


def test_demo_part_shows_a_leaderboard_with_intervals(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    code, out = invoke("demo", "--only", "models", "--calls", "600", "--db", db)
    assert code == 0, out
    assert "model leaderboard" in out
    assert "success [95%]" in out
    assert "excluded for this session" in out
    code, out = invoke("models", "--project", "demo-models", "--json", "--db", db)
    rows = json.loads(out)
    assert len(rows) == 6
    assert sum(r["calls"] for r in rows) == 600


def test_models_reads_rollups_that_keep_pruned_receipts_until_rebuilt(
    outcomes_home: Path,
) -> None:
    outcomes_home.mkdir(parents=True)
    db_path = outcomes_home / "o.db"
    db = f"sqlite:///{db_path}"
    cache = outcomes_home / "profiles.cache.json"

    def record(n: int, model: str) -> None:
        store = SQLiteStore(db_path)
        tracker = OutcomeTracker(store)
        for _ in range(n):
            t = tracker.record_start(model, "code", "r")
            tracker.record_complete(t, 10.0, 1, 1)
        tracker.close()
        store.close()

    def calls() -> dict[str, int]:
        code, out = invoke("models", "--json", "--db", db)
        assert code == 0, out
        return {r["model_id"]: r["calls"] for r in json.loads(out)}

    record(5, "a")
    assert calls() == {"a": 5}
    assert not cache.exists()  # rollups need no cache file
    record(3, "b")
    assert calls() == {"a": 5, "b": 3}
    assert invoke("ledger", "prune", "--keep", "3", "--db", db)[0] == 0
    assert calls() == {"a": 5, "b": 3}  # rollups keep what pruned receipts taught
    cache.write_text("{torn", "utf-8")
    assert invoke("profiles", "rebuild", "--db", db)[0] == 0
    assert calls() == {"b": 3}  # rebuilt from the receipts that remain
    assert not cache.exists()  # rebuild drops the old cache file
