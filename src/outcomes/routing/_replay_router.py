"""The product in the replay: a live :class:`Router` fed by statistics of replayed outcomes.

:class:`ReplayProfiles` keeps, per (task, model) cell and per model over all tasks, what
the tracker's profiles keep (success and failure counts, age-weighted counts, mean cost
per call) for the outcomes a replay observed; its clock advances one unit per decision,
so a half-life is counted in decisions of the whole stream, as the live router's is in
seconds of wall time. :class:`RouterPolicy` asks a real ``Router`` (filter, score,
select, circuit breaker) for each pick; nothing of the router is reimplemented here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing._matrix import Row
from outcomes.routing._policies import ReplayPolicy
from outcomes.routing._router import Router
from outcomes.routing._select import Policy, Weights

TOKENS_IN, TOKENS_OUT = 1000, 500
"""The token counts the router prices a call at (its defaults); a model's list price per
call is spread over them so that ``ModelInfo.cost`` gives it back."""


class StepClock:
    """Time in decisions: advanced by the replay, read by the router and the profiles."""

    __slots__ = ("t",)

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t


class Cell:
    """One profile: what the router reads of a (task, model) cell (or of a model over
    all tasks). Age-weighted counts decay with the clock, like the tracker's."""

    __slots__ = ("_at", "_f", "_s", "calls", "cost_sum", "failures", "half_life", "successes")

    latency_p95_ms = None
    """The replay has no latency per cell (scored with latency weight 0)."""

    def __init__(self, half_life: float) -> None:
        self.half_life = half_life
        self.successes = 0.0
        self.failures = 0.0
        self.calls = 0
        self.cost_sum = 0.0
        self._s = 0.0
        self._f = 0.0
        self._at = 0.0

    @property
    def cost_per_call(self) -> float | None:
        return self.cost_sum / self.calls if self.calls else None

    def decayed_counts(self, now: float) -> tuple[float, float]:
        k = 0.5 ** ((now - self._at) / self.half_life) if now > self._at else 1.0
        return self._s * k, self._f * k

    def add(self, quality: float, cost: float | None, now: float, weight: float = 1.0) -> None:
        """Book ``weight`` outcomes of ``quality`` at ``now`` (fractional quality counts
        as that share of a success); ``cost`` ``None`` for history without a call."""
        s, f = self.decayed_counts(now)
        self._s = s + weight * quality
        self._f = f + weight * (1.0 - quality)
        self._at = now
        self.successes += weight * quality
        self.failures += weight * (1.0 - quality)
        if cost is not None:
            self.calls += 1
            self.cost_sum += cost

    def add_calls(self, calls: int, cost_sum: float) -> None:
        """Book the cost of ``calls`` past calls (history) without outcomes."""
        self.calls += calls
        self.cost_sum += cost_sum


@dataclass(frozen=True, slots=True)
class _Snapshot:
    by_task: Mapping[str | None, Mapping[str, Cell]]


class ReplayProfiles:
    """A :class:`~outcomes.routing._source.ProfileSource` built from replayed outcomes."""

    def __init__(self, models: Sequence[str], half_life: float) -> None:
        self.models = tuple(models)
        self.half_life = half_life
        self.clock = StepClock()
        self._by_task: dict[str | None, dict[str, Cell]] = {None: {}}
        self._snap = _Snapshot(dict(self._by_task))

    def snapshot(self, view: Literal["shared", "local"] = "shared") -> _Snapshot:
        return self._snap

    def _cells(self, task: str, model: str) -> tuple[Cell, Cell]:
        cells = self._by_task.setdefault(task, {})
        cell = cells.get(model)
        if cell is None:
            cell = cells[model] = Cell(self.half_life)
        total = self._by_task[None].get(model)
        if total is None:
            total = self._by_task[None][model] = Cell(self.half_life)
        return cell, total

    def observe(self, task: str, model: str, quality: float, cost: float) -> None:
        """One call's outcome, at the current time; publishes a new snapshot."""
        now = self.clock.t
        for c in self._cells(task, model):
            c.add(quality, cost, now)
        self._snap = _Snapshot(dict(self._by_task))

    def history(
        self,
        task: str,
        model: str,
        successes: float,
        failures: float,
        calls: int = 0,
        cost_sum: float = 0.0,
    ) -> None:
        """Outcomes known before the stream starts (offline data imported at time 0),
        and the cost of the ``calls`` they came from (``cost_sum`` USD in all)."""
        n = successes + failures
        if n <= 0 and calls <= 0:
            return
        for c in self._cells(task, model):
            if n > 0:
                c.add(successes / n, None, self.clock.t, n)
            if calls > 0:
                c.add_calls(calls, cost_sum)
        self._snap = _Snapshot(dict(self._by_task))


def price_registry(models: Sequence[str], prices: Sequence[float]) -> ModelRegistry:
    """A registry whose list price per call of each model is ``prices`` (at the router's
    default token counts), with no prior: the router starts cold."""
    reg = ModelRegistry()
    per_m = 1_000_000.0 / (TOKENS_IN + TOKENS_OUT)
    for m, p in zip(models, prices, strict=True):
        reg.add(ModelInfo(m, "replay", float(p) * per_m, float(p) * per_m))
    return reg


class RouterPolicy(ReplayPolicy):
    """A replay policy that is the live :class:`Router` (see the module docstring).

    ``half_life`` is in decisions of the whole stream; ``prior_cap`` caps the offline
    history per (task, model) learned from the train split (0: cold). ``breaker`` feeds
    API errors to the router's circuit breaker, whose seconds are decisions here.
    """

    DEFAULT: tuple[float | None, float, float, float, float | None] = (
        1_000.0, 200.0, 5.0, 2.0, 3.0,
    )  # fmt: skip
    """(half-life in decisions, min_evidence, share_cap, sharpen, change_z) the replay
    runs: the floor, sharing and sharpening chosen by leave-one-matrix-out
    cross-validation over the development family (``python -m
    benchmarks.eval_router_family --grid``), forgetting only on evidence of change
    (``change_z`` 3, half-life 1,000) by the rule fixed before the 20-seed leave-one-out
    of ``--grid adopt`` (docs/routing.md)."""

    def __init__(
        self,
        name: str,
        models: Sequence[str],
        prices: Sequence[float],
        *,
        weights: Weights,
        seed: int = 0,
        policy: Policy = "thompson",
        half_life: float | None = None,
        share: float = 5.0,
        min_evidence: float = 200.0,
        sharpen: float = 2.0,
        change_z: float | None = None,
        guard_n: float | None = None,
        prior_cap: float = 0.0,
        degrade_threshold: int = 5,
        breaker: bool = True,
        epsilon: float = 0.1,
    ) -> None:
        super().__init__(models, prices)
        self.name = name
        self.prior_cap = prior_cap
        self.breaker = breaker
        self.source = ReplayProfiles(models, half_life or math.inf)
        self.index = {m: i for i, m in enumerate(models)}
        self.router = Router(
            registry=price_registry(models, prices),
            policy=policy,
            weights=weights,
            prior_strength=0.0,
            share_cap=share,
            degrade_threshold=degrade_threshold,
            forget=half_life is not None,
            min_evidence=min_evidence,
            sharpen=sharpen,
            change_z=change_z,
            guard_n=guard_n,
            epsilon=epsilon,
            seed=seed,
            clock=self.source.clock,
            refresh_s=0.0,
            profiles=self.source,
        )

    def warm_start(self, rows: Sequence[Row]) -> None:
        """Import ``rows`` (every model's outcome and cost on each) as history: per
        (task, model), the outcomes (at most ``prior_cap`` of them, at their rate) and
        the mean cost per call, as a tracker that imported the calls would hold them."""
        if self.prior_cap <= 0 or not rows:
            return
        acc: dict[str, tuple[list[int], np.ndarray]] = {}
        for r in rows:
            count, a = acc.setdefault(r.task, ([0], np.zeros((3, len(self.models)))))
            q = np.asarray(r.quality)
            count[0] += 1
            a[0] += q
            a[1] += 1.0 - q
            a[2] += r.cost
        for task, (count, a) in sorted(acc.items()):
            scale = min(1.0, self.prior_cap / count[0])
            for k, m in enumerate(self.models):
                self.source.history(
                    task,
                    m,
                    float(a[0, k] * scale),
                    float(a[1, k] * scale),
                    count[0],
                    float(a[2, k]),
                )

    def choose(self, row: Row) -> tuple[int, float]:
        avail = row.available
        d = self.router.decide(
            row.task,
            candidates=None
            if avail is None
            else [m for m, ok in zip(self.models, avail, strict=True) if ok],
        )
        assert d.model_id is not None
        return self.index[d.model_id], math.nan

    def update(
        self,
        row: Row,
        model: int,
        quality: float,
        cost: float,
        latency: float,
        *,
        error: bool = False,
    ) -> None:
        # A failed call is a failure in the profiles too (the tracker books it so).
        self.source.observe(row.task, self.models[model], quality, cost)
        if self.breaker:
            self.router.report(self.models[model], not error)
        self.source.clock.t += 1.0

    def describe(self) -> dict[str, Any]:
        r = self.router
        return {
            "half_life": self.source.half_life,
            "share_cap": r.share_cap,
            "min_evidence": r.min_evidence,
            "sharpen": r.sharpen,
            "change_z": r.change_z,
            "guard_n": r.guard_n,
            "policy": r.policy,
            "prior_cap": self.prior_cap,
            "degrade_threshold": r.degrade_threshold,
        }
