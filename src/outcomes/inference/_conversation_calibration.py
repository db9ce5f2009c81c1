"""How sure a rule verdict is: strength mapped to a calibrated confidence.

The rules give a verdict and a *strength* (how far the winning evidence outweighs the
rest). How often a verdict of a given strength is right was measured on follow-ups the
rules were never tuned on (``tests/inference/data/conversation_calib.jsonl``) and fitted
with a logistic curve in the strength (Platt scaling). Platt was chosen over isotonic
regression on five-fold cross-validation on that set (Brier score 0.083 against 0.094:
with about a hundred committed verdicts, two parameters generalise better than free
steps). The curve is capped at :data:`CAP` because a hundred verdicts cannot show a
rate of error below about one in thirty. ``python -m benchmarks.eval_conversation
--fit`` refits the curve and the abstention threshold and prints the cross-validated
reliability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Curve = tuple[float, float]
"""``(slope, intercept)``: confidence = 1 / (1 + exp(-(slope * strength + intercept)))."""

CALIBRATION: Curve = (2.5131, -1.4677)
"""Fitted on the calibration set; see the module docstring."""

ABSTAIN_BELOW = 0.6
"""Confidence under which the rules answer ``inconclusive`` (chosen with the curve)."""

CAP = 0.97
"""The highest confidence the rules ever state."""


def calibrated(strength: float, curve: Curve = CALIBRATION) -> float:
    """The confidence for a verdict read with ``strength`` (0-1, at most :data:`CAP`)."""
    slope, intercept = curve
    z = max(-50.0, min(50.0, slope * strength + intercept))
    return round(min(CAP, 1.0 / (1.0 + math.exp(-z))), 3)


def fit(points: Sequence[tuple[float, bool]], iterations: int = 50) -> Curve:
    """The logistic curve of ``right`` on ``strength`` (maximum likelihood, Newton steps).

    A tiny ridge keeps the steps finite when the points separate perfectly.
    """
    slope, intercept = 1.0, 0.0
    for _ in range(iterations):
        g_s = g_i = h_ss = h_si = h_ii = 0.0
        for strength, right in points:
            z = max(-50.0, min(50.0, slope * strength + intercept))
            p = 1.0 / (1.0 + math.exp(-z))
            w = p * (1.0 - p)
            g_s += (p - right) * strength + 1e-3 * slope
            g_i += p - right
            h_ss += w * strength * strength
            h_si += w * strength
            h_ii += w
        h_ss += 1e-3
        h_ii += 1e-6
        det = h_ss * h_ii - h_si * h_si
        if det <= 0:
            break
        slope -= (h_ii * g_s - h_si * g_i) / det
        intercept -= (h_ss * g_i - h_si * g_s) / det
    return (round(slope, 4), round(intercept, 4))
