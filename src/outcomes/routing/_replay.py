"""The replay benchmark: stream real prompts through routing policies with bandit feedback.

See ``docs/routing.md``. Every policy sees the same seeded order of prompts; it observes
only the outcome and cost of the model it chose. References computed in hindsight
(oracle, best single model, best model per task) bound what is possible.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from outcomes._safejson import load_file
from outcomes.routing._matrix import Matrix, Row
from outcomes.routing._policies import (
    BetaBandit,
    Contextual,
    CostModel,
    Fixed,
    LowestLatency,
    ReplayPolicy,
    TaskFixed,
    TextDifficulty,
    Uniform,
)
from outcomes.routing._replay_router import RouterPolicy
from outcomes.routing._select import Weights

DEFAULT_COST_WEIGHTS: tuple[float, ...] = (
    0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0,
    32.0, 64.0,
)  # fmt: skip
"""From quality only to cost only: the weight multiplies the price relative to the
dearest model's, so past ~50 the cheapest model wins every decision."""
PRIOR_CAP = 400.0
"""Cap on the offline outcomes per (task, model) that ``outcomes`` imports from the train
split (at their rate). Chosen on train splits alone (``python -m
benchmarks.eval_router_priors --inner``: priors from part of each train split of
RouterBench and its derived family, replay on the rest): the frontier's area against
the fixed task-level router and the regret improve with the cap up to 400 and are the
same, within the splits' spread, without a cap. More history only slows adapting when
the live traffic differs from it (``--drift``): it is booked at the stream's start and
ages like live outcomes, but a large import takes that much longer to age."""
CONTEXTUAL_PRIOR_CAP = 100.0
"""The same cap for the contextual policy (the replay's own; chosen earlier the same way,
priors from one half of the train split, replay on the other)."""
CONTEXTUAL_HALF_LIFE = 2_000.0
"""Forgetting of the contextual policy (the replay's own), in decisions of the same task."""


@dataclass
class Result:
    name: str
    cost_weight: float | None
    n: int = 0
    quality_sum: float = 0.0
    cost_usd: float = 0.0
    correct: float = 0.0
    latency_s: float = 0.0
    failed: int = 0
    picks: dict[str, int] = field(default_factory=dict)

    @property
    def quality(self) -> float:
        return self.quality_sum / self.n if self.n else 0.0

    def as_dict(self, reference_total: float) -> dict[str, Any]:
        regret = reference_total - self.quality_sum
        return {
            "name": self.name,
            "cost_weight": self.cost_weight,
            "prompts": self.n,
            "quality": self.quality,
            "cost_usd": self.cost_usd,
            "cost_per_correct": self.cost_usd / self.correct if self.correct else None,
            "regret": regret,
            "regret_pct": 100.0 * regret / reference_total if reference_total else None,
            "mean_latency_s": self.latency_s / self.n if self.n else None,
            "failed_calls": self.failed,
            "picks": dict(sorted(self.picks.items(), key=lambda kv: -kv[1])),
        }


MAX_LATENCY_FILE_BYTES = 512 << 20
"""An llmperf run file larger than this is refused unread."""


class LatencyModel:
    """Real latency and errors per model from llmperf runs (one run file per model)."""

    def __init__(self, directory: Path, models: Sequence[str], seed: int) -> None:
        files = sorted(directory.glob("*.json"))
        if not files:
            raise FileNotFoundError(f"no llmperf *.json files in {directory}")
        rng = random.Random(seed)
        self.samples: list[list[tuple[float, bool]]] = []
        self.sources: list[str] = []
        for i, _ in enumerate(models):
            f = files[i % len(files)]
            data = load_file(f, max_bytes=MAX_LATENCY_FILE_BYTES)
            recs = data if isinstance(data, list) else data.get("results", data.get("data", []))
            seq = [
                (float(r.get("end_to_end_latency_s") or 0.0), r.get("error_code") is not None)
                for r in recs
                if isinstance(r, dict)
            ]
            if not seq:
                raise ValueError(f"{f}: no requests")
            start = rng.randrange(len(seq))
            self.samples.append(seq[start:] + seq[:start])
            self.sources.append(f.stem)
        self.pos = [0] * len(models)

    def next(self, model: int) -> tuple[float, bool]:
        seq = self.samples[model]
        value = seq[self.pos[model] % len(seq)]
        self.pos[model] += 1
        return value


def _run(
    policy: ReplayPolicy,
    stream: Sequence[Row],
    latency: LatencyModel | None,
    cost_weight: float | None,
) -> Result:
    res = Result(policy.name, cost_weight)
    models = policy.models
    for row in stream:
        m, _ = policy.choose(row)
        q, c = row.quality[m], row.cost[m]
        if latency is not None:
            lat, err = latency.next(m)
            if err:
                q, c = 0.0, 0.0
        else:
            lat, err = row.output_chars[m] / 400.0, row.failed[m]  # ~100 tokens/s
        policy.update(row, m, q, c, lat, error=bool(err))
        res.n += 1
        res.quality_sum += q
        res.correct += q >= 0.5
        res.cost_usd += c
        res.latency_s += lat
        res.failed += bool(err or row.failed[m])
        res.picks[models[m]] = res.picks.get(models[m], 0) + 1
    return res


def _hindsight(stream: Sequence[Row], models: Sequence[str]) -> dict[str, dict[str, Any]]:
    q = np.array([r.quality for r in stream])
    c = np.array([r.cost for r in stream])
    tasks = [r.task for r in stream]
    best = int(np.argmax(q.sum(axis=0) - 1e-9 * c.sum(axis=0)))
    per_task_q = 0.0
    per_task_c = 0.0
    per_task_models: dict[str, str] = {}
    for t in sorted(set(tasks)):
        rows = [i for i, x in enumerate(tasks) if x == t]
        qt, ct = q[rows].sum(axis=0), c[rows].sum(axis=0)
        bt = int(np.argmax(qt - 1e-9 * ct))
        per_task_q += float(qt[bt])
        per_task_c += float(ct[bt])
        per_task_models[t] = models[bt]
    oq = oc = 0.0
    for i in range(len(stream)):
        good = np.flatnonzero(q[i] >= q[i].max() - 1e-12)
        j = int(good[np.argmin(c[i, good])])
        oq += float(q[i, j])
        oc += float(c[i, j])
    n = len(stream)
    return {
        "oracle": {"quality": oq / n, "cost_usd": oc, "quality_total": oq},
        "best_single": {
            "model": models[best],
            "quality": float(q[:, best].mean()),
            "cost_usd": float(c[:, best].sum()),
            "quality_total": float(q[:, best].sum()),
        },
        "best_per_task": {
            "models": per_task_models,
            "quality": per_task_q / n,
            "cost_usd": per_task_c,
            "quality_total": per_task_q,
        },
        "single_models": {
            m: {"quality": float(q[:, k].mean()), "cost_usd": float(c[:, k].sum())}
            for k, m in enumerate(models)
        },
    }


def upper_hull(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The frontier of (cost, quality) points: their upper convex hull from the cheapest
    point on, keeping only points that raise quality (cost and quality both increase
    along it). A point on it between two swept points is reached by mixing those two
    (running each cost weight on its share of the calls)."""
    hull: list[tuple[float, float]] = []
    for p in sorted(set(points)):
        # Keep only points that raise quality (a costlier, worse point is dominated).
        if hull and p[1] <= hull[-1][1]:
            continue
        if hull and p[0] == hull[-1][0]:
            hull.pop()  # as costly, and better
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def hull_quality(hull: Sequence[tuple[float, float]], cost: float) -> float:
    """Quality of the frontier ``hull`` (see :func:`upper_hull`) at ``cost``: ``-inf``
    left of its cheapest point, flat right of its dearest."""
    if not hull or cost < hull[0][0]:
        return -math.inf
    for (x1, y1), (x2, y2) in itertools.pairwise(hull):
        if cost <= x2:
            return y1 + (y2 - y1) * (cost - x1) / (x2 - x1)
    return hull[-1][1]


def hull_area(points: Sequence[tuple[float, float]], c_max: float) -> float:
    """Mean quality over cost in [0, c_max] of the upper convex hull of (cost, quality)
    points (RouterBench's AIQ): 0 left of the cheapest point, flat right of the last."""
    pts = sorted(set(points))
    if not pts or c_max <= 0:
        return 0.0
    hull = upper_hull(pts)
    area = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(hull):
        a, b = min(x1, c_max), min(x2, c_max)
        if b > a:
            slope = (y2 - y1) / (x2 - x1)
            area += (b - a) * (y1 + slope * (a - x1) + y1 + slope * (b - x1)) / 2.0
    last_x, last_y = hull[-1]
    if last_x < c_max:
        area += (c_max - last_x) * last_y
    return area / c_max


def dominates(a: dict[str, Any], b: dict[str, Any], tol: float = 1e-9) -> bool:
    """Higher quality at no higher cost, or lower cost at no lower quality."""
    better = a["quality"] > b["quality"] + tol and a["cost_usd"] <= b["cost_usd"] + tol
    cheaper = a["cost_usd"] < b["cost_usd"] - tol and a["quality"] >= b["quality"] - tol
    return bool(better or cheaper)


FIXED_POLICIES: tuple[str, ...] = (
    "random",
    "cheapest",
    "litellm-simple-shuffle",
    "litellm-cost-based",
    "litellm-latency-based",
    "litellm-adaptive-style",
)
"""Policies without a cost weight: replayed once."""
SWEPT_POLICIES: tuple[str, ...] = (
    "outcomes",
    "outcomes-cold",
    "epsilon-greedy",
    "outcomes-contextual",
    "fixed-per-task",
)
"""Policies replayed at every cost weight (``fixed-per-task`` only when there is a
train split to fit it on)."""
ALL_POLICIES = FIXED_POLICIES + SWEPT_POLICIES


def _check_policies(names: Collection[str] | None) -> set[str]:
    if names is None:
        return set(ALL_POLICIES)
    unknown = sorted(set(names) - set(ALL_POLICIES))
    if unknown:
        raise ValueError(
            f"unknown policy {', '.join(map(repr, unknown))}; choose from {', '.join(ALL_POLICIES)}"
        )
    if not names:
        raise ValueError("no policy chosen")
    return set(names)


def _fixed(
    models: Sequence[str], prices: Sequence[float], seed: int, wanted: set[str]
) -> list[ReplayPolicy]:
    cheapest = int(np.argmin(prices))
    every: list[ReplayPolicy] = [
        Uniform("random", models, prices, seed),
        Fixed("cheapest", models, prices, cheapest),
        Uniform("litellm-simple-shuffle", models, prices, seed + 1),
        Fixed("litellm-cost-based", models, prices, cheapest),
        LowestLatency(models, prices, seed),
        BetaBandit(
            "litellm-adaptive-style",
            models,
            prices,
            weights=Weights(),
            seed=seed,
            cap=200.0,
            litellm_score=True,
        ),
    ]
    return [p for p in every if p.name in wanted]


def _swept(
    matrix: Matrix,
    prices: Sequence[float],
    w: float,
    seed: int,
    wanted: set[str],
    context: tuple[TextDifficulty, CostModel] | None,
    context_rows: bool,
    prior_cap: float,
) -> list[ReplayPolicy]:
    """The policies of one cost weight: ours run the live router (see
    :mod:`outcomes.routing._replay_router`); epsilon-greedy and the contextual policy are
    the replay's own."""
    models = matrix.models
    weights = Weights(quality=1.0, cost=w)
    half_life, min_evidence, share, sharpen, change_z = RouterPolicy.DEFAULT
    ours: dict[str, Any] = {
        "weights": weights, "seed": seed, "half_life": half_life,
        "min_evidence": min_evidence, "share": share, "sharpen": sharpen,
        "change_z": change_z,
    }  # fmt: skip
    out: list[ReplayPolicy] = []
    if "outcomes" in wanted:
        out.append(RouterPolicy("outcomes", models, prices, prior_cap=prior_cap, **ours))
    if "outcomes-cold" in wanted:
        out.append(RouterPolicy("outcomes-cold", models, prices, **ours))
    if "epsilon-greedy" in wanted:
        out.append(
            BetaBandit(
                "epsilon-greedy", models, prices, weights=weights, policy="epsilon", seed=seed
            )
        )
    if "outcomes-contextual" in wanted and context is not None:
        ctx = Contextual(
            models,
            prices,
            cost_weight=w,
            text=context[0],
            costs=context[1],
            prior_cap=CONTEXTUAL_PRIOR_CAP,
            seed=seed,
            half_life=CONTEXTUAL_HALF_LIFE,
            share=5.0,
            breaker=True,
        )
        ctx.propensities = False
        out.append(ctx)
    if "fixed-per-task" in wanted and context_rows:
        out.append(TaskFixed(models, prices, w))
    return out


def replay(
    matrix: Matrix,
    *,
    split: str = "test",
    seed: int = 0,
    cost_weights: Sequence[float] = DEFAULT_COST_WEIGHTS,
    latency_dir: Path | None = None,
    contextual: bool = True,
    policies: Collection[str] | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    prior_cap: float = PRIOR_CAP,
) -> dict[str, Any]:
    """Run the chosen ``policies`` (default: all of :data:`ALL_POLICIES`) on ``split`` of
    ``matrix``; returns the report (see docs/routing.md). ``on_progress(label, done,
    total)`` is called before each policy run; ``prior_cap``: ``outcomes``'s cap on the
    offline outcomes per (task, model) (see :data:`PRIOR_CAP`)."""
    wanted = _check_policies(policies)
    if not contextual:
        wanted.discard("outcomes-contextual")
    stream = matrix.split(split)
    if not stream:
        raise ValueError(
            f"split {split!r} has no prompts (splits: {sorted({r.split for r in matrix.rows})})"
        )
    train = [r for r in matrix.rows if r.split == "train"] if split == "test" else []
    if not matrix.ordered:
        random.Random(seed).shuffle(stream)
    models = matrix.models
    # Mean cost per call of each model: a list price, known before any call (from the
    # train split when there is one).
    prices = np.array([r.cost for r in (train or matrix.rows)]).mean(axis=0)
    refs = _hindsight(stream, models)
    ref_total = refs["best_per_task"]["quality_total"]
    context = None
    if "outcomes-contextual" in wanted and train:
        if on_progress is not None:
            on_progress("fitting the contextual text model on the train split", 0, 0)
        context = (TextDifficulty(seed=seed).fit(train), CostModel(prices).fit(train))
    per_weight = (
        len(wanted & set(SWEPT_POLICIES))
        - ("outcomes-contextual" in wanted and context is None)
        - ("fixed-per-task" in wanted and not train)
    )
    total = len(wanted & set(FIXED_POLICIES)) + per_weight * len(cost_weights)
    done = 0

    def go(policy: ReplayPolicy, w: float | None) -> dict[str, Any]:
        nonlocal done
        if on_progress is not None:
            label = f"{policy.name} (cost weight {w:g})" if w is not None else policy.name
            on_progress(label, done, total)
        policy.warm_start(train)
        lat = LatencyModel(latency_dir, models, seed) if latency_dir is not None else None
        done += 1
        return _run(policy, stream, lat, w).as_dict(ref_total)

    fixed = [go(p, None) for p in _fixed(models, prices, seed, wanted)]
    swept: list[dict[str, Any]] = []
    for w in cost_weights:
        swept.extend(
            go(p, w)
            for p in _swept(matrix, prices, w, seed, wanted, context, bool(train), prior_cap)
        )
    if on_progress is not None:
        on_progress("done", total, total)
    return _report(matrix, split, seed, len(train), latency_dir, stream, refs, fixed, swept)


def _report(
    matrix: Matrix,
    split: str,
    seed: int,
    train: int,
    latency_dir: Path | None,
    stream: Sequence[Row],
    refs: dict[str, Any],
    fixed: list[dict[str, Any]],
    swept: list[dict[str, Any]],
) -> dict[str, Any]:
    c_max = max(v["cost_usd"] for v in refs["single_models"].values())
    single_pts = [(v["cost_usd"], v["quality"]) for v in refs["single_models"].values()]
    aiq = {"single_model_hull": hull_area(single_pts, c_max)}
    for name in sorted({p["name"] for p in swept}):
        pts = [(p["cost_usd"], p["quality"]) for p in swept if p["name"] == name]
        aiq[name] = hull_area(pts, c_max)
    ours = [p for p in swept if p["name"] == "outcomes"]
    return {
        "dataset": {
            "models": list(matrix.models),
            "split": split,
            "prompts": len(stream),
            "train_prompts": train,
            "tasks": matrix.tasks,
            "seed": seed,
            "costs_from_price_table": matrix.missing_costs,
            "latency_from": str(latency_dir) if latency_dir else None,
        },
        "policies": fixed + swept,
        "references": {k: v for k, v in refs.items() if k != "single_models"},
        "single_models": refs["single_models"],
        "aiq": aiq,
        "checks": _checks(ours, fixed, swept, refs)
        | (
            {"aiq_outcomes_minus_fixed_per_task": aiq["outcomes"] - aiq["fixed-per-task"]}
            if "outcomes" in aiq and "fixed-per-task" in aiq
            else {}
        ),
    }


def _checks(
    ours: list[dict[str, Any]],
    fixed: list[dict[str, Any]],
    swept: list[dict[str, Any]],
    refs: dict[str, Any],
) -> dict[str, Any]:
    at0 = next((p for p in ours if p["cost_weight"] == 0.0), None)
    out: dict[str, Any] = {}
    if at0 is not None:
        out["regret_pct_at_cost_weight_0"] = at0["regret_pct"]
    # Every point of every non-hindsight baseline (each fixed baseline, each swept one at
    # each of its cost weights) must be dominated by some single point of ours. Equal on
    # both axes is "matched", not dominated: against always calling the cheapest model
    # that is the best any policy can do (nothing is cheaper, and at that cost it is the
    # only choice). Also listed, as information: the baselines that the frontier (the hull
    # of our points, what the area integrates) does not dominate either. Between two swept
    # points the hull is a mix of those two cost weights (each run on its share of the
    # calls): a point no single weight of ours reaches.
    undominated, matched, by_hull = [], [], []
    hull = upper_hull([(o["cost_usd"], o["quality"]) for o in ours])
    baselines = fixed + [b for b in swept if b["name"] in ("epsilon-greedy",)]
    for b in baselines:
        label = b["name"] if b["cost_weight"] is None else f"{b['name']}@{b['cost_weight']}"
        if not any(dominates(o, b) for o in ours):
            undominated.append(label)
            if any(
                o["quality"] >= b["quality"] - 1e-9 and o["cost_usd"] <= b["cost_usd"] + 1e-9
                for o in ours
            ):
                matched.append(label)
        cost = b["cost_usd"]
        if hull and hull[0][0] - 1e-9 <= cost < hull[0][0]:
            cost = hull[0][0]  # as cheap as our cheapest point, within rounding
        if hull_quality(hull, cost) <= b["quality"] + 1e-9:
            by_hull.append(label)
    out["baselines_matched_not_dominated"] = matched
    out["baselines_not_dominated"] = undominated
    out["baselines_not_dominated_by_the_frontier"] = by_hull
    gpt = refs["best_single"]
    ctx = [p for p in swept if p["name"] == "outcomes-contextual"]
    good = [
        p
        for p in ctx
        if p["quality"] >= gpt["quality"] - 0.005 and p["cost_usd"] <= 0.5 * gpt["cost_usd"]
    ]
    out["contextual_at_best_single_quality_half_cost"] = [
        {"cost_weight": p["cost_weight"], "quality": p["quality"], "cost_usd": p["cost_usd"]}
        for p in good
    ]
    return out
