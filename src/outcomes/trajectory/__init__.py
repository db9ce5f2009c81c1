"""Decision trajectories: the ordered trail of one pipeline run, with a stable wire contract.

>>> from outcomes.trajectory import ChunksRetrieved, SelfCheck, TrajectoryBuilder
>>> b = TrajectoryBuilder()
>>> b.push(ChunksRetrieved(count=2, symbols=["foo"], similarity_scores=[0.91]))
>>> b.push(SelfCheck(keep_count=3, drop_count=1, avg_confidence=0.82))
>>> b.to_json_text(seed_shape=True)
'[{"kind":"chunks_retrieved","count":2,"symbols":["foo"],"similarity_scores":[0.91]},{"kind":"self_check","keep_count":3,"drop_count":1,"avg_confidence":0.82}]'
"""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from outcomes.trajectory._builder import NullTrajectoryBuilder, TrajectoryBuilder
    from outcomes.trajectory._fields import F32, U32, USIZE, StrType
    from outcomes.trajectory._jsonschema import SCHEMA_VERSION, trajectory_schema
    from outcomes.trajectory._outbox import DeliveryReport, Response, TrajectoryOutbox
    from outcomes.trajectory._records import OutboxEntry, TrajectoryRun
    from outcomes.trajectory._schema import MIGRATIONS
    from outcomes.trajectory._steps import (
        AnnRecall,
        AnyStep,
        ChunksRetrieved,
        FinalDecision,
        HybridFusion,
        LlmCall,
        McpResponseSize,
        PastVerdictsRecalled,
        RecalledVerdict,
        RetrievalFilter,
        RuleHitByOrigin,
        RulesApplied,
        RuleSource,
        SelfCheck,
        SignatureConfidenceAdjust,
        Step,
        UnknownStep,
    )
    from outcomes.trajectory._store import Precision, TrajectoryStore, Verdict
    from outcomes.trajectory._wire import (
        DEFAULT_REGISTRY,
        MAX_STEPS,
        StepRegistry,
        dumps_steps,
        loads_steps,
        register_step_kind,
        steps_from_wire,
        steps_to_wire,
    )
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.trajectory._builder": ("NullTrajectoryBuilder", "TrajectoryBuilder"),
            "outcomes.trajectory._fields": ("F32", "U32", "USIZE", "StrType"),
            "outcomes.trajectory._jsonschema": ("SCHEMA_VERSION", "trajectory_schema"),
            "outcomes.trajectory._outbox": ("DeliveryReport", "Response", "TrajectoryOutbox"),
            "outcomes.trajectory._records": ("OutboxEntry", "TrajectoryRun"),
            "outcomes.trajectory._schema": ("MIGRATIONS",),
            "outcomes.trajectory._steps": (
                "AnnRecall",
                "AnyStep",
                "ChunksRetrieved",
                "FinalDecision",
                "HybridFusion",
                "LlmCall",
                "McpResponseSize",
                "PastVerdictsRecalled",
                "RecalledVerdict",
                "RetrievalFilter",
                "RuleHitByOrigin",
                "RulesApplied",
                "RuleSource",
                "SelfCheck",
                "SignatureConfidenceAdjust",
                "Step",
                "UnknownStep",
            ),
            "outcomes.trajectory._store": ("Precision", "TrajectoryStore", "Verdict"),
            "outcomes.trajectory._wire": (
                "DEFAULT_REGISTRY",
                "MAX_STEPS",
                "StepRegistry",
                "dumps_steps",
                "loads_steps",
                "register_step_kind",
                "steps_from_wire",
                "steps_to_wire",
            ),
        },
    )

__all__ = [
    "DEFAULT_REGISTRY",
    "F32",
    "MAX_STEPS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "U32",
    "USIZE",
    "AnnRecall",
    "AnyStep",
    "ChunksRetrieved",
    "DeliveryReport",
    "FinalDecision",
    "HybridFusion",
    "LlmCall",
    "McpResponseSize",
    "NullTrajectoryBuilder",
    "OutboxEntry",
    "PastVerdictsRecalled",
    "Precision",
    "RecalledVerdict",
    "Response",
    "RetrievalFilter",
    "RuleHitByOrigin",
    "RuleSource",
    "RulesApplied",
    "SelfCheck",
    "SignatureConfidenceAdjust",
    "Step",
    "StepRegistry",
    "StrType",
    "TrajectoryBuilder",
    "TrajectoryOutbox",
    "TrajectoryRun",
    "TrajectoryStore",
    "UnknownStep",
    "Verdict",
    "dumps_steps",
    "loads_steps",
    "register_step_kind",
    "steps_from_wire",
    "steps_to_wire",
    "trajectory_schema",
]
