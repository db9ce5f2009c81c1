"""Where a router's regret comes from: over time and by how far behind its picks are.

``python -m benchmarks.eval_router_shortfall --matrix gaps --seed 0 [--config JSON ...]``

Replays one matrix of :mod:`benchmarks.router_matrices` with epsilon-greedy (0.1) and
each configuration (as ``eval_router_family --config``; the default without one) and
charges each pick its expected shortfall: the task's best model's mean quality over the
stream minus the picked model's. That is the realised regret without the outcome noise
of the picks (a diagnosis, nothing is chosen here). Prints, in % of the hindsight total,
the shortfall per tenth of the stream and by the pick's distance from the best (points),
and the share of picks that went to the best model in each half.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np

from benchmarks.eval_router_family import (
    POLICY,
    Config,
    _order,
    _play,
    default_config,
    epsilon,
    ours,
)
from benchmarks.router_matrices import family
from outcomes.routing._matrix import Matrix

BANDS = ((0.0, 1.0), (1.0, 3.0), (3.0, 6.0), (6.0, 100.0))
"""Distances behind the task's best model, in points: (low, high]."""


def shortfall(m: Matrix, order: Sequence[int], picks: np.ndarray) -> dict[str, object]:
    q = np.asarray([m.rows[i].quality for i in order])
    tasks = np.asarray([m.rows[i].task for i in order])
    gap = np.empty(len(order))
    total = 0.0
    for t in set(tasks.tolist()):
        mask = tasks == t
        mean = q[mask].mean(axis=0)
        gap[mask] = mean.max() - mean[picks[mask]]
        total += float(mean.max()) * int(mask.sum())
    pct = 100.0 / total
    points = 100.0 * gap
    late = np.arange(len(order)) >= len(order) // 2
    best = gap <= 1e-12
    return {
        "shortfall_pct": round(float(gap.sum()) * pct, 2),
        "by_tenth": [round(float(part.sum()) * pct, 2) for part in np.array_split(gap, 10)],
        "by_points_behind": {
            f"({lo:g},{hi:g}]": round(float(gap[(points > lo) & (points <= hi)].sum()) * pct, 2)
            for lo, hi in BANDS
        },
        "best_share_first_half": round(float(best[~late].mean()), 3),
        "best_share_second_half": round(float(best[late].mean()), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_router_shortfall")
    parser.add_argument("--matrix", default="gaps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", action="append", help="as eval_router_family --config")
    args = parser.parse_args(argv)
    m = family(args.seed, quick=True)[args.matrix]()
    order = _order(m, args.seed)
    configs: list[Config] = [default_config()]
    if args.config:
        configs = []
        for text in args.config:
            h, floor, share, sharpen, *rest = json.loads(text)
            policy = str(rest[0]) if rest else POLICY
            z = rest[1] if rest[1:] else None
            configs.append((h, float(floor), float(share), float(sharpen), policy, z))
    out = {"epsilon": shortfall(m, order, _play(epsilon(m, args.seed), m, order))}
    for cfg in configs:
        out[str(cfg)] = shortfall(m, order, _play(ours(m, args.seed, cfg), m, order))
    for name, row in out.items():
        print(json.dumps({"policy": name, **row}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
