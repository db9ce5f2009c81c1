"""outcomes: learn from what actually happened after an AI application acted."""

from __future__ import annotations

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

__version__ = "0.1.0"

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
