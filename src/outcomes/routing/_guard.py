"""The opt-in lock-in guard (``Router.guard_n``, issue 19).

Sharpened Thompson sampling (``Router.sharpen``) counts a cell's outcomes ``sharpen``
times, so a model whose first dozen outcomes fell well below its rate gets a fraction
of a percent of the picks from then on: too few, on a task of about a thousand
decisions, to correct the unlucky start (docs/routing.md, "Why the default locks in on
short streams"). The guard draws such a rarely tried cell from its unsharpened
posterior (its outcomes counted once), which restores plain Thompson sampling's
chance of a second look, and only while that posterior still admits that the model
beats the leader: a model clearly behind on few outcomes is left as it was.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

UPPER_SDS = 2.0
"""The upper bound is the unsharpened posterior's mean plus this many standard
deviations (about its 97.7 % one-sided normal bound): a conventional level, not
chosen on any data."""


def guard(
    alphas: list[float],
    betas: list[float],
    rows: Sequence[tuple[Any, ...]],
    ok: Sequence[int],
    below: float,
) -> None:
    """Unsharpen, in place, the Beta parameters of the healthy (``ok``) cells judged on
    fewer than ``below`` outcomes whose unsharpened mean + ``UPPER_SDS`` standard
    deviations exceeds the largest posterior mean among the healthy cells.

    ``rows`` holds ``(model, note, successes, failures, prior alpha, prior beta)`` per
    pool position (the router's pool rows); ``alphas``/``betas`` the sharpened
    parameters the draw uses. Quality only: the cost and latency terms of the score
    are not looked at.
    """
    if not ok:
        return
    leader = max(alphas[j] / (alphas[j] + betas[j]) for j in ok)
    for j in ok:
        _, _, s, f, a0, b0 = rows[j][:6]
        if s + f >= below:
            continue
        a, b = a0 + s, b0 + f
        n = a + b
        upper = a / n + UPPER_SDS * math.sqrt(a * b / (n * n * (n + 1.0)))
        if upper > leader:
            alphas[j], betas[j] = a, b
