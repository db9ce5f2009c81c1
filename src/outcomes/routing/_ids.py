"""Information-directed sampling: the router's exploration where arms are close.

Russo and Van Roy's IDS (*Learning to Optimize via Information-Directed Sampling*,
Operations Research 2018), variance-based: for each candidate, ``delta`` is its expected
shortfall against the best candidate (the expected maximum of the scores minus its own
expected score) and ``gain`` how much observing it would tell about which candidate is
best (the variance, over which candidate is best, of its expected score given that one
is best). The decision is the distribution over candidates that minimises
``(expected delta) ** 2 / (expected gain)``; an optimum picks between at most two
candidates. So a candidate that is clearly worse (large delta) is not tried just because
its posterior is still wide, which is what Thompson sampling keeps doing, and one that may
still be best is tried while that is worth what it costs.

Scores are treated as independent normals (a Beta posterior's mean and variance); the
integrals over the best candidate's score are taken by 16-node Gauss-Hermite quadrature,
as for Thompson sampling's propensity. Candidates that cannot be best (more than
:data:`PRUNE_Z` standard deviations below the leader) are left out of the computation:
their gain is nil, so they are never chosen.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

PRUNE_Z = 5.0
"""A candidate whose score is this many standard deviations (of the difference) below the
leader's is best with probability under 3e-7 and is not considered."""
MAX_CONTENDERS = 32
"""At most this many candidates enter the computation (the most optimistic ones, by mean
plus two standard deviations): its cost grows with the square of their number."""
_TINY = 1e-12


def ids_pair(mu: np.ndarray, sd: np.ndarray) -> tuple[int, int, float]:
    """The IDS decision for scores ``~ Normal(mu, sd)``, independent.

    Returns ``(i, j, q)``: choose candidate ``i`` with probability ``q``, else ``j``
    (``i == j`` and ``q == 1`` when one candidate is the answer). ``mu`` and ``sd`` are
    1-d arrays of the same, non-zero length; a zero ``sd`` is a known score.
    """
    n = len(mu)
    if n == 1:
        return 0, 0, 1.0
    sd = np.maximum(sd, _TINY)
    lead = int(np.argmax(mu))
    z = (mu - mu[lead]) / np.sqrt(sd * sd + sd[lead] * sd[lead])
    keep = np.flatnonzero(z > -PRUNE_Z)
    if len(keep) > MAX_CONTENDERS:
        top = np.argsort(-(mu[keep] + 2.0 * sd[keep]), kind="stable")[:MAX_CONTENDERS]
        keep = np.sort(keep[top])
        if lead not in keep:
            keep[-1] = lead
            keep.sort()
    if len(keep) == 1:
        return lead, lead, 1.0
    i, j, q = _pair(*_regret_and_gain(mu[keep], sd[keep]))
    return int(keep[i]), int(keep[j]), q


def _regret_and_gain(mu: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(delta, gain) per candidate; see the module docstring."""
    k = len(mu)
    idx = np.arange(k)
    # x[b, n]: the n-th quadrature point of candidate b's score, b taken as the best;
    # z[b, n, a]: where it falls in candidate a's distribution.
    x = mu[:, None] + sd[:, None] * _NODES
    z = (x[:, :, None] - mu) / sd
    cdf = ndtr(z)
    cdf[idx, :, idx] = 1.0
    # P(every other score < x): the weight of b being best at x.
    inside = cdf.prod(axis=2)
    weighted = inside * _WEIGHTS
    p_best = weighted.sum(axis=1)
    # E[score_a | score_a < x] for a != b (the inverse Mills ratio); b's own score is x.
    cond = mu - sd * (np.exp(-0.5 * z * z) * _INV_SQRT_2PI / np.maximum(cdf, 1e-300))
    cond[idx, :, idx] = x
    given = np.matmul(weighted[:, None, :], cond)[:, 0, :] / np.maximum(p_best, 1e-300)[:, None]
    best_mean = float(p_best @ given[idx, idx])
    delta = np.maximum(best_mean - mu, 0.0)
    gain = np.maximum(p_best @ (given - mu) ** 2, 1e-18)
    return delta, gain


def _pair(delta: np.ndarray, gain: np.ndarray) -> tuple[int, int, float]:
    """The two-point distribution minimising the information ratio: for each pair
    ``(i, j)`` the ratio is convex in ``q`` on [0, 1], minimised in closed form."""
    dj, gj = delta, gain
    di, gi = delta[:, None], gain[:, None]
    d, e = di - dj, gi - gj
    de = d * e
    # Where d * e is 0 the ratio is monotone in q: an end point is the optimum, and the
    # single-candidate ratios below cover both ends.
    q = np.clip((e * dj - 2.0 * d * gj) / np.where(de == 0.0, 1.0, de), 0.0, 1.0)
    ratio = (dj + q * d) ** 2 / (gj + q * e)
    flat = int(np.argmin(ratio))
    i, j = divmod(flat, len(delta))
    single = delta * delta / gain
    s = int(np.argmin(single))
    if not ratio[i, j] < single[s]:
        return s, s, 1.0
    return i, j, float(q[i, j])
