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


def _gap_groups(items: list[tuple[float, str]], gap: float) -> list[set[str]]:
    """Split ``(timestamp, component)`` items into groups at gaps over ``gap`` seconds."""
    items.sort(key=lambda item: item[0])  # stable: ties keep insertion order
    groups: list[set[str]] = []
    current: set[str] = set()
    last: float | None = None
    for timestamp, component in items:
        if last is not None and timestamp - last > gap:
            groups.append(current)
            current = set()
        current.add(component)
        last = timestamp
    if current:
        groups.append(current)
    return groups


def failure_sessions(rows: Iterable[Row], gap: float = DEFAULT_SESSION_GAP) -> list[set[str]]:
    """The set of failing components of every session with an install failure.

    Session-less failures are split by gaps between consecutive *failures* (not between
    any events), so that co-failure counts match those of the earlier component tracker
    (docs/compat.md).
    """
    by_session: dict[str, set[str]] = {}
    loose: list[tuple[float, str]] = []
    for component, outcome, timestamp, session in rows:
        if outcome != _FAILURE:
            continue
        if session is None:
            loose.append((timestamp, component))
        else:
            by_session.setdefault(session, set()).add(component)
    return [*by_session.values(), *_gap_groups(loose, gap)]


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


def install_sessions(rows: Iterable[Row], gap: float = DEFAULT_SESSION_GAP) -> list[set[str]]:
    """The failing components of every session with an install attempt (possibly empty).

    Session-less install events (successes and failures) are split by gaps between
    consecutive install events, so a session of clean installs counts as a session.
    """
    by_session: dict[str, set[str]] = {}
    loose: list[tuple[float, str]] = []
    for component, outcome, timestamp, session in rows:
        if outcome == _FAILURE:
            failed = True
        elif outcome == _SUCCESS:
            failed = False
        else:
            continue
        if session is None:
            # Successes are kept as a marker so that they bridge or open sessions.
            loose.append((timestamp, component if failed else ""))
        else:
            entry = by_session.setdefault(session, set())
            if failed:
                entry.add(component)
    out = list(by_session.values())
    for group in _gap_groups(loose, gap):
        group.discard("")
        out.append(group)
    return out


@dataclass(frozen=True, slots=True)
class Conflict:
    """A pair of components that fail together more than chance explains.

    ``joint_failures`` counts sessions where both failed; ``failures_a``/``failures_b``
    sessions where each failed; ``sessions`` all sessions with an install attempt.
    ``lift`` is ``joint * sessions / (failures_a * failures_b)``; ``p_value`` is the
    one-sided Fisher exact test; ``q_value`` its Benjamini-Hochberg adjustment;
    ``confidence`` is ``min(joint_failures / 5, 1)``.
    """

    component_a: str
    component_b: str
    joint_failures: int
    failures_a: int
    failures_b: int
    sessions: int
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
            "lift": self.lift,
            "p_value": self.p_value,
            "q_value": self.q_value,
            "confidence": self.confidence,
        }


@dataclass(frozen=True, slots=True)
class ConflictAnalysis:
    """The result of a conflict scan: what was tested and what survived."""

    sessions: int
    pairs_tested: int
    conflicts: tuple[Conflict, ...]
    min_joint: int
    min_lift: float
    fdr: float

    def to_json(self) -> dict[str, Any]:
        return {
            "sessions": self.sessions,
            "pairs_tested": self.pairs_tested,
            "min_joint": self.min_joint,
            "min_lift": self.min_lift,
            "fdr": self.fdr,
            "conflicts": [c.to_json() for c in self.conflicts],
        }


def find_conflicts(
    sessions: Sequence[set[str]],
    *,
    min_joint: int = DEFAULT_MIN_JOINT,
    min_lift: float = DEFAULT_MIN_LIFT,
    fdr: float = DEFAULT_FDR,
) -> ConflictAnalysis:
    """Test every co-failing pair in ``sessions`` (failing sets, one per session)."""
    import numpy as np
    from scipy.stats import false_discovery_control, hypergeom

    n_sessions = len(sessions)
    failed_in: Counter[str] = Counter()
    joint: Counter[tuple[str, str]] = Counter()
    for failed in sessions:
        failed_in.update(failed)
        if len(failed) >= 2:
            joint.update(itertools.combinations(sorted(failed), 2))
    if not joint:
        return ConflictAnalysis(n_sessions, 0, (), min_joint, min_lift, fdr)

    pairs = list(joint)
    k = np.fromiter(joint.values(), dtype=np.int64, count=len(pairs))
    na = np.fromiter((failed_in[a] for a, _ in pairs), dtype=np.int64, count=len(pairs))
    nb = np.fromiter((failed_in[b] for _, b in pairs), dtype=np.int64, count=len(pairs))
    # One-sided Fisher exact test (more joint failures than expected): the upper tail of
    # the hypergeometric distribution of the overlap given both margins.
    p = np.clip(hypergeom.sf(k - 1, n_sessions, na, nb), 0.0, 1.0)
    q = false_discovery_control(p, method="bh")
    lift = k * n_sessions / (na * nb)
    keep = np.flatnonzero((k >= min_joint) & (lift >= min_lift) & (q <= fdr))
    conflicts = [
        Conflict(
            component_a=pairs[i][0],
            component_b=pairs[i][1],
            joint_failures=int(k[i]),
            failures_a=int(na[i]),
            failures_b=int(nb[i]),
            sessions=n_sessions,
            lift=float(lift[i]),
            p_value=float(p[i]),
            q_value=float(q[i]),
            confidence=min(int(k[i]) / 5.0, 1.0),
        )
        for i in keep
    ]
    conflicts.sort(key=lambda c: (c.q_value, -c.joint_failures, c.component_a, c.component_b))
    return ConflictAnalysis(n_sessions, len(pairs), tuple(conflicts), min_joint, min_lift, fdr)
