"""outcomes: learn from what actually happened after an AI application acted."""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

__version__ = "0.1.0"

if _typing.TYPE_CHECKING:
    from outcomes.components import ComponentTracker
    from outcomes.inference import (
        CodeAdoption,
        ConversationSignals,
        InferredOutcome,
        ModelProfile,
        OutcomeTracker,
    )
    from outcomes.records import Call, CodeVerdict, ConversationVerdict, Receipt, Signal, Task
    from outcomes.registry import ModelInfo, ModelRegistry
    from outcomes.routing import Decision, NoModelAvailable, Router, Weights
    from outcomes.shadow import ShadowConfig, ShadowRecorder, calibration_report
    from outcomes.store import BackgroundWriter, Store, open_store
    from outcomes.trajectory import NullTrajectoryBuilder, TrajectoryBuilder, TrajectoryStore
else:
    # Each public name loads its wing on first use: ``import outcomes`` stays free of numpy,
    # scipy and the wings a host application does not touch.
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.components": ("ComponentTracker",),
            "outcomes.inference": (
                "CodeAdoption",
                "ConversationSignals",
                "InferredOutcome",
                "ModelProfile",
                "OutcomeTracker",
            ),
            "outcomes.records": (
                "Call",
                "CodeVerdict",
                "ConversationVerdict",
                "Receipt",
                "Signal",
                "Task",
            ),
            "outcomes.registry": ("ModelInfo", "ModelRegistry"),
            "outcomes.routing": ("Decision", "NoModelAvailable", "Router", "Weights"),
            "outcomes.shadow": ("ShadowConfig", "ShadowRecorder", "calibration_report"),
            "outcomes.store": ("BackgroundWriter", "Store", "open_store"),
            "outcomes.trajectory": (
                "NullTrajectoryBuilder",
                "TrajectoryBuilder",
                "TrajectoryStore",
            ),
        },
    )

__all__ = [
    "BackgroundWriter",
    "Call",
    "CodeAdoption",
    "CodeVerdict",
    "ComponentTracker",
    "ConversationSignals",
    "ConversationVerdict",
    "Decision",
    "InferredOutcome",
    "ModelInfo",
    "ModelProfile",
    "ModelRegistry",
    "NoModelAvailable",
    "NullTrajectoryBuilder",
    "OutcomeTracker",
    "Receipt",
    "Router",
    "ShadowConfig",
    "ShadowRecorder",
    "Signal",
    "Store",
    "Task",
    "TrajectoryBuilder",
    "TrajectoryStore",
    "Weights",
    "__version__",
    "calibration_report",
    "open_store",
]
