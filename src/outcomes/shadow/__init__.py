"""Shadow mode: try a derived confidence (or any candidate policy) on live traffic and
switch only when outcomes show it is better.

>>> from outcomes.shadow import ShadowConfig, ShadowRecorder, calibration_report
>>> from outcomes.store import MemoryStore
>>> recorder = ShadowRecorder(MemoryStore(), config=ShadowConfig(enabled=True))
>>> obs_id = recorder.observe("m1", "notes", "user", 0.9, {"source_age_days": 3.0})
>>> recorder.label(obs_id, True)
True
>>> calibration_report(recorder.store)[0].verdict
'insufficient_data'
"""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from outcomes.shadow._config import (
        DEFAULT_RETENTION_DAYS,
        DEFAULT_SAMPLE_RATE,
        ShadowConfig,
        shadow_config,
    )
    from outcomes.shadow._discrimination import Auc, BrierDecomposition
    from outcomes.shadow._offpolicy import OffPolicyEstimate, offpolicy_report
    from outcomes.shadow._recalibration import Recalibration
    from outcomes.shadow._recorder import (
        GcLoop,
        ShadowRecorder,
        gc_observations,
        observations_since,
    )
    from outcomes.shadow._records import (
        ConfidenceSignals,
        RecallOutcome,
        ShadowDecision,
        ShadowObservation,
    )
    from outcomes.shadow._report import MIN_LABELED, calibration_report, report_json
    from outcomes.shadow._results import (
        CalibrationGroup,
        ReliabilityBin,
        ScoreCalibration,
        ScoreStats,
    )
    from outcomes.shadow._schema import MIGRATIONS
    from outcomes.shadow._scorers import Scorer, seed_confidence
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.shadow._config": (
                "DEFAULT_RETENTION_DAYS",
                "DEFAULT_SAMPLE_RATE",
                "ShadowConfig",
                "shadow_config",
            ),
            "outcomes.shadow._offpolicy": ("OffPolicyEstimate", "offpolicy_report"),
            "outcomes.shadow._recorder": (
                "GcLoop",
                "ShadowRecorder",
                "gc_observations",
                "observations_since",
            ),
            "outcomes.shadow._records": (
                "ConfidenceSignals",
                "RecallOutcome",
                "ShadowDecision",
                "ShadowObservation",
            ),
            "outcomes.shadow._discrimination": ("Auc", "BrierDecomposition"),
            "outcomes.shadow._recalibration": ("Recalibration",),
            "outcomes.shadow._report": ("MIN_LABELED", "calibration_report", "report_json"),
            "outcomes.shadow._results": (
                "CalibrationGroup",
                "ReliabilityBin",
                "ScoreCalibration",
                "ScoreStats",
            ),
            "outcomes.shadow._schema": ("MIGRATIONS",),
            "outcomes.shadow._scorers": ("Scorer", "seed_confidence"),
        },
    )

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "DEFAULT_SAMPLE_RATE",
    "MIGRATIONS",
    "MIN_LABELED",
    "Auc",
    "BrierDecomposition",
    "CalibrationGroup",
    "ConfidenceSignals",
    "GcLoop",
    "OffPolicyEstimate",
    "Recalibration",
    "RecallOutcome",
    "ReliabilityBin",
    "ScoreCalibration",
    "ScoreStats",
    "Scorer",
    "ShadowConfig",
    "ShadowDecision",
    "ShadowObservation",
    "ShadowRecorder",
    "calibration_report",
    "gc_observations",
    "observations_since",
    "offpolicy_report",
    "report_json",
    "seed_confidence",
    "shadow_config",
]
