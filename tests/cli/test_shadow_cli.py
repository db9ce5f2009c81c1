"""``outcomes shadow ...`` run as a user would, and the shadow demo part."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from benchmarks.eval_calibration import base_rate_trap

from outcomes.shadow import ShadowConfig, ShadowRecorder
from outcomes.store import SQLiteStore
from outcomes.testing import cli
from tests.shadow.test_report import synthetic


def invoke(*args: str) -> tuple[int, str]:
    result = cli.invoke(list(args))
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    store = SQLiteStore(tmp_path / "s.db")
    recorder = ShadowRecorder(store, config=ShadowConfig(enabled=True))
    rows = (
        synthetic(800, derived_better=True, namespace="notes", source="user", seed=1)
        + synthetic(800, derived_better=False, namespace="notes", source="agent", seed=2)
        + synthetic(20, derived_better=True, namespace="web", source="crawler", seed=3)
    )
    now = time.time()
    store.write([dataclasses.replace(r, observed_at=now) for r in rows])
    recorder.record("old", "notes", "user", 0.5, observed_at=time.time() - 90 * 86_400)
    d = recorder.log_decision(
        "ranker", "cand", live_choice="a", live_propensity=0.5, candidate_choice="a"
    )
    recorder.reward(d, 1.0)
    store.close()
    return f"sqlite:///{tmp_path / 's.db'}"


def test_report_json_lists_groups_with_verdicts(db: str) -> None:
    code, out = invoke("shadow", "report", "--db", db, "--json")
    assert code == 0, out
    doc = json.loads(out)
    verdicts = {(g["namespace"], g["source"]): g["verdict"] for g in doc}
    assert verdicts == {
        ("notes", "agent"): "keep",
        ("notes", "user"): "switch",
        ("web", "crawler"): "insufficient_data",
    }
    user = next(g for g in doc if g["source"] == "user")
    assert user["count"] == 801
    assert user["labeled"] == 800
    assert user["brier"]["derived"] < user["brier"]["caller"]
    assert user["brier_diff_interval"][1] < 0
    assert set(user["ece"]) == {"caller", "derived"}


def test_report_table_and_namespace_filter(db: str) -> None:
    code, out = invoke("shadow", "report", "--db", db, "--namespace", "web")
    assert code == 0, out
    assert "web/crawler" in out
    assert "notes/" not in out
    assert "insufficient_data" in out


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_report_writes_a_reliability_diagram(db: str, tmp_path: Path, suffix: str) -> None:
    plot = tmp_path / f"rel{suffix}"
    code, out = invoke("shadow", "report", "--db", db, "--plot", str(plot))
    assert code == 0, out
    data = plot.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data[:2000]


def test_report_rejects_an_unknown_plot_format(db: str, tmp_path: Path) -> None:
    code, _ = invoke("shadow", "report", "--db", db, "--plot", str(tmp_path / "x.pdf"))
    assert code == 2


def test_gc_removes_rows_past_retention(db: str) -> None:
    code, out = invoke("shadow", "gc", "--db", db, "--retention-days", "0", "--json")
    assert code == 0
    assert json.loads(out)["removed"] == 0
    code, out = invoke("shadow", "gc", "--db", db, "--retention-days", "60", "--json")
    assert code == 0
    assert json.loads(out)["removed"] == 1


def test_decisions_json(db: str) -> None:
    code, out = invoke("shadow", "decisions", "--db", db, "--json")
    assert code == 0
    (e,) = json.loads(out)
    assert (e["point"], e["candidate"], e["rewarded"], e["ips"]) == ("ranker", "cand", 1, 2.0)


def test_demo_part_runs_and_shows_the_report(tmp_path: Path) -> None:
    code, out = invoke("demo", "--only", "shadow", "--db", f"sqlite:///{tmp_path / 'd.db'}")
    assert code == 0, out
    assert "shadow calibration" in out
    assert "switch" in out
    assert "keep" in out


def test_report_shows_discrimination_and_the_recalibrate_verdict(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "t.db")
    ShadowRecorder(store, config=ShadowConfig(enabled=True))
    store.write(base_rate_trap(600, 2))
    store.close()
    db = f"sqlite:///{tmp_path / 't.db'}"
    code, out = invoke("shadow", "report", "--db", db)
    assert code == 0, out
    assert "AUC c->d" in out
    assert "recalibrate" in out
    assert "1.00->0.50" in out  # the caller ranks perfectly, the constant not at all
    assert "resolution" in out
    code, out = invoke("shadow", "report", "--db", db, "--json")
    (group,) = json.loads(out)
    assert group["verdict"] == "recalibrate"
    assert group["auc"] == {"caller": pytest.approx(1.0), "derived": 0.5}
    assert group["recalibration"]["brier"] < group["brier"]["derived"]
