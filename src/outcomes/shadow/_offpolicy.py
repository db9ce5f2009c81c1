"""Off-policy estimates of a candidate policy run in shadow next to the live one.

For each rewarded decision the importance weight is ``w = candidate_probability /
live_propensity``. The inverse-propensity estimate of the candidate's mean reward is
``IPS = mean(w * r)``; the self-normalized form is ``SNIPS = sum(w * r) / sum(w)``
(bounded by the rewards, lower variance, slightly biased). Intervals are normal 95%
intervals: the standard error of the mean for IPS and the delta method for SNIPS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from outcomes.shadow._queries import DECISION_TOTAL_ROWS
from outcomes.shadow._records import ShadowDecision
from outcomes.shadow._schema import MIGRATIONS
from outcomes.store import Store

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class OffPolicyEstimate:
    """The estimated mean reward of ``candidate`` at decision ``point``.

    ``live_value`` is the observed mean reward of the live policy on the same rows;
    ``agreement`` the share of rows where the candidate chose what the live policy did;
    ``effective_sample_size`` is ``(sum w)^2 / sum w^2`` (small means the estimate rests
    on few rows).
    """

    point: str
    candidate: str
    decisions: int
    rewarded: int
    live_value: float | None
    ips: float | None
    ips_interval: tuple[float, float] | None
    snips: float | None
    snips_interval: tuple[float, float] | None
    agreement: float | None
    effective_sample_size: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "point": self.point,
            "candidate": self.candidate,
            "decisions": self.decisions,
            "rewarded": self.rewarded,
            "live_value": self.live_value,
            "ips": self.ips,
            "ips_interval": list(self.ips_interval) if self.ips_interval else None,
            "snips": self.snips,
            "snips_interval": list(self.snips_interval) if self.snips_interval else None,
            "agreement": self.agreement,
            "effective_sample_size": self.effective_sample_size,
        }


class _Sums:
    __slots__ = ("agree", "decisions", "n", "r", "w", "w2", "w2r", "w2r2", "wr")

    def __init__(self) -> None:
        self.decisions = self.n = 0
        self.agree = self.r = self.w = self.w2 = self.wr = self.w2r = self.w2r2 = 0.0


def offpolicy_report(store: Store, *, point: str | None = None) -> list[OffPolicyEstimate]:
    """Estimate every candidate's mean reward per (point, candidate) from rewarded rows.

    Reads the sums the store keeps with the decisions (``shadow_decision_totals``), one
    row per (point, candidate) whatever the number of decisions."""
    store.migrate(MIGRATIONS)
    sums: dict[tuple[str, str], _Sums] = {}
    for row in store.iter_query(DECISION_TOTAL_ROWS):
        if point is not None and row[0] != point:
            continue
        s = sums[(row[0], row[1])] = _Sums()
        (s.decisions, s.n, s.agree, s.r, s.w, s.w2, s.wr, s.w2r, s.w2r2) = row[2:]
        s.decisions, s.n = int(s.decisions), int(s.n)
    return [_estimate(k, s) for k, s in sorted(sums.items())]


def estimates_of(
    decisions: Iterable[ShadowDecision], *, point: str | None = None
) -> list[OffPolicyEstimate]:
    """The report folded from decision records one by one: the definition the sums the
    store keeps must meet (the tests and ``bench wing_reads`` compare the two)."""
    sums: dict[tuple[str, str], _Sums] = {}
    for d in decisions:
        if point is not None and d.point != point:
            continue
        s = sums.setdefault((d.point, d.candidate), _Sums())
        s.decisions += 1
        if d.reward is None:
            continue
        w, r = d.candidate_probability / d.live_propensity, d.reward
        s.n += 1
        s.agree += 1.0 if d.candidate_choice == d.live_choice else 0.0
        s.r, s.w, s.w2, s.wr = s.r + r, s.w + w, s.w2 + w * w, s.wr + w * r
        s.w2r, s.w2r2 = s.w2r + w * w * r, s.w2r2 + w * w * r * r
    return [_estimate(k, s) for k, s in sorted(sums.items())]


def _estimate(key: tuple[str, str], s: _Sums) -> OffPolicyEstimate:
    n = s.n
    if n == 0:
        return OffPolicyEstimate(key[0], key[1], s.decisions, 0, *([None] * 7))
    ips = s.wr / n
    var_ips = max(0.0, s.w2r2 / n - ips * ips) / max(1, n - 1)
    half = Z95 * math.sqrt(var_ips)
    snips: float | None = None
    snips_interval: tuple[float, float] | None = None
    if s.w * s.w > 0:  # not merely s.w > 0: the square of a tiny weight sum is 0.0
        snips = s.wr / s.w
        # Delta method: Var ~ sum w^2 (r - snips)^2 / (sum w)^2.
        var = max(0.0, s.w2r2 - 2 * snips * s.w2r + snips * snips * s.w2) / (s.w * s.w)
        h = Z95 * math.sqrt(var)
        snips_interval = (snips - h, snips + h)
    return OffPolicyEstimate(
        point=key[0],
        candidate=key[1],
        decisions=s.decisions,
        rewarded=n,
        live_value=s.r / n,
        ips=ips,
        ips_interval=(ips - half, ips + half),
        snips=snips,
        snips_interval=snips_interval,
        agreement=s.agree / n,
        effective_sample_size=(s.w * s.w / s.w2) if s.w2 > 0 else 0.0,
    )
