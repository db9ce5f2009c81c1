"""A simulated population of install sessions, for the demo, the benchmark and the tests.

Each session installs every component with its own probability; an installed component
fails independently with its own probability, except that both members of a planted
conflict fail (with ``conflict_fail_prob``) when installed in the same session. Installed
components may then be used or removed; deprecations happen at a given session.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from outcomes._ids import derived_id
from outcomes.components._records import ComponentEvent, OutcomeType

SESSION_SPACING = 600.0
"""Seconds between session starts: far above the 60 s gap, so inferred sessions match."""


@dataclass(frozen=True, slots=True)
class SimComponent:
    """How a simulated component behaves."""

    component_id: str
    install_prob: float
    fail_prob: float
    use_prob: float = 0.5
    remove_prob: float = 0.005
    deprecated_after: int | None = None
    """Session index after which the component is deprecated (``None``: never)."""


def simulate(
    components: Sequence[SimComponent],
    sessions: int,
    *,
    rng: random.Random,
    conflicts: Sequence[tuple[str, str]] = (),
    conflict_fail_prob: float = 0.9,
    start: float = 1_700_000_000.0,
    with_session_ids: bool = True,
    id_prefix: str = "sim",
) -> list[ComponentEvent]:
    """Events of ``sessions`` simulated install sessions, in time order.

    Event ids derive from ``id_prefix`` and the event's position, so re-running the same
    simulation into the same store adds nothing.
    """
    partners: dict[str, set[str]] = {}
    for a, b in conflicts:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    events: list[ComponentEvent] = []

    def emit(cid: str, outcome: OutcomeType, at: float, session: str | None, ctx: str) -> None:
        eid = derived_id(id_prefix, str(len(events)))
        events.append(ComponentEvent(eid, cid, outcome.value, at, session, ctx))

    for s in range(sessions):
        at = start + s * SESSION_SPACING
        sid = f"{id_prefix}-session-{s}" if with_session_ids else None
        installed = [c for c in components if rng.random() < c.install_prob]
        names = {c.component_id for c in installed}
        for comp in installed:
            at += rng.uniform(0.5, 5.0)
            clash = partners.get(comp.component_id, set()) & names
            fail_prob = conflict_fail_prob if clash else comp.fail_prob
            if rng.random() < fail_prob:
                reason = f"conflicts with {min(clash)}" if clash else "post-install hook failed"
                emit(comp.component_id, OutcomeType.INSTALL_FAILURE, at, sid, reason)
                continue
            emit(comp.component_id, OutcomeType.INSTALL_SUCCESS, at, sid, "")
            if rng.random() < comp.use_prob:
                emit(comp.component_id, OutcomeType.USED_IN_SESSION, at + 1.0, sid, "")
            if rng.random() < comp.remove_prob:
                emit(comp.component_id, OutcomeType.REMOVED_BY_USER, at + 2.0, sid, "")
        for comp in components:
            if comp.deprecated_after == s:
                emit(comp.component_id, OutcomeType.DEPRECATED, at + 3.0, sid, "upstream archived")
    return events
