"""Routing: choose a model per call from outcomes, and prove it on replayed real data."""

from __future__ import annotations

from outcomes.routing._router import Candidate, Decision, NoModelAvailable, Router
from outcomes.routing._select import POLICIES, ArmView, Selection, Weights, select

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
