"""Routing: choose a model per call from outcomes, and prove it on replayed real data."""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from outcomes.routing._router import Candidate, Decision, NoModelAvailable, Router
    from outcomes.routing._select import POLICIES, ArmView, Selection, Weights, select
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.routing._router": ("Candidate", "Decision", "NoModelAvailable", "Router"),
            "outcomes.routing._select": ("POLICIES", "ArmView", "Selection", "Weights", "select"),
        },
    )

__all__ = [
    "POLICIES",
    "ArmView",
    "Candidate",
    "Decision",
    "NoModelAvailable",
    "Router",
    "Selection",
    "Weights",
    "select",
]
