"""Thompson sampling with elimination by the value of information (``policy="elim"``).

Thompson sampling tries every candidate with the probability that it is the best. Where
candidates are a few points apart that keeps it paying for draws that cannot repay
themselves within the traffic a task gets. ``elim`` first leaves out of the draw each
candidate whose exploration is not worth its price, then draws as Thompson sampling
among the rest; a candidate comes back as soon as the evidence makes it worth trying
again (the test is made anew on every refresh of the statistics).

The test, per candidate ``i`` other than the leader ``L`` (the best posterior mean
score), in score units: trying ``i`` ``m`` more times costs ``m * delta``, ``delta`` =
mean score of ``L`` minus that of ``i``; it moves ``i``'s posterior mean by a normal of
standard deviation ``s_m`` (the preposterior spread: posterior variance now minus after
``m`` more outcomes), and the expected gain of then calling the better of the two for
the remaining ``h - m`` decisions is ``(h - m) * s_m * f(-delta / s_m)``, ``f(z) = z
Phi(z) + phi(z)`` (Frazier and Powell's knowledge gradient, taken over ``m``
observations as in their KG(*)). ``i`` stays in the draw if the gain exceeds the cost for
some ``m`` (powers of two up to ``h``). The horizon ``h`` is the task's evidence so far
(the sum of its candidates' outcomes): with no knowledge of how long a task will be
served, the future is taken to be as long as the past (the doubling argument of anytime
bandit rules). No constant is tuned.

Candidates whose posterior is still wide (``alpha`` or ``beta`` under
:data:`~outcomes.routing._select.NORMAL_FROM`, where the normal approximation behind
the test is not good) always stay in the draw, as the leader does. The propensity is
Thompson sampling's among the candidates left in the draw (same normal approximation
and quadrature as :func:`~outcomes.routing._select.thompson_propensity`), 0 for the
others.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from scipy.special import ndtr

from outcomes.routing._select import (
    Normals,
    Prepared,
    Selection,
    Weights,
    prepare,
    select_lists,
)

if TYPE_CHECKING:
    from outcomes.routing._decision import _Eligible, _Pool
    from outcomes.routing._router import Router

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_T = TypeVar("_T")


def worth_trying(
    mean: list[float],
    evidence: list[float],
    spread: list[float],
    base: list[float],
    wq: float,
    horizon: float,
    step: float = 1.0,
) -> list[bool]:
    """Which candidates stay in the draw (module docstring). ``mean``, ``evidence``
    (alpha + beta), ``spread`` (-1 for a wide posterior) and ``base`` (score without
    quality) per candidate, as :class:`~outcomes.routing._select.Prepared` holds them;
    ``horizon``: the task's outcomes so far; ``step``: how much one outcome adds to
    ``evidence`` (the router's ``sharpen``)."""
    mu = wq * np.asarray(mean) + np.asarray(base)
    lead = int(np.argmax(mu))
    keep = np.asarray(spread) < 0.0
    keep[lead] = True
    rest = np.flatnonzero(~keep)
    if len(rest) == 0:
        return [bool(k) for k in keep]
    if horizon < 1.0 or wq <= 0.0:
        return [bool(k) for k in keep]
    m = 2.0 ** np.arange(int(math.log2(horizon)) + 1)
    p = np.asarray(mean)[rest, None]
    n = np.asarray(evidence)[rest, None]
    v = p * (1.0 - p)
    # The spread of the posterior mean's move after m more outcomes (preposterior).
    moved = wq * np.sqrt(np.maximum(v / (n + 1.0) - v / (n + 1.0 + step * m), 0.0))
    delta = (mu[lead] - mu[rest])[:, None]
    z = -delta / np.maximum(moved, 1e-12)
    gain = moved * (z * ndtr(z) + np.exp(-0.5 * z * z) * _INV_SQRT_2PI)
    keep[rest] = ((horizon - m) * gain >= m * delta).any(axis=1)
    return [bool(k) for k in keep]


@dataclass(slots=True)
class Gate:
    """Who is in the draw (:func:`gate`), kept between draws on the same candidates:
    their positions, lists and :class:`Prepared`, and the :class:`Prepared` of all."""

    kept: list[int]
    prepared: Prepared
    lists: tuple[list[float], list[float], list[float | None], list[float | None]]
    full: Prepared


def gate(
    alphas: list[float],
    betas: list[float],
    costs: list[float | None],
    latencies: list[float | None],
    weights: Weights,
    *,
    horizon: float,
    step: float = 1.0,
    cost_ref: float | None = None,
    prepared: Prepared | None = None,
) -> Gate:
    """The candidates left in the draw (see :func:`worth_trying`); ``prepared``:
    :func:`prepare` of these lists when the caller has it."""
    pre = prepared or prepare(alphas, betas, costs, latencies, weights, cost_ref)
    keep = worth_trying(
        pre.mean, pre.evidence, pre.spread, pre.base, weights.quality, horizon, step
    )
    kept = [i for i, k in enumerate(keep) if k]

    def sub(values: list[_T]) -> list[_T]:
        return [values[i] for i in kept]

    lists = (sub(alphas), sub(betas), sub(costs), sub(latencies))
    part = Prepared(
        sub(pre.cost_penalty),
        sub(pre.latency_penalty),
        sub(pre.evidence),
        sub(pre.mean),
        sub(pre.spread),
        sub(pre.base),
    )
    return Gate(kept, part, lists, pre)


class GatedSelection(Selection):
    """A selection over all candidates whose pick and propensity are those of
    Thompson's draw among the candidates kept in it; a candidate left out shows its
    posterior mean as sampled quality."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Selection, g: Gate, wq: float) -> None:
        pre = g.full
        quality = list(pre.mean)
        for k, i in enumerate(g.kept):
            quality[i] = inner.quality[k]
        score = [wq * quality[i] + pre.base[i] for i in range(len(quality))]
        super().__init__(
            g.kept[inner.index], quality, pre.cost_penalty, pre.latency_penalty, score, 1.0
        )
        self._inner = inner

    @property
    def propensity(self) -> float:
        return self._inner.propensity


def select_elim(
    g: Gate,
    weights: Weights,
    *,
    rng: np.random.Generator,
    pyrng: random.Random,
    cost_ref: float | None = None,
    normals: Normals | None = None,
) -> Selection:
    """Pick with ``elim`` (module docstring): Thompson's draw among ``g``'s candidates."""
    inner = select_lists(
        *g.lists,
        weights,
        policy="thompson",
        rng=rng,
        pyrng=pyrng,
        prepared=g.prepared,
        cost_ref=cost_ref,
        normals=normals,
    )
    return GatedSelection(inner, g, weights.quality)


def select_gated(router: Router, pool: _Pool, eligible: _Eligible) -> Selection:
    """The router's ``elim`` pick among ``eligible`` (its phase 3). The horizon is the
    task's outcomes as the router counts them (age-weighted when it forgets), summed
    over the scored candidates; the gate of the unblocked set is kept in ``pool``."""
    unblocked = eligible.prepared is not None and eligible.prepared is pool.ok_prepared
    g = pool.gate if unblocked else None
    if g is None:
        horizon = sum(pool.rows[j][2] + pool.rows[j][3] for j in eligible.scored)
        g = gate(
            *eligible.lists,
            router.weights,
            horizon=horizon,
            step=router.sharpen,
            cost_ref=pool.cost_ref,
            prepared=eligible.prepared,
        )
        if unblocked:
            pool.gate = g
    return select_elim(
        g, router.weights, rng=router._rng, pyrng=router._pyrng, cost_ref=pool.cost_ref,
        normals=router._normals,
    )  # fmt: skip
