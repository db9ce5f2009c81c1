"""``outcomes components ...`` run as a user would, and the demo part."""

from __future__ import annotations

import json
import random
from pathlib import Path

from outcomes.components import ComponentEvent, ComponentTracker
from outcomes.store import SQLiteStore
from outcomes.testing import cli
from outcomes.testing.components import SimComponent, simulate


def invoke(*args: str) -> tuple[int, str]:
    result = cli.invoke(list(args))
    return result.exit_code, result.output


def _db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'c.db'}"


def test_record_then_report_as_json(tmp_path: Path) -> None:
    db = _db(tmp_path)
    for session in ("s1", "s2", "s3"):
        code, _ = invoke(
            "components", "record", "pkg-a", "install_failure", "--session", session, "--db", db
        )
        assert code == 0
    assert invoke("components", "record", "pkg-b", "removed_by_user", "--db", db)[0] == 0
    assert invoke("components", "record", "pkg-b", "removed_by_user", "--db", db)[0] == 0
    assert invoke("components", "record", "pkg-c", "deprecated", "--db", db)[0] == 0
    code, out = invoke("components", "report", "--json", "--db", db)
    assert code == 0
    rows = {r["component_id"]: r for r in json.loads(out)}
    assert set(rows) == {"pkg-a", "pkg-b", "pkg-c"}
    a = rows["pkg-a"]
    assert (a["successes"], a["failures"], a["problematic"]) == (0, 3, True)
    assert a["success_rate"] == 0.0
    assert len(a["success_interval"]) == 2
    assert rows["pkg-b"]["removal_count"] == 2
    assert rows["pkg-b"]["success_rate"] is None
    assert rows["pkg-b"]["success_interval"] is None
    assert rows["pkg-c"]["deprecated"] is True
    for row in rows.values():
        assert {"usage_count", "removal_count", "deprecated", "problematic"} <= set(row)


def test_report_table_and_flagged_filter(tmp_path: Path) -> None:
    db = _db(tmp_path)
    invoke("components", "record", "fine", "install_success", "--db", db)
    invoke("components", "record", "old", "deprecated", "--db", db)
    code, out = invoke("components", "report", "--db", db)
    assert code == 0
    assert "fine" in out
    assert "deprecated" in out
    code, out = invoke("components", "report", "--flagged", "--json", "--db", db)
    assert [r["component_id"] for r in json.loads(out)] == ["old"]


def test_record_refuses_bad_input_with_a_usage_exit(tmp_path: Path) -> None:
    db = _db(tmp_path)
    code, out = invoke("components", "record", "pkg", "exploded", "--db", db)
    assert code == 2
    assert "unknown outcome type" in out
    code, out = invoke("components", "record", "x" * 300, "install_success", "--db", db)
    assert code == 2
    assert "component_id" in out
    code, out = invoke("components", "report", "--json", "--db", db)
    assert json.loads(out) == []


def test_record_redacts_context(tmp_path: Path) -> None:
    db = _db(tmp_path)
    key = "sk-test-" + "Q7" * 12
    code, _ = invoke(
        "components", "record", "pkg", "install_failure", "--context", f"boom {key}", "--db", db
    )
    assert code == 0
    store = SQLiteStore(tmp_path / "c.db")
    (event,) = store.scan(ComponentEvent.__table__)
    store.close()
    assert key not in event.context


def test_conflicts_finds_a_planted_pair(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "c.db")
    ComponentTracker(store).close()
    comps = [SimComponent(f"pop-{i}", 0.8, 0.3) for i in range(4)]
    comps += [SimComponent(f"mid-{i}", 0.3, 0.05) for i in range(6)]
    store.write(simulate(comps, 400, rng=random.Random(4), conflicts=[("mid-0", "mid-1")]))
    store.close()
    db = _db(tmp_path)
    code, out = invoke("components", "conflicts", "--json", "--db", db)
    assert code == 0
    data = json.loads(out)
    assert data["sessions"] == 400
    assert [(c["component_a"], c["component_b"]) for c in data["conflicts"]] == [("mid-0", "mid-1")]
    code, out = invoke("components", "conflicts", "--db", db)
    assert code == 0
    assert "mid-0" in out
    code, out = invoke("components", "conflicts", "--raw", "--json", "--db", db)
    raw = {(p["component_a"], p["component_b"]) for p in json.loads(out)}
    assert ("pop-0", "pop-1") in raw  # the raw count flags independent popular pairs


def test_conflicts_on_an_empty_store_says_so(tmp_path: Path) -> None:
    code, out = invoke("components", "conflicts", "--db", _db(tmp_path))
    assert code == 0
    assert "no conflicts" in out
    code, out = invoke("components", "conflicts", "--fdr", "2", "--db", _db(tmp_path))
    assert code == 2


def test_demo_part_shows_the_report_and_finds_the_planted_conflict(tmp_path: Path) -> None:
    code, out = invoke("demo", "--only", "components", "--db", _db(tmp_path))
    assert code == 0, out
    assert "flagged and most installed components" in out
    assert "planted conflict demo/cache-layer + demo/fast-orm: found" in out
    assert "demo/native-build" in out


def test_rebuild_restores_totals_damaged_by_hand(tmp_path: Path) -> None:
    db = _db(tmp_path)
    for outcome in ("install_success", "install_failure", "install_success"):
        assert invoke("components", "record", "pkg-a", outcome, "--db", db)[0] == 0
    before = invoke("components", "report", "--json", "--db", db)[1]
    store = SQLiteStore(tmp_path / "c.db")
    store.execute("UPDATE component_outcomes SET events = 99")  # a repair gone wrong
    store.close()
    assert json.loads(invoke("components", "report", "--json", "--db", db)[1]) != json.loads(before)
    code, out = invoke("components", "rebuild", "--json", "--db", db)
    assert (code, json.loads(out)) == (0, {"rebuilt": 1})
    assert json.loads(invoke("components", "report", "--json", "--db", db)[1]) == json.loads(before)
