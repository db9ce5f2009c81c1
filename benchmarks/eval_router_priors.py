"""Offline priors: the frontier against a fixed task-level router, chosen on train splits.

``python -m benchmarks.eval_router_priors --inner [--splits 6] [--caps 100,200,400,inf]``
chooses ``outcomes``'s cap on the offline outcomes per (task, model)
(:data:`outcomes.routing._replay.PRIOR_CAP`) on train splits alone: for RouterBench and
each matrix of :mod:`benchmarks.router_matrices` that has a train split, the train split
is halved at random (``--splits`` times); priors come from one half and the replay (every
cost weight) runs on the other. Reported per matrix and cap: the frontier's area (AIQ)
minus that of ``fixed-per-task`` fitted on the same half (same cost weights, same hull),
and the regret at cost weight 0.

``python -m benchmarks.eval_router_priors --drift [--caps ...] [--seeds 1-5]`` measures
what a cap costs when the live traffic differs from the offline data: the family's
``drift`` matrix with its first quarter (before the change) as the train split; reported,
per cap, the calls the degraded model still gets in the 2,000 decisions per task after
its change (cost weight 0; cap 0 is cold).

``python -m benchmarks.eval_router_priors [--seeds 1-5]`` checks the chosen cap once on
the test splits of the same matrices (no choice is made there): the area against
``fixed-per-task``, the regret at cost weight 0 and the dominance check (point by point;
also the baselines the frontier, a mix of two cost weights, does not dominate).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks.router_matrices import ROUTERBENCH, family
from outcomes.routing._matrix import Matrix, load_matrix
from outcomes.routing._replay import PRIOR_CAP, replay
from outcomes.routing._replay_router import RouterPolicy
from outcomes.routing._select import Weights

INNER_POLICIES = ("outcomes", "fixed-per-task")
TEST_POLICIES = (
    "outcomes", "fixed-per-task", "epsilon-greedy", "random", "cheapest",
    "litellm-simple-shuffle", "litellm-cost-based", "litellm-latency-based",
    "litellm-adaptive-style",
)  # fmt: skip
"""The check runs every policy the dominance check reads (not the contextual one nor
``outcomes-cold``, which the priors do not change)."""


def with_train(seed: int) -> dict[str, Matrix]:
    """RouterBench and the family's matrices that have a train split."""
    out = {"routerbench": load_matrix(ROUTERBENCH)} if ROUTERBENCH.exists() else {}
    for name, build in family(seed, quick=True).items():
        if name.startswith("rb-"):
            m = build()
            if any(r.split == "train" for r in m.rows):
                out[name] = m
    return out


def halve_train(m: Matrix, k: int, share: float = 0.5) -> Matrix:
    """The train split alone, a random ``1 - share`` of it relabelled ``test`` (split
    ``k``)."""
    train = [r for r in m.rows if r.split == "train"]
    idx = list(range(len(train)))
    random.Random(1000 + k).shuffle(idx)
    keep = set(idx[: int(len(idx) * share)])
    rows = tuple(replace(r, split="train" if i in keep else "test") for i, r in enumerate(train))
    return Matrix(m.models, rows, m.missing_costs)


def _scores(rep: dict[str, Any]) -> dict[str, Any]:
    checks = rep["checks"]
    return {
        "aiq_minus_fixed": round(checks["aiq_outcomes_minus_fixed_per_task"], 4),
        "regret_pct_w0": round(checks["regret_pct_at_cost_weight_0"], 2),
    }


def inner(
    splits: int, caps: list[float], only: set[str] | None, share: float = 0.5
) -> dict[str, Any]:
    """matrix -> cap -> per halving scores; printed as they come."""
    out: dict[str, Any] = {}
    for name, m in with_train(0).items():
        if only is not None and name not in only:
            continue
        for cap in caps:
            runs = []
            for k in range(splits):
                rep = replay(
                    halve_train(m, k, share), seed=k, policies=INNER_POLICIES, prior_cap=cap
                )
                runs.append(_scores(rep))
            out.setdefault(name, {})[str(cap)] = runs
            print(json.dumps({"matrix": name, "cap": str(cap)} | _summary(runs)), flush=True)
    for cap in caps:
        means = [_summary(out[n][str(cap)]) for n in out]
        overall = {
            k: round(statistics.fmean(x[k] for x in means), 4)
            for k in ("aiq_minus_fixed", "regret_pct_w0")
        }
        print(json.dumps({"matrix": "mean over matrices", "cap": str(cap)} | overall))
    return out


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("aiq_minus_fixed", "regret_pct_w0")
    out: dict[str, Any] = {k: round(statistics.fmean(r[k] for r in runs), 4) for k in keys}
    out["aiq_minus_fixed_runs"] = [r["aiq_minus_fixed"] for r in runs]
    return out


def check(seeds: list[int], only: set[str] | None) -> dict[str, Any]:
    """matrix -> per seed scores on the test split with the chosen cap."""
    out: dict[str, Any] = {}
    for seed in seeds:
        for name, m in with_train(seed).items():
            if only is not None and name not in only:
                continue
            rep = replay(m, seed=seed, policies=TEST_POLICIES)
            row = _scores(rep) | {
                "aiq": round(rep["aiq"]["outcomes"], 4),
                "aiq_fixed": round(rep["aiq"]["fixed-per-task"], 4),
                "not_dominated": rep["checks"]["baselines_not_dominated"],
                "matched": rep["checks"]["baselines_matched_not_dominated"],
                "not_dominated_by_the_frontier": rep["checks"][
                    "baselines_not_dominated_by_the_frontier"
                ],
            }
            out.setdefault(name, []).append(row)
            print(json.dumps({"matrix": name, "seed": seed} | row), flush=True)
    return out


def drift(seeds: list[int], caps: list[float]) -> dict[str, list[float]]:
    """cap -> per seed mean calls (over tasks) of the degraded model after its change."""
    out: dict[str, list[float]] = {}
    for seed in seeds:
        m = family(seed)["drift"]()
        cut, change = len(m.rows) // 4, len(m.rows) // 2
        train = [replace(r, split="train") for r in m.rows[:cut]]
        before = np.asarray([r.quality for r in m.rows[:change]])
        tasks = np.asarray([r.task for r in m.rows[:change]])
        worst = {t: int(np.argmax(before[tasks == t].mean(axis=0))) for t in set(tasks)}
        for cap in caps:
            half_life, floor, share, sharpen, change_z = RouterPolicy.DEFAULT
            policy = RouterPolicy(
                "outcomes", m.models, [0.0] * len(m.models), weights=Weights(), seed=seed,
                half_life=half_life, min_evidence=floor, share=share, sharpen=sharpen,
                change_z=change_z, prior_cap=cap,
            )  # fmt: skip
            policy.warm_start(train)
            calls = dict.fromkeys(worst, 0)
            for i, r in enumerate(m.rows[cut:], cut):
                j, _ = policy.choose(r)
                policy.update(r, j, r.quality[j], 0.0, 0.0)
                calls[r.task] += i >= change and j == worst[r.task]
            out.setdefault(str(cap), []).append(statistics.fmean(calls.values()))
            print(json.dumps({"seed": seed, "cap": str(cap), "calls": out[str(cap)][-1]}))
    for key, runs in out.items():
        print(json.dumps({"cap": key, "mean_calls": round(statistics.fmean(runs), 1)}))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_router_priors")
    parser.add_argument("--inner", action="store_true", help="choose the cap on train halves")
    parser.add_argument("--drift", action="store_true", help="drift after offline history")
    parser.add_argument("--splits", type=int, default=6)
    parser.add_argument(
        "--train-share", type=float, default=0.5, help="share of the train split for priors"
    )
    parser.add_argument("--caps", default="100,200,400,inf")
    parser.add_argument("--seeds", default="1-5", help="first-last seed of the test check")
    parser.add_argument("--only", help="comma-separated matrix names")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    caps = [math.inf if c == "inf" else float(c) for c in args.caps.split(",")]
    first, last = (int(x) for x in args.seeds.split("-"))
    if args.inner:
        inner(args.splits, caps, only, args.train_share)
    elif args.drift:
        drift(list(range(first, last + 1)), caps)
    else:
        print(f"prior cap {PRIOR_CAP}", file=sys.stderr)
        check(list(range(first, last + 1)), only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
