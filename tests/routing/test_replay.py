"""The replay benchmark on a synthetic matrix (exact expectations) and on RouterBench."""

from __future__ import annotations

import gzip
import json
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from outcomes.errors import ValidationError
from outcomes.routing._matrix import Row, load_matrix
from outcomes.routing._policies import BetaBandit, Contextual, DecisionBreaker, TextDifficulty
from outcomes.routing._replay import (
    ALL_POLICIES,
    _checks,
    dominates,
    hull_area,
    hull_quality,
    replay,
    upper_hull,
)
from outcomes.routing._select import Weights
from outcomes.testing import cli
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
    # Of two points at one cost the better one stays; the frontier is read between points.
    hull = upper_hull([(0.0, 0.5), (0.0, 0.7), (1.0, 0.9), (0.5, 0.7)])
    assert hull == [(0.0, 0.7), (1.0, 0.9)]
    assert hull_quality(hull, 0.5) == pytest.approx(0.8)
    assert hull_quality(hull, 2.0) == 0.9
    assert hull_quality(hull, -0.1) == -math.inf


def test_dominance_is_checked_point_by_point_and_the_frontier_is_reported() -> None:
    """A baseline is dominated when a single point of ours is better on one axis and no
    worse on the other; equal to one is matched. The frontier (the hull of our points) is
    reported too: a baseline in the gap between two swept points is dominated by it,
    though by no single point; one above the hull by neither."""

    def pt(name: str, w: float | None, q: float, c: float) -> dict[str, Any]:
        return {"name": name, "cost_weight": w, "quality": q, "cost_usd": c, "regret_pct": 0.0}

    ours = [pt("outcomes", 0.0, 0.9, 4.0), pt("outcomes", 1.0, 0.8, 1.0)]
    ours.append(pt("outcomes", 8.0, 0.5, 0.1))
    fixed = [pt("cheapest", None, 0.5, 0.1), pt("random", None, 0.7, 1.0)]
    swept = [*ours, pt("epsilon-greedy", 1.0, 0.85, 1.5), pt("epsilon-greedy", 2.0, 0.6, 0.5)]
    refs = {"best_single": {"quality": 0.9, "cost_usd": 4.0}}
    checks = _checks(ours, fixed, swept, refs)
    assert checks["baselines_not_dominated"] == [
        "cheapest",
        "epsilon-greedy@1.0",
        "epsilon-greedy@2.0",
    ]
    assert checks["baselines_matched_not_dominated"] == ["cheapest"]
    assert checks["baselines_not_dominated_by_the_frontier"] == ["cheapest", "epsilon-greedy@1.0"]


def test_bench_router_cli_json_and_plot(tmp_path: Path) -> None:
    path = write_matrix(tmp_path / "m.jsonl.gz")
    plot = tmp_path / "frontier.png"
    result = cli.invoke(
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


def test_bench_router_summary_first_full_table_on_request(tmp_path: Path) -> None:
    path = write_matrix(tmp_path / "m.jsonl.gz")
    args = ["bench", "router", "--dataset", str(path), "--cost-weight", "0", "--cost-weight", "1"]
    short = cli.invoke([*args, "--policies", "outcomes,epsilon-greedy,random"])
    assert short.exit_code == 0, short.output
    assert "each policy at cost weight 0" in short.output
    assert "frontier area (AIQ)" in short.output
    assert "--full" in short.output
    # Only the chosen policies ran, once per weight for the swept ones.
    assert "outcomes-cold" not in short.output
    assert "litellm" not in short.output
    full = cli.invoke([*args, "--policies", "outcomes", "--full", "--json"])
    rep = json.loads(full.stdout)
    assert [(p["name"], p["cost_weight"]) for p in rep["policies"]] == [
        ("outcomes", 0.0),
        ("outcomes", 1.0),
    ]
    table = cli.invoke([*args, "--policies", "outcomes,cheapest", "--full"])
    assert table.exit_code == 0, table.output
    assert "checks:" in table.output
    assert "best_per_task (hindsight)" in table.output


@pytest.mark.parametrize("policies", ["outcomes,nope", ",", "greedy"])
def test_bench_router_unknown_policies_are_named(tmp_path: Path, policies: str) -> None:
    path = write_matrix(tmp_path / "m.jsonl.gz")
    result = cli.invoke(["bench", "router", "--dataset", str(path), "--policies", policies])
    assert result.exit_code == 2
    assert "polic" in result.output


def test_cli_policy_names_are_the_replays() -> None:
    from outcomes.cli._bench import _POLICY_NAMES
    from outcomes.routing._replay import ALL_POLICIES

    assert _POLICY_NAMES == ALL_POLICIES


def test_bench_router_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = cli.invoke(["bench", "router", "--dataset", str(tmp_path / "none.jsonl")])
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


def _rows_with_words(n: int, seed: int, signal: bool) -> list[Row]:
    """'cheap' fails on prompts that mention 'integral' (when ``signal``) and is right
    otherwise 90% of the time; 'good' is right 90% everywhere and costs ten times more."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        hard = rng.random() < 0.4
        word = "integral" if hard else "apple"
        filler = " ".join(rng.choice(["the", "a", "of", "is", "what", "which"]) for _ in range(8))
        cheap_ok = rng.random() < (0.1 if hard and signal else 0.9 if signal else 0.6)
        rows.append(
            Row(
                prompt_id=f"p{i}",
                task="t",
                split="train" if i < n // 2 else "test",
                prompt=f"{filler} {word} {rng.randrange(10**6)}",
                quality=(float(rng.random() < 0.9), float(cheap_ok)),
                cost=(0.01, 0.001),
                failed=(False, False),
                output_chars=(100.0, 100.0),
            )
        )
    return rows


def test_text_difficulty_finds_a_real_signal_and_ignores_noise() -> None:
    rows = _rows_with_words(1200, 3, signal=True)
    train = [r for r in rows if r.split == "train"]
    text = TextDifficulty(seed=0).fit(train)
    slope = text.slope["t"]
    assert slope[1] > 0.5  # the cheap model's success moves strongly with the text
    test = [r for r in rows if r.split == "test"]
    hard = [text.score(r) for r in test if "integral" in r.prompt]
    easy = [text.score(r) for r in test if "apple" in r.prompt]
    assert max(hard) < min(easy)  # predicted easiness separates the two kinds
    # Only hashed indices and numbers are kept: no prompt text in the fitted model.
    assert "integral" not in repr(vars(text))
    noise = TextDifficulty(seed=0).fit(
        [r for r in _rows_with_words(1200, 4, signal=False) if r.split == "train"]
    )
    assert "t" not in noise.slope or not noise.slope["t"].any()


def test_contextual_policy_routes_hard_prompts_to_the_strong_model() -> None:
    rows = _rows_with_words(2000, 5, signal=True)
    train = [r for r in rows if r.split == "train"]
    test = [r for r in rows if r.split == "test"]
    prices = np.array([0.01, 0.001])
    text = TextDifficulty(seed=0).fit(train)
    ctx = Contextual(("good", "cheap"), prices, cost_weight=0.3, text=text, prior_cap=100.0)
    ctx.warm_start(train)
    plain = BetaBandit(
        "outcomes", ("good", "cheap"), prices, weights=Weights(1.0, 0.3), prior_cap=100.0
    )
    plain.warm_start(train)
    got: dict[str, list[float]] = {"ctx": [0.0, 0.0], "plain": [0.0, 0.0]}
    for r in test:
        for name, pol in (("ctx", ctx), ("plain", plain)):
            m, prob = pol.choose(r)
            assert 0.0 < prob <= 1.0
            pol.update(r, m, r.quality[m], r.cost[m], 0.0)
            got[name][0] += r.quality[m]
            got[name][1] += r.cost[m]
    # With the text the policy sends 'integral' prompts to 'good' and the rest to 'cheap':
    # better quality than the task-level policy, at a fraction of always-'good' cost.
    assert got["ctx"][0] > got["plain"][0] + 0.1 * len(test)
    assert got["ctx"][1] < 0.6 * 0.01 * len(test)


@pytest.mark.slow
def test_routerbench_frontier_beats_single_models_and_baselines() -> None:
    data = require_datasets() / "routerbench" / "routerbench_0shot.jsonl.gz"
    # Every policy the checks read (not outcomes-cold: a shorter run).
    wanted = set(ALL_POLICIES) - {"outcomes-cold"}
    rep = replay(load_matrix(data), split="test", seed=0, policies=wanted)
    aiq = rep["aiq"]
    assert aiq["outcomes"] > aiq["single_model_hull"]
    # With the train split as offline history, at least the area of the fixed task-level
    # router fitted on it (issue 19; +0.0030 at this seed, +0.0006 to +0.0039 at 1-5).
    assert aiq["outcomes"] >= aiq["fixed-per-task"]
    assert aiq["outcomes-contextual"] > aiq["single_model_hull"]
    checks = rep["checks"]
    # Always calling the cheapest model can only be matched (nothing is cheaper); every
    # other baseline point is dominated by some single point of ours (at this seed; at
    # seed 1 epsilon-greedy at cost weights 4 and 5, at seed 2 at 4, only by the frontier:
    # docs/routing.md),
    # and so by the frontier.
    assert set(checks["baselines_not_dominated"]) == {"cheapest", "litellm-cost-based"}
    assert checks["baselines_matched_not_dominated"] == checks["baselines_not_dominated"]
    assert checks["baselines_not_dominated_by_the_frontier"] == checks["baselines_not_dominated"]


def test_decision_breaker_sits_a_failing_model_out_and_doubles() -> None:
    br = DecisionBreaker(2, failures=3, base=30, cap=100)
    for _ in range(3):
        br.record(0, error=True)
    assert not br.open()[0]
    assert br.open()[1]
    for _ in range(30):
        br.record(1, error=False)
    assert br.open()[0]  # back after 30 decisions
    for _ in range(3):
        br.record(0, error=True)
    for _ in range(59):
        br.record(1, error=False)
    assert not br.open()[0]  # the second trip lasts 60
    br.record(1, error=False)
    assert br.open()[0]
    br.record(0, error=False)  # a success resets the backoff
    for _ in range(3):
        br.record(0, error=True)
    assert br.until[0] == br.t + 30


def test_bandit_with_breaker_stops_calling_a_model_in_an_outage() -> None:
    prices = np.array([0.01, 0.01])
    pol = BetaBandit("outcomes", ("a", "b"), prices, weights=Weights(), breaker=True)
    row = _rows_with_words(1, 0, signal=False)[0]
    pol.prior["t"] = np.array([[95.0, 60.0], [5.0, 40.0]])  # 'a' looks far better
    calls_to_a = 0
    for _ in range(200):
        m, _ = pol.choose(row)
        down = m == 0  # 'a' fails every call (an outage)
        calls_to_a += m == 0
        pol.update(row, m, 0.0 if down else 1.0, 0.01, 1.0, error=down)
    # 3 failed calls per trip, trips after 30, 60, 120 decisions: far fewer than 200.
    assert calls_to_a <= 15
