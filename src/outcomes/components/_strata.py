"""Joint-failure counts of component pairs within session-failure strata, and their exact test.

A pair's sessions are split by how the *other* installs of the session fared: the number of
other failures ``f`` (the session's failures minus those of the pair) against the other
attempts ``m = installs - 2``. A session where at least ``OUTAGE_MIN_OTHERS`` other installs
were attempted and at least ``OUTAGE_SHARE`` of them failed is an outage for that pair and is
left out; the rest fall in ``STRATA`` strata (no other failure, under a third, under two
thirds, more). Within a stratum, two independently failing components co-fail as the
hypergeometric distribution says; across strata the joint failures add up, so the one-sided
exact test of "more joint failures than independence within strata" is the upper tail of a
sum of independent hypergeometric variables (the exact form of the Mantel-Haenszel test).

The strata depend only on the session's size and on the outcomes of the other components,
never on the pair's own outcomes, so conditioning on them keeps the test valid under
independence; a conflict (both fail when installed together) then shows up against
sessions where the others fared the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

OUTAGE_SHARE = 0.75
"""Share of the other installs that failed from which a session is an outage for a pair."""
OUTAGE_MIN_OTHERS = 2
"""Other installs a session needs before it can be called an outage: with fewer, a shared
failure is as much a conflict's signature as an outage's, and the strata weigh it instead.

Both were chosen on simulated populations with development seeds only (``python -m
benchmarks.eval_conflicts --choose``: the candidate with the best recall among those whose
false discoveries stay within 10% of the flagged pairs in every setting where any
candidate manages it); the figures in docs/components.md come from other seeds."""
STRATA = 4
"""Strata of kept sessions by the other installs' failure share: 0, (0, 1/3), [1/3, 2/3), more."""
EXCLUDED = STRATA
"""Index of the outage stratum in the count arrays (dropped before testing)."""

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def stratum(others_failed: IntArray, installs: IntArray) -> IntArray:
    """The stratum of sessions with ``installs`` attempts when ``others_failed`` others failed.

    ``EXCLUDED`` for outages; ``-1`` where ``others_failed`` is negative (not applicable).
    """
    others = np.maximum(installs - 2, 0)
    share = others_failed / np.maximum(others, 1)
    out = np.where(others_failed == 0, 0, np.where(share < 1 / 3, 1, np.where(share < 2 / 3, 2, 3)))
    outage = (others >= OUTAGE_MIN_OTHERS) & (others_failed >= OUTAGE_SHARE * others)
    out = np.where(outage, EXCLUDED, out)
    return np.where(others_failed < 0, -1, out).astype(np.int64)


@dataclass(frozen=True, slots=True)
class PairCounts:
    """Per pair ``i`` and stratum ``h``: sessions ``n``, failures of each member, joint ones."""

    first: IntArray
    second: IntArray
    n: IntArray
    fail_a: IntArray
    fail_b: IntArray
    joint: IntArray
    outage_sessions: int
    """Sessions that are outages for every pair (even with two of their failures set aside)."""


def _per_item(index: IntArray, strata: IntArray, size: int) -> IntArray:
    """Counts of (item, stratum) occurrences as a ``(size, STRATA + 1)`` array."""
    keep = strata >= 0
    flat = index[keep] * (STRATA + 1) + strata[keep]
    return np.bincount(flat, minlength=size * (STRATA + 1)).reshape(size, STRATA + 1)


def pair_counts(installs: Sequence[int], failed: Sequence[Sequence[int]], size: int) -> PairCounts:
    """Stratified counts of every pair that failed together in some session.

    ``installs[s]`` is the number of components attempted in session ``s``; ``failed[s]``
    the indexes (0..size-1, distinct) of those that failed there.
    """
    n_inst = np.asarray(installs, dtype=np.int64)
    n_fail = np.fromiter((len(f) for f in failed), dtype=np.int64, count=len(failed))
    # The stratum of each session for a pair none (h0), one (h1) or both (h2) of whose
    # members failed there: the pair's own failures are never counted as "others".
    h0 = stratum(n_fail, n_inst)
    h1 = stratum(n_fail - 1, n_inst)
    h2 = stratum(n_fail - 2, n_inst)
    base = np.bincount(h0[h0 >= 0], minlength=STRATA + 1)

    session_of = np.repeat(np.arange(len(failed), dtype=np.int64), n_fail)
    comp = np.fromiter((c for f in failed for c in f), dtype=np.int64, count=int(n_fail.sum()))
    fails_1 = _per_item(comp, h1[session_of], size)  # a failed, the other member did not
    fails_0 = _per_item(comp, h0[session_of], size)

    firsts: list[IntArray] = []
    seconds: list[IntArray] = []
    where: list[IntArray] = []
    upper: dict[int, tuple[IntArray, IntArray]] = {}
    for s in np.flatnonzero(n_fail >= 2):
        members = np.sort(np.asarray(failed[int(s)], dtype=np.int64))
        many = len(members)
        if many not in upper:
            upper[many] = np.triu_indices(many, k=1)
        i, j = upper[many]
        firsts.append(members[i])
        seconds.append(members[j])
        where.append(np.full(len(i), s, dtype=np.int64))
    if not firsts:
        empty = np.zeros(0, dtype=np.int64)
        grid = np.zeros((0, STRATA), dtype=np.int64)
        return PairCounts(empty, empty, grid, grid, grid, grid, int(base[EXCLUDED]))
    a, b, s_of = np.concatenate(firsts), np.concatenate(seconds), np.concatenate(where)
    keys, inverse = np.unique(a * size + b, return_inverse=True)
    pa, pb = keys // size, keys % size
    joint = _per_item(inverse, h2[s_of], len(keys))  # both failed: others = failures - 2
    one = _per_item(inverse, h1[s_of], len(keys))
    none = _per_item(inverse, h0[s_of], len(keys))
    fail_a = fails_1[pa] - one + joint
    fail_b = fails_1[pb] - one + joint
    # Sessions default to h0; a member's failure moves them to h1, both to h2.
    n = base + (fails_1[pa] - fails_0[pa]) + (fails_1[pb] - fails_0[pb]) + joint - 2 * one + none
    everywhere = int(np.count_nonzero(h2 == EXCLUDED))
    kept = slice(0, STRATA)
    return PairCounts(
        pa, pb, n[:, kept], fail_a[:, kept], fail_b[:, kept], joint[:, kept], everywhere
    )


class _Pmf:
    """Hypergeometric probabilities from one table of log-factorials up to ``top``."""

    def __init__(self, top: int) -> None:
        from scipy.special import gammaln

        self.log_fact = gammaln(np.arange(top + 2, dtype=float) + 1.0)

    def __call__(self, x: IntArray, n: IntArray, k: IntArray, draws: IntArray) -> FloatArray:
        """P(X = x) for X ~ hypergeometric(population n, k marked, draws); 0 outside."""
        lf = self.log_fact
        ok = (x >= 0) & (x <= k) & (draws - x >= 0) & (draws - x <= n - k)
        xs = np.where(ok, x, 0)
        rest = np.where(ok, draws - xs, 0)
        logp = (
            lf[k] - lf[xs] - lf[k - xs]
            + lf[n - k] - lf[rest] - lf[np.maximum(n - k - rest, 0)]
            - lf[n] + lf[draws] + lf[n - draws]
        )  # fmt: skip
        return np.where(ok, np.exp(np.where(ok, logp, 0.0)), 0.0)


WIDTH_GROUPS = (2, 4, 8, 16, 32, 64)
"""Pairs whose summed stratum supports fit these widths are convolved together, vectorized."""


def _convolved_tail(
    pmf_of: _Pmf, k: IntArray, n: IntArray, fa: IntArray, fb: IntArray, width: int
) -> FloatArray:
    """P(sum of stratum overlaps >= k) for pairs whose shifted supports sum to <= ``width``."""
    low = np.maximum(0, fa + fb - n)
    span = (np.minimum(fa, fb) - low).clip(min=0)
    dist = np.zeros((len(k), width + 1))
    dist[:, 0] = 1.0
    for h in range(n.shape[1]):
        top = int(span[:, h].max())
        if top == 0:
            continue  # a point mass at the lower bound: the shift below accounts for it
        steps = low[:, h : h + 1] + np.arange(top + 1)
        col = slice(h, h + 1)
        pmf = pmf_of(steps, n[:, col], fa[:, col], fb[:, col])
        out = np.zeros_like(dist)
        for j in range(top + 1):
            out[:, j:] += dist[:, : width + 1 - j] * pmf[:, j : j + 1]
        dist = out
    target = k - low.sum(axis=1)
    tails = np.cumsum(dist[:, ::-1], axis=1)[:, ::-1]
    tail = tails[np.arange(len(k)), np.clip(target, 0, width)]
    return np.where(target <= 0, 1.0, np.where(target > width, 0.0, tail))


def _one_pair_tail(pmf_of: _Pmf, k: int, n: IntArray, fa: IntArray, fb: IntArray) -> float:
    dist = np.array([1.0])
    shift = 0
    for h in range(len(n)):
        low = max(0, int(fa[h] + fb[h] - n[h]))
        high = int(min(fa[h], fb[h]))
        shift += low
        if high <= low:
            continue
        xs = np.arange(low, high + 1, dtype=np.int64)
        same = np.ones_like(xs)
        dist = np.convolve(dist, pmf_of(xs, same * n[h], same * fa[h], same * fb[h]))
    target = k - shift
    if target <= 0:
        return 1.0
    return float(dist[target:].sum()) if target < len(dist) else 0.0


def stratified_p_values(counts: PairCounts) -> FloatArray:
    """One-sided exact p-value of each pair's joint failures summed over strata."""
    k = counts.joint.sum(axis=1)
    n, fa, fb = counts.n, counts.fail_a, counts.fail_b
    if not len(k):
        return np.ones(0)
    pmf_of = _Pmf(int(n.max()))
    width = (np.minimum(fa, fb) - np.maximum(0, fa + fb - n)).clip(min=0).sum(axis=1)
    p = np.ones(len(k))
    done = np.zeros(len(k), dtype=bool)
    for cap in WIDTH_GROUPS:
        rows = np.flatnonzero(~done & (width <= cap))
        if len(rows):
            p[rows] = _convolved_tail(pmf_of, k[rows], n[rows], fa[rows], fb[rows], cap)
            done[rows] = True
    for i in np.flatnonzero(~done):
        p[i] = _one_pair_tail(pmf_of, int(k[i]), n[i], fa[i], fb[i])
    return np.clip(p, 0.0, 1.0)
