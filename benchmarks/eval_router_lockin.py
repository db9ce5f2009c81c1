"""Where the router locks onto a weaker model: a per-task trace of one replay.

``python -m benchmarks.eval_router_lockin --matrix rb-no-top2 --seed 4 [--config JSON ...]``
``python -m benchmarks.eval_router_lockin --matrix rb-no-top2 --seeds 0-19 --summary``

Replays one matrix of :mod:`benchmarks.router_matrices` (as ``eval_router_family``
does: same stream order, same seeds) through the live ``Router`` for each
configuration (as ``eval_router_family --config``; the default without one) and, per
task, prints what the router saw of each model: its calls per quarter of the task's
decisions, its all-time outcomes, the counts and prior the router scored it on (the
prior's pseudo-counts beyond Beta(1, 1) are what other tasks lend, at most
``share_cap``), whether the change test (``change_z``) fired on the cell and how often
the ``min_evidence`` top-up applied, and the probability that Thompson's draw picks it
(:func:`thompson_propensity`) at the end of each quarter. ``--summary`` prints instead,
per seed and configuration, the regret, the expected shortfall per task and each
task's hindsight-best model's share of the task's last quarter (a lock-in shows as a
share near 0; on ``newcomer``, whose hindsight-best over the whole stream is an old
model, also the new model's share). A diagnosis only: nothing is chosen here.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.eval_router_family import (
    POLICY,
    Config,
    _order,
    _stats,
    default_config,
    ours,
)
from benchmarks.router_matrices import family
from outcomes.routing._matrix import Matrix
from outcomes.routing._router import _changed
from outcomes.routing._select import thompson_propensity


def _config(text: str) -> Config:
    h, floor, share, sharpen, *rest = json.loads(text)
    policy = str(rest[0]) if rest else POLICY
    z = rest[1] if rest[1:] else None
    if rest[2:] and rest[2] is not None:  # guard_n (Router.guard_n)
        return (h, float(floor), float(share), float(sharpen), policy, z, float(rest[2]))
    return (h, float(floor), float(share), float(sharpen), policy, z)


def trace(m: Matrix, seed: int, cfg: Config) -> dict[str, Any]:
    """Replay ``m`` with ``cfg`` and keep, per task, what explains each pick."""
    order = _order(m, seed)
    pol = ours(m, seed, cfg)
    router, source = pol.router, pol.source
    z = router.change_z
    tasks = sorted({m.rows[i].task for i in order})
    n_task = {t: sum(1 for i in order if m.rows[i].task == t) for t in tasks}
    q = np.asarray([m.rows[i].quality for i in order])
    task_of = np.asarray([m.rows[i].task for i in order])
    mean_q = {t: q[task_of == t].mean(axis=0) for t in tasks}
    k = len(m.models)
    seen = dict.fromkeys(tasks, 0)
    calls = {t: np.zeros((4, k), dtype=int) for t in tasks}
    fired = {t: np.zeros(k, dtype=int) for t in tasks}
    topped = {t: np.zeros(k, dtype=int) for t in tasks}
    snaps: dict[str, list[dict[str, Any]]] = {t: [] for t in tasks}
    picks = np.empty(len(order), dtype=np.int64)
    for step, i in enumerate(order):
        r = m.rows[i]
        t = r.task
        quarter = min(3, 4 * seen[t] // n_task[t])
        cells = source._by_task.get(t, {})
        now = source.clock.t
        for j, name in enumerate(m.models):
            c = cells.get(name)
            if c is None or z is None or not router.forget:
                continue
            s, f = c.decayed_counts(now)
            if _changed(s, f, c.successes, c.failures, z):
                fired[t][j] += 1
                if s + f < min(c.successes + c.failures, router.min_evidence):
                    topped[t][j] += 1
        d = router.decide(t, candidates=_avail(m, r))
        j = pol.index[d.model_id]  # type: ignore[index]
        calls[t][quarter, j] += 1
        seen[t] += 1
        if seen[t] in {n_task[t] * p // 4 for p in (1, 2, 3, 4)}:
            snaps[t].append(_snapshot(m, router, d, cells, t))
        pol.update(r, j, r.quality[j], r.cost[j], 0.0)
        picks[step] = j
    out: dict[str, Any] = {"config": str(cfg), **_stats(m, order, picks), "tasks": {}}
    total = sum(float(mean_q[t].max()) * n_task[t] for t in tasks)
    for t in tasks:
        mask = task_of == t
        gap = mean_q[t].max() - mean_q[t][picks[mask]]
        out["tasks"][t] = {
            "decisions": n_task[t],
            "true_mean": [round(float(x), 3) for x in mean_q[t]],
            "best": m.models[int(np.argmax(mean_q[t]))],
            "shortfall_pct": round(100.0 * float(gap.sum()) / total, 2),
            "calls_per_quarter": calls[t].tolist(),
            "change_fired_decisions": fired[t].tolist(),
            "topped_up_decisions": topped[t].tolist(),
            "quarters": snaps[t],
        }
    return out


def _avail(m: Matrix, r: Any) -> list[str] | None:
    if r.available is None:
        return None
    return [name for name, ok in zip(m.models, r.available, strict=True) if ok]


def _snapshot(m: Matrix, router: Any, d: Any, cells: Any, t: str) -> dict[str, Any]:
    """Each scored model's all-time record, the counts and prior the router used, and
    P(Thompson picks it) in the state of decision ``d``."""
    cands = [c for c in d.candidates if c.filtered is None]
    sh = router.sharpen
    alpha = np.asarray([c.prior_alpha + sh * c.successes for c in cands])
    beta = np.asarray([c.prior_beta + sh * c.failures for c in cands])
    ev = alpha + beta
    mean = alpha / ev
    rows = {}
    for idx, c in enumerate(cands):
        cell = cells.get(c.model_id)
        n = (cell.successes + cell.failures) if cell is not None else 0.0
        rows[c.model_id] = {
            "n": round(float(n), 1),
            "rate": round(float(cell.successes / n), 3) if n else None,
            "used_s_f": [round(c.successes, 1), round(c.failures, 1)],
            "lent": [round(c.prior_alpha - 1.0, 2), round(c.prior_beta - 1.0, 2)],
            "p_pick": round(thompson_propensity(mean, ev, np.zeros(len(ev)), 1.0, idx), 4),
        }
    for c in d.candidates:
        if c.filtered is not None:
            rows[c.model_id] = {"filtered": c.filtered}
    return rows


def summary(m: Matrix, seed: int, cfg: Config) -> dict[str, Any]:
    """Regret, shortfall per task and the best model's share of each task's last
    quarter."""
    res = trace(m, seed, cfg)
    per_task = {}
    for t, r in res["tasks"].items():
        b = m.models.index(r["best"])
        last = r["calls_per_quarter"][3]
        per_task[t] = {
            "shortfall_pct": r["shortfall_pct"],
            "best_share_last_quarter": round(last[b] / max(1, sum(last)), 3),
            "change_fired_decisions": sum(r["change_fired_decisions"]),
        }
        if m.models[-1].endswith("-new"):
            per_task[t]["newcomer_share_last_quarter"] = round(last[-1] / max(1, sum(last)), 3)
    return {"seed": seed, "config": res["config"], "regret_pct": round(res["regret_pct"], 2),
            "tasks": per_task}  # fmt: skip


def _seeds(text: str) -> Sequence[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return range(int(lo), int(hi) + 1)
    return [int(x) for x in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.eval_router_lockin")
    parser.add_argument("--matrix", default="rb-no-top2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", help="e.g. 0-19 (with --summary)")
    parser.add_argument("--summary", action="store_true")
    parser.add_argument("--config", action="append", help="as eval_router_family --config")
    args = parser.parse_args(argv)
    configs = [_config(c) for c in args.config] if args.config else [default_config()]
    seeds = _seeds(args.seeds) if args.seeds else [args.seed]
    for seed in seeds:
        m = family(seed, quick=True)[args.matrix]()
        for cfg in configs:
            out = summary(m, seed, cfg) if args.summary else trace(m, seed, cfg)
            print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
