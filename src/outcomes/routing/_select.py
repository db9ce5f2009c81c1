"""Scoring and selection shared by the live router and the replay benchmark.

An :class:`ArmView` is what a policy knows of one candidate: Beta pseudo-counts for its
success probability, an expected cost and latency (``None`` when unknown). Scores are
``quality - cost_weight * cost / ref_cost - latency_weight * latency / ref_latency``, with
references taken over the candidates that have data (or, for cost, one the caller
passes: the router's is the dearest candidate's cost per call over all tasks), so
missing data never divides by zero and an unknown value is scored as the candidates'
mean. Everything is vectorised: the cost of a decision is linear in the number of
candidates (``ids`` adds, once per candidate set that a caller keeps in
:class:`Prepared`, a computation quadratic in the candidates that may still be best, at
most :data:`~outcomes.routing._ids.MAX_CONTENDERS`).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr

from outcomes.routing._ids import ids_pair

Policy = Literal["thompson", "ids", "greedy", "ucb", "epsilon", "elim"]
POLICIES: tuple[str, ...] = ("thompson", "ids", "greedy", "ucb", "epsilon", "elim")
"""``elim`` is the router's only (:mod:`outcomes.routing._elim`): it needs the task's
evidence, which :func:`select` does not have."""


@dataclass(frozen=True, slots=True)
class Weights:
    """How much quality, cost and latency count. Quality is in [0, 1]; latency is
    normalised by the largest known value among the candidates, cost by the router's
    cost reference (the dearest candidate's cost per call over all tasks; see
    docs/routing.md)."""

    quality: float = 1.0
    cost: float = 0.0
    latency: float = 0.0

    def __post_init__(self) -> None:
        for name in ("quality", "cost", "latency"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"weight {name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class ArmView:
    """A candidate as a policy sees it."""

    model_id: str
    alpha: float
    beta: float
    cost: float | None = None
    latency_ms: float | None = None

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


class Selection:
    """The outcome of :func:`select`: the pick, every candidate's score parts, and the
    probability with which this policy picks that candidate in this state.

    For Thompson sampling that probability is an integral (see
    :func:`thompson_propensity`); it is computed on first access, so a caller that does
    not log it does not pay for it. For ``ids`` (see :func:`select`) a pick whose
    posterior is still wide has Thompson's probability; a settled one has the
    probability that Thompson's draw goes to a settled candidate times the IDS pair's.
    """

    __slots__ = ("_inputs", "_prob", "cost_penalty", "index", "latency_penalty", "quality", "score")

    def __init__(
        self,
        index: int,
        quality: list[float],
        cost_penalty: list[float],
        latency_penalty: list[float],
        score: list[float],
        propensity: float | None = None,
        inputs: tuple[Any, ...] | None = None,
    ) -> None:
        self.index = index
        self.quality = quality
        self.cost_penalty = cost_penalty
        self.latency_penalty = latency_penalty
        self.score = score
        self._prob = propensity
        self._inputs = inputs

    @property
    def propensity(self) -> float:
        if self._prob is None:
            assert self._inputs is not None
            mean, evid, base, wq, settled, pair = self._inputs
            m, e, b = np.asarray(mean), np.asarray(evid), np.asarray(base)
            if settled is None or not settled[self.index]:
                prob = thompson_propensity(m, e, b, wq, self.index)
            else:
                wide = sum(thompson_propensity(m, e, b, wq, k) for k in _wide(settled))
                if pair is None:
                    pair = _pair_of(None, mean, evid, base, wq, settled)
                prob = max(0.0, 1.0 - wide) * _pair_prob(pair, self.index)
            self._prob = prob
            self._inputs = None
        return self._prob


def _normalised(values: np.ndarray, weight: float, ref: float | None = None) -> np.ndarray:
    if weight == 0:
        return np.zeros(len(values))
    known = ~np.isnan(values) & (values >= 0)
    if not known.any():
        return np.zeros(len(values))
    if ref is None or not ref > 0:
        ref = float(values[known].max())
    if ref <= 0:
        return np.zeros(len(values))
    filled = np.where(known, values, float(values[known].mean()))
    return weight * filled / ref


NORMAL_FROM = 8.0
"""A Beta(a, b) with a and b at least this is close to a normal: Thompson's draw takes
the normal instead, and ``ids`` counts the candidate as settled."""


def _wide(settled: Sequence[bool]) -> list[int]:
    return [k for k, s in enumerate(settled) if not s]


def _pair_of(
    prepared: Prepared | None,
    mean: Sequence[float] | np.ndarray,
    evidence: Sequence[float] | np.ndarray,
    base: Sequence[float] | np.ndarray,
    wq: float,
    settled: Sequence[bool],
) -> tuple[int, int, float]:
    """The IDS decision among the ``settled`` candidates on the scores ``wq * quality +
    base``, quality ~ the normal with the Beta's mean and variance (as Thompson
    sampling's draw and propensity); indices are into all candidates. Kept in
    ``prepared`` when given (made there at most once)."""
    if prepared is not None and prepared.pair is not None:
        return prepared.pair
    keep = np.flatnonzero(np.asarray(settled, dtype=bool))
    m = np.asarray(mean, dtype=float)[keep]
    sd = wq * np.sqrt(m * (1.0 - m) / (np.asarray(evidence, dtype=float)[keep] + 1.0))
    i, j, q = ids_pair(wq * m + np.asarray(base, dtype=float)[keep], sd)
    pair = (int(keep[i]), int(keep[j]), q)
    if prepared is not None:
        prepared.pair = pair
    return pair


def _draw_pair(pair: tuple[int, int, float], u: float) -> int:
    """The pick of an IDS decision for a uniform draw ``u``."""
    i, j, q = pair
    return i if u < q else j


def _pair_prob(pair: tuple[int, int, float], k: int) -> float:
    """P(an IDS decision ``pair`` picks ``k``)."""
    i, j, q = pair
    return (q if k == i else 0.0) + (1.0 - q if k == j else 0.0)


def select_arrays(
    model_ids: Sequence[str],
    alpha: np.ndarray,
    beta: np.ndarray,
    cost: np.ndarray,
    latency: np.ndarray,
    weights: Weights,
    *,
    policy: Policy,
    rng: np.random.Generator,
    epsilon: float = 0.1,
    ucb_c: float = 1.0,
    cost_ref: float | None = None,
    prepared: Prepared | None = None,
) -> Selection:
    """:func:`select` on arrays (``nan`` = unknown cost or latency). ``cost_ref``: the
    cost that is penalised by the whole ``weights.cost`` (``None`` or not positive: the
    largest known cost among the candidates). ``prepared``: what :func:`prepare` made of
    these same candidates, when the caller keeps it (there the IDS decision is kept
    too)."""
    n = len(model_ids)
    if n == 0:
        raise ValueError("no candidates to select from")
    cost_pen = _normalised(cost, weights.cost, cost_ref)
    lat_pen = _normalised(latency, weights.latency)
    base = -cost_pen - lat_pen
    wq = weights.quality
    evidence = alpha + beta
    mean = alpha / evidence
    if policy in ("thompson", "ids"):
        q = rng.beta(alpha, beta)
    elif policy == "ucb":
        total = max(float(evidence.sum()), 2.0)
        q = mean + ucb_c * np.sqrt(2.0 * math.log(total) / evidence)
    elif policy in ("greedy", "epsilon"):
        q = mean
    else:
        raise ValueError(f"unknown policy {policy!r}; use one of {', '.join(POLICIES)}")
    score = wq * q + base
    best = int(np.argmax(score))
    chosen = best
    settled: list[bool] | None = None
    pair = None
    if policy == "ids":
        settled = ((alpha >= NORMAL_FROM) & (beta >= NORMAL_FROM)).tolist()
        if settled[best]:
            pair = _pair_of(prepared, mean, evidence, base, wq, settled)
            chosen = _draw_pair(pair, rng.random())
    elif policy == "epsilon" and rng.random() < epsilon:
        chosen = int(rng.integers(n))
    return _selection(
        policy, epsilon, chosen, best, q.tolist(), cost_pen.tolist(), lat_pen.tolist(),
        score.tolist(), (mean, evidence, base, wq, settled, pair),
    )  # fmt: skip


def _selection(
    policy: Policy,
    epsilon: float,
    chosen: int,
    best: int,
    q: list[float],
    cost_pen: list[float],
    lat_pen: list[float],
    score: list[float],
    inputs: tuple[Any, ...],
) -> Selection:
    """The :class:`Selection` of ``chosen`` (``best``: the top score). ``greedy``, ``ucb``
    and ``epsilon`` know their pick's probability now (``q`` is then copied: it may be a
    :class:`Prepared` list); the sampling policies compute it from ``inputs`` on access."""
    if policy in ("greedy", "ucb"):
        prob = 1.0
    elif policy == "epsilon":
        prob = epsilon / len(score) + (1.0 - epsilon if chosen == best else 0.0)
    else:
        return Selection(chosen, q, cost_pen, lat_pen, score, inputs=inputs)
    return Selection(chosen, list(q), cost_pen, lat_pen, score, prob)


SMALL = 48
"""Below this many candidates plain Python beats numpy's per-call overhead."""

NORMALS_BLOCK = 1024
"""Standard normals :class:`Normals` draws per numpy call. numpy lets go of the GIL for
every array draw, and a deciding thread that lets go of it while another thread runs
Python code (a recorder at full speed) often waits a whole switch interval (5 ms) or
longer to get it back: one draw per decision made about 0.4% of decisions take over
1 ms (``benchmarks decide_under_load``). A block serves 93 decisions among 11
candidates for about 33 KB; the size was set from that arithmetic, not tuned on the
benchmark."""


class Normals:
    """Standard normals of ``rng``, handed out in the order ``rng.standard_normal``
    draws them, from a block drawn ahead (:data:`NORMALS_BLOCK`) so that most calls do
    not let go of the GIL. Threads may share one: each value goes to one caller."""

    __slots__ = ("_left", "_rng")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._left: deque[float] = deque()

    def take(self, n: int) -> list[float]:
        """The next ``n`` standard normals."""
        left = self._left
        if len(left) < n:
            left.extend(self._rng.standard_normal(max(n, NORMALS_BLOCK)).tolist())
        pop = left.popleft  # atomic under the GIL: no value goes to two threads
        try:
            return [pop() for _ in range(n)]
        except IndexError:  # another thread took the rest of the block meanwhile
            rest: list[float] = self._rng.standard_normal(n).tolist()
            return rest


def _normalised_list(
    values: list[float | None], weight: float, ref: float | None = None
) -> list[float]:
    n = len(values)
    if weight == 0:
        return [0.0] * n
    known = [v for v in values if v is not None and v >= 0]
    if not known:
        return [0.0] * n
    if ref is None or not ref > 0:
        ref = max(known)
    if ref <= 0:
        return [0.0] * n
    fill = sum(known) / len(known)
    k = weight / ref
    return [k * (v if v is not None and v >= 0 else fill) for v in values]


def as_arrays(
    alphas: Sequence[float],
    betas: Sequence[float],
    costs: Sequence[float | None],
    latencies: Sequence[float | None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parallel lists as the arrays :func:`select_arrays` takes (``None`` -> ``nan``)."""
    nan = math.nan
    return (
        np.array(alphas, dtype=float),
        np.array(betas, dtype=float),
        np.array([nan if c is None else c for c in costs], dtype=float),
        np.array([nan if v is None else v for v in latencies], dtype=float),
    )


def select_lists(
    alphas: list[float],
    betas: list[float],
    costs: list[float | None],
    latencies: list[float | None],
    weights: Weights,
    *,
    policy: Policy,
    rng: np.random.Generator,
    pyrng: random.Random,
    epsilon: float = 0.1,
    ucb_c: float = 1.0,
    prepared: Prepared | None = None,
    cost_ref: float | None = None,
    normals: Normals | None = None,
) -> Selection:
    """:func:`select` on parallel lists (the router's hot path). ``prepared``: what
    :func:`prepare` made of these same lists, ``weights`` and ``cost_ref`` (see
    :func:`select_arrays`), when the caller keeps it between draws; ``normals``: where
    a small candidate set's normal draws come from instead of ``rng`` (the same values
    when only this path draws from ``rng``)."""
    if len(alphas) >= SMALL:
        return select_arrays(
            [""] * len(alphas),
            *as_arrays(alphas, betas, costs, latencies),
            weights,
            policy=policy,
            rng=rng,
            epsilon=epsilon,
            ucb_c=ucb_c,
            cost_ref=cost_ref,
            prepared=prepared,
        )
    if prepared is None:
        prepared = prepare(alphas, betas, costs, latencies, weights, cost_ref)
    return _select_small(
        alphas, betas, costs, latencies, weights, policy, pyrng, epsilon, ucb_c, rng, prepared,
        normals,
    )  # fmt: skip


@dataclass(slots=True)
class Prepared:
    """The parts of a selection that depend only on the candidates and weights."""

    cost_penalty: list[float]
    latency_penalty: list[float]
    evidence: list[float]
    mean: list[float]
    spread: list[float]
    """Standard deviation of the normal that stands in for the Beta, or -1 where the
    Beta itself is drawn."""
    base: list[float]
    """Score without quality: minus the cost and latency penalties."""
    pair: tuple[int, int, float] | None = None
    """The IDS decision (``(i, j, q)``: ``i`` with probability ``q``, else ``j``), made
    on the first ``ids`` selection that needs it: it depends only on the candidates."""


def prepare(
    alphas: list[float],
    betas: list[float],
    costs: list[float | None],
    latencies: list[float | None],
    weights: Weights,
    cost_ref: float | None = None,
) -> Prepared:
    """Precompute :func:`select_lists` for parallel lists it will select from again."""
    cost_pen = _normalised_list(costs, weights.cost, cost_ref)
    lat_pen = _normalised_list(latencies, weights.latency)
    n = len(alphas)
    evid = [alphas[i] + betas[i] for i in range(n)]
    mean = [alphas[i] / evid[i] for i in range(n)]
    # A normal draw costs a fraction of a Beta draw.
    spread = [
        math.sqrt(mean[i] * (1.0 - mean[i]) / (evid[i] + 1.0))
        if alphas[i] >= NORMAL_FROM and betas[i] >= NORMAL_FROM
        else -1.0
        for i in range(n)
    ]
    base = [-cost_pen[i] - lat_pen[i] for i in range(n)]
    return Prepared(cost_pen, lat_pen, evid, mean, spread, base)


def _select_small(
    alphas: list[float],
    betas: list[float],
    costs: list[float | None],
    latencies: list[float | None],
    weights: Weights,
    policy: Policy,
    pyrng: random.Random,
    epsilon: float,
    ucb_c: float,
    rng: np.random.Generator | None = None,
    prepared: Prepared | None = None,
    normals: Normals | None = None,
) -> Selection:
    n = len(alphas)
    if n == 0:
        raise ValueError("no candidates to select from")
    pre = prepared if prepared is not None else prepare(alphas, betas, costs, latencies, weights)
    cost_pen, lat_pen, evid, mean, base = (
        pre.cost_penalty,
        pre.latency_penalty,
        pre.evidence,
        pre.mean,
        pre.base,
    )
    wq = weights.quality
    if policy in ("thompson", "ids"):
        q = []
        betav = pyrng.betavariate
        spread = pre.spread
        # Standard normals in one numpy call when there is a generator (one Python-level
        # gauss() per arm costs more than the rest of the decision), or from a block.
        if normals is not None:
            zs: list[float] | None = normals.take(n)
        else:
            zs = rng.standard_normal(n).tolist() if rng is not None else None
        for i in range(n):
            sd = spread[i]
            if sd >= 0.0:
                z = zs[i] if zs is not None else pyrng.gauss()
                x = mean[i] + z * sd
                q.append(0.0 if x < 0.0 else 1.0 if x > 1.0 else x)
            else:
                q.append(betav(alphas[i], betas[i]))
    elif policy == "ucb":
        lt = 2.0 * math.log(max(sum(evid), 2.0))
        q = [mean[i] + ucb_c * math.sqrt(lt / evid[i]) for i in range(n)]
    elif policy in ("greedy", "epsilon"):
        q = mean
    else:
        raise ValueError(f"unknown policy {policy!r}; use one of {', '.join(POLICIES)}")
    score = [wq * q[i] + base[i] for i in range(n)]
    best = max(range(n), key=score.__getitem__)
    chosen = best
    settled: list[bool] | None = None
    pair = None
    if policy == "ids":
        settled = [sd >= 0.0 for sd in pre.spread]
        if settled[best]:
            pair = _pair_of(pre, mean, evid, base, wq, settled)
            chosen = _draw_pair(pair, pyrng.random())
    elif policy == "epsilon" and pyrng.random() < epsilon:
        chosen = pyrng.randrange(n)
    return _selection(
        policy, epsilon, chosen, best, q, cost_pen, lat_pen, score,
        (mean, evid, base, wq, settled, pair),
    )  # fmt: skip


def select(
    arms: Sequence[ArmView],
    weights: Weights,
    *,
    policy: Policy = "thompson",
    rng: np.random.Generator,
    pyrng: random.Random | None = None,
    epsilon: float = 0.1,
    ucb_c: float = 1.0,
) -> Selection:
    """Pick one arm with ``policy``; see :class:`Selection`.

    ``thompson``: the arm with the best score under one posterior draw per arm. ``ids``:
    the same draw; if it falls on an arm whose posterior is still wide (``alpha`` or
    ``beta`` under :data:`NORMAL_FROM`), that arm, else information-directed sampling
    among the settled arms (:mod:`outcomes.routing._ids`). ``greedy``: the best mean;
    ``ucb``: the best upper bound; ``epsilon``: the best mean, or with probability
    ``epsilon`` a uniform pick.

    ``rng`` (numpy) serves large candidate sets, ``pyrng`` small ones (seed both for
    reproducible choices; ``pyrng`` defaults to one seeded from ``rng``).
    """
    if policy == "elim":
        raise ValueError("policy 'elim' needs the task's evidence: use it through Router")
    if len(arms) < SMALL:
        if pyrng is None:
            pyrng = random.Random(int(rng.integers(2**63)))
        return _select_small(
            [a.alpha for a in arms],
            [a.beta for a in arms],
            [a.cost for a in arms],
            [a.latency_ms for a in arms],
            weights,
            policy,
            pyrng,
            epsilon,
            ucb_c,
            rng,
        )
    return select_arrays(
        [a.model_id for a in arms],
        *as_arrays(
            [a.alpha for a in arms],
            [a.beta for a in arms],
            [a.cost for a in arms],
            [a.latency_ms for a in arms],
        ),
        weights,
        policy=policy,
        rng=rng,
        epsilon=epsilon,
        ucb_c=ucb_c,
    )


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def thompson_propensity(
    mean: np.ndarray, evidence: np.ndarray, base: np.ndarray, wq: float, chosen: int
) -> float:
    """P(Thompson sampling picks ``chosen``).

    Each score is approximated by a normal with the Beta's mean and variance; then
    P(chosen is the largest) = E over the chosen's score x of the product over rivals of
    P(rival < x), an integral over one variable taken by 16-node Gauss-Hermite
    quadrature (so the rivals' shared comparison with x is accounted for, unlike a
    product of pairwise probabilities). Clamped to [1e-4, 1] so importance weights stay
    finite; the tests bound the error against Monte Carlo.
    """
    n = len(mean)
    if n == 1:
        return 1.0
    # A zero spread (a certain arm) becomes a tiny one: ndtr then gives the step.
    sd = np.maximum(np.sqrt(wq * wq * mean * (1.0 - mean) / (evidence + 1.0)), 1e-12)
    mu = wq * mean + base
    z = ((mu[chosen] + sd[chosen] * _NODES)[:, None] - mu) / sd
    p = ndtr(z)
    p[:, chosen] = 1.0
    prob = float(_WEIGHTS @ p.prod(axis=1))
    return min(max(prob, 1e-4), 1.0)


def monte_carlo_propensity(
    alpha: np.ndarray,
    beta: np.ndarray,
    base: np.ndarray,
    wq: float,
    chosen: int,
    rng: np.random.Generator,
    samples: int = 4000,
) -> float:
    """P(Thompson picks ``chosen``) by simulation (slow; for tests and audits)."""
    draws = rng.beta(alpha, beta, size=(samples, len(alpha)))
    winners = np.argmax(wq * draws + base, axis=1)
    return float((winners == chosen).mean())
