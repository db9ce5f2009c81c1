"""Inference outcomes: record model calls, resolve them with signals, read model profiles.

>>> from outcomes.inference import OutcomeTracker
>>> tracker = OutcomeTracker()
>>> trace = tracker.record_start("gpt-4o-mini", "generate", "default route")
>>> tracker.record_complete(trace, 420.0, 120, 80)
>>> tracker.profile("gpt-4o-mini").successes
1
"""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from outcomes.inference._calls import CallHandle, describe_error, usage_of
    from outcomes.inference._feedback import feedback_outcome
    from outcomes.inference._feedback_schema import prune_feedback
    from outcomes.inference._filter import ProfileFilter, matching_profiles, parse_since
    from outcomes.inference._fold import (
        INFERENCE_KIND,
        ProfileBook,
        from_rollups,
        rebuild,
    )
    from outcomes.inference._ingest import (
        IngestProblem,
        IngestReport,
        apply_event,
        ingest_lines,
        ingest_stream,
    )
    from outcomes.inference._migrations import SIGNAL_MIGRATIONS
    from outcomes.inference._profiles import (
        EMA_ALPHA,
        EMA_PRIOR,
        OutcomeStats,
        ProfileState,
        is_rate_limit,
    )
    from outcomes.inference._signals import InferredOutcome, infer_from_action_sequence, outcome_of
    from outcomes.inference._snapshot import ProfileSnapshot
    from outcomes.inference._timeseries import TimePoint, timeseries
    from outcomes.inference._tracker import OutcomeTracker
    from outcomes.inference._validate import retry_after_from
    from outcomes.inference._view import ModelProfile, TaskStats, profiles_of
    from outcomes.inference.code import CodeAdoption, CodeFinding, CodeSuggestion
    from outcomes.inference.conversation import (
        ConversationSignals,
        FollowUp,
        FollowUpClassifier,
        FollowUpVerdict,
        RuleClassifier,
    )
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.inference._calls": ("CallHandle", "describe_error", "usage_of"),
            "outcomes.inference._fold": (
                "INFERENCE_KIND",
                "ProfileBook",
                "from_rollups",
                "rebuild",
            ),
            "outcomes.inference._feedback": ("feedback_outcome",),
            "outcomes.inference._feedback_schema": ("prune_feedback",),
            "outcomes.inference._filter": ("ProfileFilter", "matching_profiles", "parse_since"),
            "outcomes.inference._ingest": (
                "IngestProblem",
                "IngestReport",
                "apply_event",
                "ingest_lines",
                "ingest_stream",
            ),
            "outcomes.inference._migrations": ("SIGNAL_MIGRATIONS",),
            "outcomes.inference._profiles": (
                "EMA_ALPHA",
                "EMA_PRIOR",
                "OutcomeStats",
                "ProfileState",
                "is_rate_limit",
            ),
            "outcomes.inference._signals": (
                "InferredOutcome",
                "infer_from_action_sequence",
                "outcome_of",
            ),
            "outcomes.inference._snapshot": ("ProfileSnapshot",),
            "outcomes.inference._timeseries": ("TimePoint", "timeseries"),
            "outcomes.inference._tracker": ("OutcomeTracker",),
            "outcomes.inference._validate": ("retry_after_from",),
            "outcomes.inference._view": ("ModelProfile", "TaskStats", "profiles_of"),
            "outcomes.inference.code": ("CodeAdoption", "CodeFinding", "CodeSuggestion"),
            "outcomes.inference.conversation": (
                "ConversationSignals",
                "FollowUp",
                "FollowUpClassifier",
                "FollowUpVerdict",
                "RuleClassifier",
            ),
        },
    )

__all__ = [
    "EMA_ALPHA",
    "EMA_PRIOR",
    "INFERENCE_KIND",
    "SIGNAL_MIGRATIONS",
    "CallHandle",
    "CodeAdoption",
    "CodeFinding",
    "CodeSuggestion",
    "ConversationSignals",
    "FollowUp",
    "FollowUpClassifier",
    "FollowUpVerdict",
    "InferredOutcome",
    "IngestProblem",
    "IngestReport",
    "ModelProfile",
    "OutcomeStats",
    "OutcomeTracker",
    "ProfileBook",
    "ProfileFilter",
    "ProfileSnapshot",
    "ProfileState",
    "RuleClassifier",
    "TaskStats",
    "TimePoint",
    "apply_event",
    "describe_error",
    "feedback_outcome",
    "from_rollups",
    "infer_from_action_sequence",
    "ingest_lines",
    "ingest_stream",
    "is_rate_limit",
    "matching_profiles",
    "outcome_of",
    "parse_since",
    "profiles_of",
    "prune_feedback",
    "rebuild",
    "retry_after_from",
    "timeseries",
    "usage_of",
]
