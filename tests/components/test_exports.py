from __future__ import annotations

import outcomes
import outcomes.components


def test_all_names_every_public_attribute() -> None:
    # Its order is ruff's (RUF022: constants, then classes, then functions).
    names = outcomes.components.__all__
    public = {n for n in dir(outcomes.components) if not n.startswith("_") and n != "annotations"}
    assert set(names) == public


def test_the_tracker_is_exported_from_the_top_level_package() -> None:
    assert outcomes.ComponentTracker is outcomes.components.ComponentTracker
    assert "ComponentTracker" in outcomes.__all__
