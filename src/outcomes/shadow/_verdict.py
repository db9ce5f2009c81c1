"""The verdict of a calibration group: keep the caller's score, switch, or recalibrate.

Three candidates compete on Brier score over the labeled rows that have both scores: the
caller's score, the derived score, and the caller's score recalibrated (isotonic,
cross-fitted). Each comparison is a 95% interval of the mean per-row Brier difference.

- ``insufficient_data`` while fewer than ``min_labeled`` rows are paired;
- ``recalibrate`` when the recalibrated caller score beats both raw scores (both of its
  intervals lie below 0): the caller ranks well and only its calibration is off;
- ``switch`` when the derived score beats the caller's (interval below 0) *and* ranks
  outcomes better than chance (its AUC interval lies above 0.5): a score that cannot rank
  wins on Brier only by sitting at the base rate, and is not worth switching to;
- ``keep`` otherwise, with the reason.

Requiring two intervals at once (an intersection-union test) keeps each verdict's error
rate at the level of one interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from outcomes.shadow._discrimination import Auc
from outcomes.shadow._recalibration import Recalibration


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the verdict looks at, for one group."""

    paired: int
    missing_caller: int
    min_labeled: int
    diff_interval: tuple[float, float] | None
    caller_brier: float | None
    derived_brier: float | None
    derived_auc: Auc | None
    recalibration: Recalibration | None


def _span(interval: tuple[float, float]) -> str:
    return f"[{interval[0]:.4f}, {interval[1]:.4f}]"


def verdict(e: Evidence) -> tuple[str, str]:
    """``(verdict, reason)`` for one group (see the module docstring)."""
    if e.paired < e.min_labeled or e.diff_interval is None:
        why = f"{e.paired} labeled rows with both scores; at least {e.min_labeled} are needed"
        if e.missing_caller:
            why += f" ({e.missing_caller} rows have no caller confidence)"
        return "insufficient_data", why
    low, high = e.diff_interval
    r = e.recalibration
    if r is not None and r.vs_caller_interval[1] < 0 and r.vs_derived_interval[1] < 0:
        return "recalibrate", (
            f"the caller's score through an isotonic calibration fitted on the labels "
            f"(cross-fitted, {r.folds} folds) has the lowest Brier, {r.brier:.4f} against "
            f"{e.caller_brier:.4f} (caller) and {e.derived_brier:.4f} (derived): 95% "
            f"intervals of the differences {_span(r.vs_caller_interval)} and "
            f"{_span(r.vs_derived_interval)} are below 0"
        )
    if high < 0:
        a = e.derived_auc
        if a is not None and a.ranks:
            return "switch", (
                f"derived Brier is lower: 95% interval of the difference [{low:.4f}, "
                f"{high:.4f}] is below 0"
            )
        ranking = "cannot be measured (one outcome only)"
        if a is not None:
            ranking = f"AUC {a.value:.3f}, 95% interval {_span(a.interval)} reaches 0.5"
        return "keep", (
            f"derived Brier is lower (95% interval [{low:.4f}, {high:.4f}] below 0) but the "
            f"derived score does not rank outcomes ({ranking}): its edge is the base rate"
        )
    if low > 0:
        return "keep", (
            f"derived Brier is higher: 95% interval of the difference [{low:.4f}, {high:.4f}] "
            "is above 0"
        )
    return "keep", (
        f"no evidence that derived is better: 95% interval [{low:.4f}, {high:.4f}] contains 0"
    )
