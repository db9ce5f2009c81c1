"""``outcomes trajectory ...`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import outcomes
from outcomes.store import SQLiteStore
from outcomes.testing import cli
from outcomes.trajectory import ChunksRetrieved, FinalDecision, LlmCall, SelfCheck

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> tuple[int, str]:
    result = cli.invoke(list(args))
    return result.exit_code, result.output


def seeded(tmp_path: Path) -> str:
    db = tmp_path / "o.db"
    store = SQLiteStore(db)
    b = outcomes.TrajectoryBuilder()
    b.push(ChunksRetrieved(2, ["parse"], [0.9, 0.7], started_at=100.0, duration_ms=3.0))
    b.push(LlmCall("safety", 1000, 50, trace_id="trace-abc"))
    b.push(SelfCheck(2, 1, 0.8))
    b.push(FinalDecision(["issue-1", "issue-2"]))
    outcomes.TrajectoryStore(store).save("run-1", b.steps)
    store.close()
    return f"sqlite:///{db}"


def test_schema_prints_the_checked_in_schema() -> None:
    code, out = invoke("trajectory", "schema")
    assert code == 0
    assert out == (ROOT / "docs" / "trajectory.schema.json").read_text(encoding="utf-8")


def test_show_renders_a_numbered_ladder_and_json(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out = invoke("trajectory", "show", "run-1", "--db", db)
    assert code == 0, out
    for text in ("chunks_retrieved", "llm_call", "final_decision", "issue-1", "safety"):
        assert text in out
    code, out = invoke("trajectory", "show", "run-1", "--db", db, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["run"]["run_id"] == "run-1"
    assert [s["seq"] for s in data["steps"]] == [0, 1, 2, 3]
    assert data["steps"][1]["trace_id"] == "trace-abc"


def test_show_of_an_unknown_run_exits_2(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out = invoke("trajectory", "show", "nope", "--db", db)
    assert code == 2
    assert "no trajectory" in out


def test_list_and_verdicts(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, out = invoke("trajectory", "verdict", "run-1", "issue-1", "accepted", "--db", db)
    assert code == 0, out
    code, out = invoke("trajectory", "verdict", "run-1", "issue-9", "accepted", "--db", db)
    assert code == 2
    assert "never emitted" in out
    code, out = invoke("trajectory", "list", "--db", db, "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["run_id"] == "run-1"
    assert row["verdicts"]["accepted"] == 1
    assert row["verdicts"]["pending"] == 1
    code, out = invoke("trajectory", "list", "--db", db)
    assert code == 0
    assert "run-1" in out


def test_import_is_all_or_nothing_with_the_bad_step_named(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                {"kind": "retrieval_filter", "before": 10, "after": 3},
                {"kind": "self_check", "keep_count": 1, "drop_count": 0, "avg_confidence": "high"},
            ]
        )
    )
    code, out = invoke("trajectory", "import", str(bad), "--run", "r1", "--db", db)
    assert code == 2
    assert "steps[1].avg_confidence" in out
    code, out = invoke("trajectory", "list", "--db", db, "--json")
    assert json.loads(out) == []
    good = tmp_path / "good.json"
    good.write_text('[{"kind":"retrieval_filter","before":10,"after":3}]')
    code, out = invoke("trajectory", "import", str(good), "--run", "r1", "--db", db, "--json")
    assert code == 0, out
    assert json.loads(out)["step_count"] == 1
    code, out = invoke("trajectory", "import", str(good), "--run", "r1", "--db", db)
    assert code == 2
    assert "already has a trajectory" in out


def test_import_of_a_missing_or_non_json_file_exits_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'o.db'}"
    code, out = invoke(
        "trajectory", "import", str(tmp_path / "none.json"), "--run", "r", "--db", db
    )
    assert code == 2
    torn = tmp_path / "torn.json"
    torn.write_text('[{"kind":')
    code, out = invoke("trajectory", "import", str(torn), "--run", "r", "--db", db)
    assert code == 2
    assert "not valid JSON" in out


def test_delete_and_deliver_without_an_endpoint(tmp_path: Path) -> None:
    db = seeded(tmp_path)
    code, _ = invoke("trajectory", "delete", "run-1", "--db", db)
    assert code == 0
    code, _ = invoke("trajectory", "delete", "run-1", "--db", db)
    assert code == 2
    code, out = invoke("trajectory", "deliver", "--db", db, "--endpoint", "ftp://x")
    assert code == 2
    assert "http" in out


def test_the_demo_part_runs_and_shows_a_ladder(tmp_path: Path) -> None:
    code, out = invoke("demo", "--only", "trajectories", "--db", f"sqlite:///{tmp_path / 'd.db'}")
    assert code == 0, out
    assert "final_decision" in out
    assert "precision" in out
