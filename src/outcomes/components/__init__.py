"""Component outcomes: installs, usage, removals, deprecations and conflicts.

>>> from outcomes.components import ComponentTracker
>>> with ComponentTracker() as tracker:
...     tracker.record_outcome("plugin-a", "install_failure", session_id="s1")
...     tracker.get_stats("plugin-a").failures
1
"""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from outcomes.components._conflicts import Conflict, ConflictAnalysis
    from outcomes.components._records import ComponentEvent, OutcomeType
    from outcomes.components._report import ComponentReport, ComponentStats, RankingMultiplier
    from outcomes.components._schema import MIGRATIONS
    from outcomes.components._tracker import ComponentTracker
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.components._conflicts": ("Conflict", "ConflictAnalysis"),
            "outcomes.components._records": ("ComponentEvent", "OutcomeType"),
            "outcomes.components._report": (
                "ComponentReport",
                "ComponentStats",
                "RankingMultiplier",
            ),
            "outcomes.components._schema": ("MIGRATIONS",),
            "outcomes.components._tracker": ("ComponentTracker",),
        },
    )

__all__ = [
    "MIGRATIONS",
    "ComponentEvent",
    "ComponentReport",
    "ComponentStats",
    "ComponentTracker",
    "Conflict",
    "ConflictAnalysis",
    "OutcomeType",
    "RankingMultiplier",
]
