"""The calibration report's results: per score and per (namespace, source) group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from outcomes.shadow._discrimination import Auc, BrierDecomposition
from outcomes.shadow._recalibration import Recalibration


@dataclass(frozen=True, slots=True)
class ScoreStats:
    """Count, mean, median and a 10-bucket histogram ([0, .1), ..., [.9, 1]) of one score."""

    count: int
    mean: float | None
    median: float | None
    histogram: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "mean": self.mean,
            "median": self.median,
            "histogram": list(self.histogram),
        }


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One equal-count bin: rows, mean score and the observed rate of positive outcomes."""

    count: int
    mean_score: float
    observed_rate: float


@dataclass(frozen=True, slots=True)
class ScoreCalibration:
    """Metrics of one score over the paired labeled rows of a group."""

    brier: float
    log_loss: float
    ece: float
    ece_perfect: float
    """Mean ECE a perfectly calibrated score with these values would show (simulated)."""
    reliability: tuple[ReliabilityBin, ...]
    auc: Auc | None
    """AUC with its DeLong 95% interval; ``None`` when all outcomes are equal."""
    decomposition: BrierDecomposition | None
    """Murphy's reliability / resolution / uncertainty over the reliability bins."""


@dataclass(frozen=True, slots=True)
class CalibrationGroup:
    """The report of one (namespace, source)."""

    namespace: str
    source: str
    count: int
    labeled: int
    paired: int
    missing_caller: int
    caller: ScoreStats
    derived: ScoreStats
    caller_calibration: ScoreCalibration | None
    derived_calibration: ScoreCalibration | None
    brier_diff_mean: float | None
    brier_diff_interval: tuple[float, float] | None
    interval_method: str | None
    recalibration: Recalibration | None
    verdict: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        cals = {"caller": self.caller_calibration, "derived": self.derived_calibration}

        def metric(name: str) -> dict[str, float | None]:
            return {k: (getattr(c, name) if c else None) for k, c in cals.items()}

        return {
            "namespace": self.namespace,
            "source": self.source,
            "count": self.count,
            "labeled": self.labeled,
            "paired": self.paired,
            "missing_caller": self.missing_caller,
            "scores": {"caller": self.caller.as_dict(), "derived": self.derived.as_dict()},
            "brier": metric("brier"),
            "log_loss": metric("log_loss"),
            "ece": metric("ece"),
            "ece_perfect": metric("ece_perfect"),
            "auc": {k: (c.auc.value if c and c.auc else None) for k, c in cals.items()},
            "auc_interval": {
                k: (list(c.auc.interval) if c and c.auc else None) for k, c in cals.items()
            },
            "brier_reliability": {
                k: (c.decomposition.reliability if c and c.decomposition else None)
                for k, c in cals.items()
            },
            "brier_resolution": {
                k: (c.decomposition.resolution if c and c.decomposition else None)
                for k, c in cals.items()
            },
            "brier_uncertainty": next(
                (c.decomposition.uncertainty for c in cals.values() if c and c.decomposition),
                None,
            ),
            "reliability": {
                k: [
                    {"count": b.count, "mean_score": b.mean_score, "observed_rate": b.observed_rate}
                    for b in c.reliability
                ]
                if c
                else []
                for k, c in cals.items()
            },
            "brier_diff_mean": self.brier_diff_mean,
            "brier_diff_interval": list(self.brier_diff_interval)
            if self.brier_diff_interval
            else None,
            "interval_method": self.interval_method,
            "recalibration": self.recalibration.as_dict() if self.recalibration else None,
            "verdict": self.verdict,
            "reason": self.reason,
        }
