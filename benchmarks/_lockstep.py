"""Textbook bandit rules replayed in lockstep, for the envelope benchmark only.

Not the product: :mod:`benchmarks.eval_router_envelope` replays the live ``Router``
through :class:`~outcomes.routing._replay_router.RouterPolicy` for everything the router
can do. This module adds reference rules the router does not have (epsilon-greedy at
several rates, UCB1 at several widths, KL-UCB, Bayes-UCB, plain Thompson sampling at
several sharpenings, without forgetting), each keeping a Beta(1, 1) posterior per
(task, model) cell. All configurations see the same stream and are stepped together,
one numpy operation per rule and decision, so a broad grid costs about one replay.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import betaincinv

Rule = tuple[str, float]
"""(rule name, its parameter): ``("thompson", sharpen)``, ``("epsilon", eps)``,
``("ucb", c)``, ``("klucb", 0)``, ``("bayes-ucb", 0)``."""

RULES: tuple[Rule, ...] = (
    *(("thompson", s) for s in (1.0, 2.0, 3.0, 4.0)),
    *(("epsilon", e) for e in (0.02, 0.05, 0.1, 0.2)),
    *(("ucb", c) for c in (0.1, 0.25, 0.5)),
    ("klucb", 0.0),
)
"""The reference grid: each rule over a range that holds its best setting on each
matrix. (A first run of seed 0 also had Thompson at sharpen 6, epsilon 0 and 0.01,
UCB1 at width 1 and Bayes-UCB: never the best of their rule on ``gaps`` or ``rb-mbpp``,
e.g. 25.6 % and 6.5 % for epsilon 0, 21.8 % and 7.0 % for UCB1 at 1, 16.4 % and 5.3 % for
Bayes-UCB; left out to save time.)"""


def _kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    q = np.clip(q, 1e-12, 1 - 1e-12)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def _klucb(mean: np.ndarray, n: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """The largest q >= mean with n * kl(mean, q) <= budget (Garivier and Cappe 2011,
    c = 0), by 12 bisections (to 2.5e-4)."""
    lo, hi = mean.copy(), np.ones_like(mean)
    for _ in range(12):
        mid = 0.5 * (lo + hi)
        ok = n * _kl(mean, mid) <= budget
        lo = np.where(ok, mid, lo)
        hi = np.where(ok, hi, mid)
    return lo


def replay(
    quality: np.ndarray,
    task: np.ndarray,
    available: np.ndarray | None,
    rules: Sequence[Rule],
    seed: int,
) -> np.ndarray:
    """The quality each rule collected over the stream: ``quality`` (decisions x models,
    in stream order), ``task`` (decisions, ints from 0), ``available`` (decisions x
    models, or ``None``: all). Returns one total per rule."""
    rng = np.random.default_rng(seed)
    n_rules, n_models = len(rules), quality.shape[1]
    succ = np.zeros((int(task.max()) + 1, n_rules, n_models))
    fail = np.zeros_like(succ)
    got = np.zeros(n_rules)
    kinds = np.array([r[0] for r in rules])
    param = np.array([r[1] for r in rules], dtype=float)
    groups = {k: np.flatnonzero(kinds == k) for k in set(kinds.tolist())}
    rows = np.arange(n_rules)
    for i in range(len(task)):
        t = task[i]
        s, f = succ[t], fail[t]
        n = s + f
        mean = (s + 1.0) / (n + 2.0)
        pulls = float(n[0].sum())  # every rule has made the same number of decisions
        score = np.empty((n_rules, n_models))
        for kind, g in groups.items():
            if kind == "thompson":
                sh = param[g][:, None]
                score[g] = rng.beta(1.0 + sh * s[g], 1.0 + sh * f[g])
            elif kind == "epsilon":
                score[g] = mean[g]
            elif kind == "ucb":
                width = np.sqrt(2.0 * math.log(pulls + 2.0) / (n[g] + 2.0))
                score[g] = mean[g] + param[g][:, None] * width
            elif kind == "klucb":
                budget = np.full_like(n[g], math.log(max(pulls, 1.0)))
                ucb = _klucb(s[g] / np.maximum(n[g], 1.0), np.maximum(n[g], 1.0), budget)
                score[g] = np.where(n[g] > 0, ucb, np.inf)
            elif kind == "bayes-ucb":
                # Kaufmann, Cappe and Garivier (2012), c = 0: the 1 - 1/t quantile.
                score[g] = betaincinv(1.0 + s[g], 1.0 + f[g], 1.0 - 1.0 / (pulls + 1.0))
            else:
                raise ValueError(f"unknown rule {kind!r}")
        score += 1e-9 * rng.random(score.shape)  # ties broken at random
        if available is not None:
            score[:, ~available[i]] = -np.inf
        pick = np.argmax(score, axis=1)
        eg = groups.get("epsilon")
        if eg is not None:
            explore = eg[rng.random(len(eg)) < param[eg]]
            if len(explore):
                ok = np.flatnonzero(available[i]) if available is not None else np.arange(n_models)
                pick[explore] = rng.choice(ok, size=len(explore))
        r = quality[i, pick]
        s[rows, pick] += r
        f[rows, pick] += 1.0 - r
        got += r
    return got
