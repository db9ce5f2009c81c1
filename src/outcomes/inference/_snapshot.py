"""Published profile snapshots: what a router reads without locks or I/O.

A :class:`ProfileSnapshot` is built from a :class:`ProfileState` in one pass over its
cells, off the routing hot path, and never changes afterwards: a reader keeps the one it
got for as long as it likes while newer ones are published beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from outcomes.inference._profiles import EMA_PRIOR, OutcomeStats, ProfileState
from outcomes.inference._view import ModelProfile

_NONE: Mapping[str, ModelProfile] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    """Every model's profile per task, as of ``taken_at``.

    ``by_task[task][model_id]`` is the model's profile for one task; ``by_task[None]``
    its profile over all tasks. Projects are merged. A model appears under a task only
    when it has data for it, as in :meth:`OutcomeTracker.profiles`. ``taken_at`` is the
    tracker clock's time when the snapshot was built (``-inf`` for the empty snapshot
    published before the first build); ``receipts`` how many receipts were folded into
    it. Exclusions and cooldowns are not in it (they change per call: read them from
    :meth:`OutcomeTracker.rate_limits`). The profiles are shared by every reader of the
    snapshot: read them, do not change them.
    """

    taken_at: float = -math.inf
    receipts: int = 0
    by_task: Mapping[str | None, Mapping[str, ModelProfile]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def profiles(self, task: str | None = None) -> Mapping[str, ModelProfile]:
        """Profiles by model id for ``task`` (``None``: all tasks); empty if none."""
        return self.by_task.get(task, _NONE)

    def profile(self, model_id: str, task: str | None = None) -> ModelProfile | None:
        return self.by_task.get(task, _NONE).get(model_id)

    @property
    def empty(self) -> bool:
        """True before the first build (nothing was published yet)."""
        return self.taken_at == -math.inf


EMPTY_SNAPSHOT = ProfileSnapshot()


def _has_data(st: OutcomeStats) -> bool:
    return bool(st.calls or st.successes or st.failures or st.inconclusive)


def build_snapshot(state: ProfileState, taken_at: float) -> ProfileSnapshot:
    """Profiles of ``state`` per task and over all tasks, equal to what
    :func:`~outcomes.inference.profiles_of` gives for each task, built in one pass over
    the cells instead of one per model and task."""
    own: dict[str, ProfileState] = {}
    merged: dict[str, dict[str, OutcomeStats]] = {}
    aliased: set[tuple[str, str]] = set()
    for (m, t, p), st in state.parts.items():
        mine = own.get(m)
        if mine is None:
            mine = own[m] = ProfileState(half_life=state.half_life)
            merged[m] = {}
        copy = st.copy()
        mine.parts[(m, t, p)] = copy
        by_task = merged[m]
        seen = by_task.get(t)
        if seen is None:
            by_task[t] = copy  # shared with the model's state: neither ever changes
            aliased.add((m, t))
        else:
            if (m, t) in aliased:  # a second project: merge into a cell of its own
                aliased.discard((m, t))
                seen = by_task[t] = seen.copy()
            seen.merge(copy)
    task_ema: dict[str, dict[str, float]] = {}
    for (m, t), v in state.task_ema.items():
        task_ema.setdefault(m, {})[t] = v
        if m in own:
            own[m].task_ema[(m, t)] = v
    out: dict[str | None, dict[str, ModelProfile]] = {None: {}}
    for m in sorted(own):
        if m in state.ema:
            own[m].ema[m] = state.ema[m]
        emas = task_ema.get(m, {})
        by_task = merged[m]
        # Nothing in a snapshot changes, so a profile of one task can share its cell.
        only = next(iter(by_task.values())) if len(by_task) == 1 else None
        whole = ModelProfile(
            m, by_task, ema_quality=state.ema.get(m, EMA_PRIOR), task_ema=emas, state=own[m],
            stats=only,
        )  # fmt: skip
        if _has_data(whole.stats):
            out[None][m] = whole
        for t, st in by_task.items():
            if _has_data(st):
                out.setdefault(t, {})[m] = ModelProfile(
                    m, {t: st}, ema_quality=emas.get(t, EMA_PRIOR), task_ema=emas, task=t,
                    state=own[m], stats=st,
                )  # fmt: skip
    frozen = {t: MappingProxyType(ps) for t, ps in out.items()}
    return ProfileSnapshot(taken_at, state.receipts, MappingProxyType(frozen))
