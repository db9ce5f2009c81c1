"""The replay benchmark on a synthetic matrix (exact expectations) and on RouterBench."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outcomes.cli._app import app
from outcomes.errors import ValidationError
from outcomes.routing._matrix import load_matrix
from outcomes.routing._replay import dominates, hull_area, replay
from tests.conftest import require_datasets


def write_matrix(path: Path, n: int = 300, seed: int = 1) -> Path:
    """Two tasks; 'good' is right 90% of the time, 'cheap' 50%, 'other' 90% on task b only."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        task = "a" if i % 2 else "b"
        outcomes = {
            "good": {"quality": float(rng.random() < 0.9), "cost_usd": 0.01},
            "cheap": {"quality": float(rng.random() < 0.5), "cost_usd": 0.001},
            "other": {
                "quality": float(rng.random() < (0.9 if task == "b" else 0.2)),
                "cost_usd": None,
            },
        }
        lines.append(
            json.dumps(
                {
                    "prompt_id": f"p{i}",
                    "task": task,
                    "split": "test" if i % 3 else "train",
                    "prompt": f"question {i} about {task}",
                    "outcomes": outcomes,
                }
            )
        )
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_matrix_loader_fills_missing_costs_and_treats_null_quality_as_failure(
    tmp_path: Path,
) -> None:
    p = tmp_path / "m.jsonl"
    p.write_text(
        json.dumps(
            {
                "prompt_id": "x",
                "task": "t",
                "prompt": "abcd" * 100,
                "outcomes": {"gpt-4o": {"quality": None, "cost_usd": None, "output_chars": 400}},
            }
        )
        + "\n"
    )
    m = load_matrix(p)
    (row,) = m.rows
    assert row.failed == (True,)
    assert row.quality == (0.0,)
    assert row.cost[0] > 0  # from the registry's price of gpt-4o
    assert m.missing_costs == 1


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("not json", "invalid JSON"),
        ('{"prompt_id": "x", "task": "t"}', "outcomes"),
        ('{"prompt_id": "x", "task": "t", "outcomes": {"m": {"quality": 2}}}', "m.quality"),
        (
            '{"prompt_id": "x", "task": "t", "outcomes": {"m": {"quality": 1, "cost_usd": "1"}}}',
            "cost_usd",
        ),
    ],
)
def test_bad_matrix_lines_are_named(tmp_path: Path, line: str, fragment: str) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text(line + "\n")
    with pytest.raises(ValidationError, match=fragment) as info:
        load_matrix(p)
    assert "line 1" in str(info.value)


def test_replay_on_a_synthetic_matrix(tmp_path: Path) -> None:
    m = load_matrix(write_matrix(tmp_path / "m.jsonl.gz"))
    rep = replay(m, split="test", seed=3, cost_weights=(0.0, 0.5))
    refs = rep["references"]
    assert refs["best_per_task"]["models"] == {
        "a": "good",
        "b": refs["best_per_task"]["models"]["b"],
    }
    assert (
        refs["oracle"]["quality"]
        >= refs["best_per_task"]["quality"]
        >= refs["best_single"]["quality"]
    )
    by = {(p["name"], p["cost_weight"]): p for p in rep["policies"]}
    ours = by[("outcomes", 0.0)]
    assert ours["quality"] > by[("random", None)]["quality"]
    assert ours["regret_pct"] < by[("random", None)]["regret_pct"]
    assert by[("outcomes", 0.5)]["cost_usd"] < ours["cost_usd"]
    # 'other' has no cost in the file and no price in the registry: it costs 0 there.
    assert by[("cheapest", None)]["picks"] == {"other": rep["dataset"]["prompts"]}


def test_hull_area_and_dominance() -> None:
    assert hull_area([(1.0, 0.5)], 2.0) == pytest.approx(0.25)
    # A dominated point does not add area.
    assert hull_area([(0.0, 0.5), (1.0, 1.0), (1.5, 0.4)], 2.0) == pytest.approx((0.75 + 1.0) / 2)
    assert dominates({"quality": 0.9, "cost_usd": 1}, {"quality": 0.8, "cost_usd": 1})
    assert not dominates({"quality": 0.9, "cost_usd": 2}, {"quality": 0.8, "cost_usd": 1})


def test_bench_router_cli_json_and_plot(tmp_path: Path) -> None:
    path = write_matrix(tmp_path / "m.jsonl.gz")
    plot = tmp_path / "frontier.png"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "router",
            "--dataset",
            str(path),
            "--cost-weight",
            "0",
            "--cost-weight",
            "1",
            "--json",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    rep = json.loads(result.output)
    assert {"policies", "references"} <= set(rep)
    for p in rep["policies"]:
        assert {"name", "quality", "cost_usd", "regret"} <= set(p)
    for name in ("oracle", "best_single", "best_per_task"):
        assert {"quality", "cost_usd"} <= set(rep["references"][name])
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_bench_router_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "router", "--dataset", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2


@pytest.mark.slow
def test_routerbench_default_policy_regret_within_three_percent() -> None:
    data = require_datasets() / "routerbench" / "routerbench_0shot.jsonl.gz"
    m = load_matrix(data)
    rep = replay(m, split="test", seed=0, cost_weights=(0.0,), contextual=False)
    refs = rep["references"]
    # The reference points the dataset README states, recomputed.
    assert refs["best_single"]["quality"] == pytest.approx(0.874, abs=0.001)
    assert refs["oracle"]["quality"] == pytest.approx(0.974, abs=0.001)
    assert refs["best_single"]["cost_usd"] == pytest.approx(4.80, abs=0.01)
    assert rep["checks"]["regret_pct_at_cost_weight_0"] <= 3.0
