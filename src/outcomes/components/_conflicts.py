"""Which components fail together: raw co-failure counts and tested conflicts.

Events are grouped into sessions: by the caller's ``session_id`` when it gave one, else
by time, a new session starting after a gap of more than ``gap`` seconds (60 by default)
between consecutive events of the session-less stream.

Raw co-failure counts (failing together in >= 2 sessions, the earlier component tracker's
rule, kept for its callers: docs/compat.md) flag popular components that simply fail
often. A *conflict* needs more: >= 3 joint failures, a lift (observed joint failures over
what independence predicts) >= 2, and a one-sided Fisher exact test that survives
Benjamini-Hochberg correction over every pair tested. The pairs tested are all pairs that
failed together in at least one session (a pair that never did has p = 1 and cannot be a
conflict).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from outcomes.components._records import OutcomeType

Row = tuple[str, str, float, str | None]
"""``(component_id, outcome, timestamp, session_id)`` in insertion order."""

DEFAULT_SESSION_GAP = 60.0
DEFAULT_MIN_JOINT = 3
DEFAULT_MIN_LIFT = 2.0
DEFAULT_FDR = 0.05

_FAILURE = OutcomeType.INSTALL_FAILURE.value
_SUCCESS = OutcomeType.INSTALL_SUCCESS.value


def _gap_groups(
    items: list[tuple[float, str, bool]], gap: float
) -> list[tuple[set[str], set[str]]]:
    """Split ``(timestamp, component, failed)`` items at gaps over ``gap`` seconds.

    Each group is ``(components, failed components)``.
    """
    items.sort(key=lambda item: item[0])  # stable: ties keep insertion order
    groups: list[tuple[set[str], set[str]]] = []
    seen: set[str] = set()
    failing: set[str] = set()
    last: float | None = None
    for timestamp, component, failed in items:
        if last is not None and timestamp - last > gap:
            groups.append((seen, failing))
            seen, failing = set(), set()
        seen.add(component)
        if failed:
            failing.add(component)
        last = timestamp
    if seen:
        groups.append((seen, failing))
    return groups


def failure_sessions(rows: Iterable[Row], gap: float = DEFAULT_SESSION_GAP) -> list[set[str]]:
    """The set of failing components of every session with an install failure.

    Session-less failures are split by gaps between consecutive *failures* (not between
    any events), so that co-failure counts match those of the earlier component tracker
    (docs/compat.md).
    """
    by_session: dict[str, set[str]] = {}
    loose: list[tuple[float, str, bool]] = []
    for component, outcome, timestamp, session in rows:
        if outcome != _FAILURE:
            continue
        if session is None:
            loose.append((timestamp, component, True))
        else:
            by_session.setdefault(session, set()).add(component)
    return [*by_session.values(), *(failed for _, failed in _gap_groups(loose, gap))]


def co_failure_pairs(
    rows: Iterable[Row], gap: float = DEFAULT_SESSION_GAP, min_count: int = 2
) -> list[tuple[str, str, int]]:
    """Pairs ``(a, b, sessions)`` with ``a < b`` failing together in >= ``min_count`` sessions.

    Sorted by count (descending), then by name.
    """
    counts: Counter[tuple[str, str]] = Counter()
    for failed in failure_sessions(rows, gap):
        if len(failed) >= 2:
            counts.update(itertools.combinations(sorted(failed), 2))
    pairs = [(a, b, n) for (a, b), n in counts.items() if n >= min_count]
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs


@dataclass(frozen=True, slots=True)
class Session:
    """One install session: how many components it attempted and which of them failed."""

    installs: int
    failed: frozenset[str]

    @classmethod
    def of(cls, failed: Iterable[str] = (), *, installs: int | None = None) -> Session:
        """A session where ``failed`` failed out of ``installs`` attempts (default: only those)."""
        names = frozenset(failed)
        count = len(names) if installs is None else installs
        if count < len(names):
            raise ValueError(f"{len(names)} failures out of {count} installs")
        return cls(count, names)


def install_sessions(rows: Iterable[Row], gap: float = DEFAULT_SESSION_GAP) -> list[Session]:
    """Every session with an install attempt: distinct components attempted, those that failed.

    Session-less install events (successes and failures) are split by gaps between
    consecutive install events, so a session of clean installs counts as a session.
    """
    by_session: dict[str, tuple[set[str], set[str]]] = {}
    loose: list[tuple[float, str, bool]] = []
    for component, outcome, timestamp, session in rows:
        if outcome == _FAILURE:
            failed = True
        elif outcome == _SUCCESS:
            failed = False
        else:
            continue
        if session is None:
            loose.append((timestamp, component, failed))
        else:
            attempted, failing = by_session.setdefault(session, (set(), set()))
            attempted.add(component)
            if failed:
                failing.add(component)
    groups = [*by_session.values(), *_gap_groups(loose, gap)]
    return [Session(len(attempted), frozenset(failing)) for attempted, failing in groups]


@dataclass(frozen=True, slots=True)
class Conflict:
    """A pair of components that fail together more than chance explains.

    Counts are over the sessions kept for the pair (its outage sessions left out):
    ``joint_failures`` sessions where both failed, ``failures_a``/``failures_b`` where
    each failed, ``sessions`` all of them. ``expected_joint`` is what independence
    predicts within the session-failure strata, summed; ``lift`` is ``joint_failures /
    expected_joint``; ``p_value`` the one-sided exact stratified test; ``q_value`` its
    Benjamini-Hochberg adjustment; ``confidence`` is ``min(joint_failures / 5, 1)``.
    """

    component_a: str
    component_b: str
    joint_failures: int
    failures_a: int
    failures_b: int
    sessions: int
    expected_joint: float
    lift: float
    p_value: float
    q_value: float
    confidence: float

    def to_json(self) -> dict[str, Any]:
        return {
            "component_a": self.component_a,
            "component_b": self.component_b,
            "joint_failures": self.joint_failures,
            "failures_a": self.failures_a,
            "failures_b": self.failures_b,
            "sessions": self.sessions,
            "expected_joint": self.expected_joint,
            "lift": self.lift,
            "p_value": self.p_value,
            "q_value": self.q_value,
            "confidence": self.confidence,
        }


@dataclass(frozen=True, slots=True)
class ConflictAnalysis:
    """The result of a conflict scan: what was tested and what survived.

    ``outage_sessions`` counts sessions left out for every pair: even with two of their
    failures set aside, most of their other installs failed.
    """

    sessions: int
    pairs_tested: int
    conflicts: tuple[Conflict, ...]
    min_joint: int
    min_lift: float
    fdr: float
    outage_sessions: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "outage_sessions": self.outage_sessions,
            "pairs_tested": self.pairs_tested,
            "min_joint": self.min_joint,
            "min_lift": self.min_lift,
            "fdr": self.fdr,
            "conflicts": [c.to_json() for c in self.conflicts],
        }


def find_conflicts(
    sessions: Sequence[Session],
    *,
    min_joint: int = DEFAULT_MIN_JOINT,
    min_lift: float = DEFAULT_MIN_LIFT,
    fdr: float = DEFAULT_FDR,
) -> ConflictAnalysis:
    """Test every pair that failed together in a session that is not an outage for it."""
    import numpy as np
    from scipy.stats import false_discovery_control

    from outcomes.components._strata import pair_counts, stratified_p_values

    names = sorted({c for s in sessions for c in s.failed})
    index = {name: i for i, name in enumerate(names)}
    counts = pair_counts(
        [s.installs for s in sessions],
        [[index[c] for c in s.failed] for s in sessions],
        len(names),
    )
    k = counts.joint.sum(axis=1)
    tested = np.flatnonzero(k > 0)
    settings = (min_joint, min_lift, fdr)
    if not len(tested):
        return ConflictAnalysis(len(sessions), 0, (), *settings, counts.outage_sessions)
    p = stratified_p_values(counts)[tested]
    q = false_discovery_control(p, method="bh")
    k = k[tested]
    n = counts.n[tested]
    fa, fb = counts.fail_a[tested], counts.fail_b[tested]
    expected = (fa * fb / np.maximum(n, 1)).sum(axis=1)
    lift = np.divide(k, expected, out=np.full(len(k), np.inf), where=expected > 0)
    keep = np.flatnonzero((k >= min_joint) & (lift >= min_lift) & (q <= fdr))
    first, second = counts.first[tested], counts.second[tested]
    conflicts = [
        Conflict(
            component_a=names[first[i]],
            component_b=names[second[i]],
            joint_failures=int(k[i]),
            failures_a=int(fa[i].sum()),
            failures_b=int(fb[i].sum()),
            sessions=int(n[i].sum()),
            expected_joint=float(expected[i]),
            lift=float(lift[i]),
            p_value=float(p[i]),
            q_value=float(q[i]),
            confidence=min(int(k[i]) / 5.0, 1.0),
        )
        for i in keep
    ]
    conflicts.sort(key=lambda c: (c.q_value, -c.joint_failures, c.component_a, c.component_b))
    return ConflictAnalysis(
        len(sessions), len(tested), tuple(conflicts), *settings, counts.outage_sessions
    )
