"""Read views of a profile state: :class:`ModelProfile` and the per-task :class:`TaskStats`."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar, cast, overload

from outcomes._record import record
from outcomes.inference._board import (
    DEFAULT_DEGRADE_THRESHOLD,
    LATENCY_QS,
    counts_json,
    profile_json,
)
from outcomes.inference._profiles import DEFAULT_HALF_LIFE_S, EMA_PRIOR, OutcomeStats, ProfileState
from outcomes.stats import BetaPosterior, beta_posterior, wilson_interval

T = TypeVar("T")


@record(frozen=True)
class TaskStats:
    """Per-task numbers, in the shape routers written for the earlier Rust tracker read
    (plus ``inconclusive``; docs/compat.md)."""

    calls: int
    successes: int
    failures: int
    inconclusive: int
    avg_latency_ms: float
    ema_quality: float

    def success_rate(self) -> float:
        """Observed success rate; 0.5 (neutral) when nothing is known yet, so that an unseen
        model is neither preferred nor avoided by callers of the earlier tracker."""
        n = self.successes + self.failures
        return 0.5 if n == 0 else self.successes / n


class _Stat(Generic[T]):
    """A read-only attribute of a :class:`ModelProfile` that is one field of its merged
    :class:`OutcomeStats` (the counts the earlier tracker's callers read by name)."""

    __slots__ = ("_get",)

    def __init__(self, field: str) -> None:
        self._get = operator.attrgetter(field)

    @overload
    def __get__(self, profile: None, owner: type) -> _Stat[T]: ...
    @overload
    def __get__(self, profile: ModelProfile, owner: type | None = None) -> T: ...
    def __get__(self, profile: ModelProfile | None, owner: type | None = None) -> T | _Stat[T]:
        if profile is None:
            return self
        return cast(T, self._get(profile._stats))


class ModelProfile:
    """What is known about one model (optionally for one task and/or one project).

    Built on read from a :class:`ProfileState`; a snapshot (later receipts do not change
    it). Offers the earlier Rust tracker's names (``total_calls``, ``success_count``,
    ``fail_count``, ``ema_quality``, ``success_rate()``, ``should_degrade()``...), which
    existing routers call (docs/compat.md), and the derived views
    a router needs (posterior, interval, decayed quality, latency quantiles, cost).
    ``stats``, when given, is ``by_task`` already merged (for callers whose cells never
    change afterwards, such as a published snapshot); otherwise it is computed.
    """

    __slots__ = (
        "_by_task", "_stats", "cooldown_until", "ema_quality", "excluded",
        "model_id", "project_id", "state", "task", "task_ema",
    )  # fmt: skip

    def __init__(
        self,
        model_id: str,
        by_task: Mapping[str, OutcomeStats],
        *,
        ema_quality: float = EMA_PRIOR,
        task_ema: Mapping[str, float] | None = None,
        task: str | None = None,
        project_id: str | None = None,
        excluded: bool = False,
        cooldown_until: float | None = None,
        state: ProfileState | None = None,
        stats: OutcomeStats | None = None,
    ) -> None:
        self.model_id = model_id
        self.task = task
        self.project_id = project_id
        self._by_task = dict(by_task)
        if stats is None:
            cells = iter(self._by_task.values())
            stats = next(cells, OutcomeStats()).copy()
            for st in cells:
                stats.merge(st)
        self._stats = stats
        self.ema_quality = ema_quality
        self.task_ema = dict(task_ema or {})
        self.excluded = excluded
        self.cooldown_until = cooldown_until
        self.state = state

    @classmethod
    def new(cls, model_id: str) -> ModelProfile:
        """An empty profile (``ModelProfile::new`` of the earlier Rust tracker)."""
        return cls(model_id, {})

    @classmethod
    def from_state(
        cls,
        state: ProfileState,
        model_id: str,
        *,
        task: str | None = None,
        project_id: str | None = None,
        excluded: bool = False,
        cooldown_until: float | None = None,
    ) -> ModelProfile:
        by_task = state.cells(model_id, task, project_id)
        task_ema = {t: v for (m, t), v in state.task_ema.items() if m == model_id}
        ema = state.ema.get(model_id, EMA_PRIOR)
        if task is not None:
            ema = task_ema.get(task, EMA_PRIOR)
        own = ProfileState(half_life=state.half_life)
        own.replace_model(model_id, state)
        return cls(
            model_id, by_task, ema_quality=ema, task_ema=task_ema, task=task,
            project_id=project_id, excluded=excluded, cooldown_until=cooldown_until, state=own,
        )  # fmt: skip

    def to_state(self, half_life: float = DEFAULT_HALF_LIFE_S) -> ProfileState:
        """This model as a one-model :class:`ProfileState`: the state it was read from,
        or, for a profile built by hand (:meth:`new`), its per-task cells and quality
        averages (``half_life`` then sets the state's)."""
        if self.state is not None:
            return self.state
        state = ProfileState(half_life=half_life)
        for task, st in self._by_task.items():
            state.parts[(self.model_id, task, self.project_id)] = st.copy()
        # The average is kept even without cells: it is what makes an imported empty
        # profile known, so that profile(model_id) finds it after import_profiles.
        state.ema[self.model_id] = self.ema_quality
        for task, value in self.task_ema.items():
            state.task_ema[(self.model_id, task)] = value
        return state

    # -- counts --------------------------------------------------------------------
    @property
    def stats(self) -> OutcomeStats:
        return self._stats

    calls = _Stat[int]("calls")
    successes = _Stat[int]("successes")
    failures = _Stat[int]("failures")
    inconclusive = _Stat[int]("inconclusive")
    input_tokens = _Stat[int]("input_tokens")
    output_tokens = _Stat[int]("output_tokens")
    total_latency_ms = _Stat[float]("latency_ms_total")
    updated_at = _Stat[float]("last_at")

    def decayed_counts(self, now: float) -> tuple[float, float]:
        """(successes, failures) weighted by age at ``now`` with a quarter of the state's
        half-life (``OUTCOMES_QUALITY_HALF_LIFE``, default 14 days, so 3.5 days;
        ``COUNTS_HALF_LIFE_SHARE``): what the router's forgetting reads. The decayed quality
        keeps the whole half-life."""
        h = self.state.half_life if self.state is not None else DEFAULT_HALF_LIFE_S
        return self._stats.decayed_counts(now, h)

    total_calls = calls
    success_count = successes
    fail_count = failures
    total_input_tokens = input_tokens
    total_output_tokens = output_tokens

    def total_tokens(self) -> int:
        return self._stats.input_tokens + self._stats.output_tokens

    # -- success -------------------------------------------------------------------
    def success_rate(self) -> float:
        """Observed success rate; 0.5 (neutral) when there is no evidence, as callers of the
        earlier tracker expect; :attr:`observed_success_rate` is ``None`` then."""
        rate = self.observed_success_rate
        return 0.5 if rate is None else rate

    @property
    def observed_success_rate(self) -> float | None:
        """successes / (successes + failures); ``None`` without evidence."""
        n = self.successes + self.failures
        return None if n <= 0 else self.successes / n

    @property
    def posterior(self) -> BetaPosterior:
        """Beta posterior of the success probability from a uniform prior."""
        return beta_posterior(max(self.successes, 0), max(self.failures, 0))

    @property
    def success_mean(self) -> float:
        """Posterior mean success probability (0.5 with no evidence)."""
        return self.posterior.mean

    def success_interval(self, level: float = 0.95) -> tuple[float, float] | None:
        """Equal-tailed credible interval of the success probability; ``None`` if no evidence."""
        if self.successes + self.failures <= 0:
            return None
        return self.posterior.interval(level)

    def wilson_interval(self) -> tuple[float, float] | None:
        """Wilson score interval (95%) of the observed success rate; ``None`` if no evidence."""
        return wilson_interval(max(self.successes, 0), max(self.successes + self.failures, 0))

    def should_degrade(self, threshold: int = DEFAULT_DEGRADE_THRESHOLD) -> bool:
        """More failures than successes plus ``threshold``: the earlier tracker's rule,
        which routers' degrade decisions were tuned on (docs/compat.md)."""
        return self.failures > self.successes + threshold

    @property
    def degraded(self) -> bool:
        return self.should_degrade()

    # -- quality -------------------------------------------------------------------
    @property
    def quality(self) -> float | None:
        """Time-decayed mean quality from real signals; ``None`` before any."""
        return self._stats.decayed_quality

    @property
    def quality_mean(self) -> float | None:
        st = self._stats
        return None if st.quality_n <= 0 else st.quality_sum / st.quality_n

    quality_count = _Stat[int]("quality_n")

    def compute_quality_per_1k_tokens(self) -> float:
        """``ema_quality * 1000 / total_tokens`` (0.0 before any token), the earlier
        tracker's definition, so existing cost-quality thresholds keep their meaning."""
        total = self.total_tokens()
        return 0.0 if total == 0 else self.ema_quality * 1000.0 / total

    @property
    def quality_per_1k_tokens(self) -> float:
        return self.compute_quality_per_1k_tokens()

    # -- latency -------------------------------------------------------------------
    def avg_latency_ms(self) -> float:
        """Total latency / calls (0.0 without calls), as the earlier tracker reported it."""
        return 0.0 if self.calls <= 0 else self._stats.latency_ms_total / self.calls

    def latency_quantile_ms(self, q: float) -> float | None:
        value = self._stats.latency.quantile(q)
        return None if value is None else value * 1000.0

    def latency_quantiles_ms(self, qs: Sequence[float]) -> list[float | None]:
        """:meth:`latency_quantile_ms` of each of ``qs``, in one walk over the sketch."""
        return [None if v is None else v * 1000.0 for v in self._stats.latency.quantiles(qs)]

    @property
    def latency_p50_ms(self) -> float | None:
        return self.latency_quantile_ms(0.5)

    @property
    def latency_p95_ms(self) -> float | None:
        return self.latency_quantile_ms(0.95)

    @property
    def latency_p99_ms(self) -> float | None:
        return self.latency_quantile_ms(0.99)

    @property
    def latency_mean_ms(self) -> float | None:
        n = self._stats.latency.n
        return None if n == 0 else self._stats.latency_ms_total / n

    # -- cost ----------------------------------------------------------------------
    @property
    def cost_usd(self) -> float | None:
        """Total known cost; ``None`` when no call had a known cost."""
        return None if self._stats.costed_calls == 0 else self._stats.cost_usd

    @property
    def cost_per_call(self) -> float | None:
        st = self._stats
        return None if st.costed_calls == 0 else st.cost_usd / st.costed_calls

    @property
    def cost_per_success(self) -> float | None:
        """Known cost divided by successes (scaled to the calls with a known cost)."""
        st = self._stats
        if st.costed_calls == 0 or self.successes <= 0:
            return None
        return (st.cost_usd / st.costed_calls) * self.calls / self.successes

    # -- per task ------------------------------------------------------------------
    @property
    def task_stats(self) -> dict[str, TaskStats]:
        return {t: self._task_stats(t, st) for t, st in sorted(self._by_task.items())}

    def task_stats_for(self, task: str) -> TaskStats | None:
        st = self._by_task.get(str(task))
        return None if st is None else self._task_stats(str(task), st)

    def _task_stats(self, task: str, st: OutcomeStats) -> TaskStats:
        avg = 0.0 if st.calls <= 0 else st.latency_ms_total / st.calls
        return TaskStats(
            st.calls, st.successes, st.failures, st.inconclusive, avg,
            self.task_ema.get(task, EMA_PRIOR),
        )  # fmt: skip

    def for_task(self, task: str) -> ModelProfile:
        """This profile restricted to one task."""
        by = {task: self._by_task[task]} if task in self._by_task else {}
        return ModelProfile(
            self.model_id, by, ema_quality=self.task_ema.get(task, EMA_PRIOR),
            task_ema=self.task_ema, task=task, project_id=self.project_id,
            excluded=self.excluded, cooldown_until=self.cooldown_until, state=self.state,
        )  # fmt: skip

    @property
    def tasks(self) -> list[str]:
        return sorted(self._by_task)

    def counts_json(self) -> dict[str, Any]:
        """The calls and their outcomes, with the observed success rate: the part of
        :meth:`to_json` every view of a profile shows (the dashboard's rows too)."""
        return counts_json(self._stats)

    def to_json(self) -> dict[str, Any]:
        """The ``outcomes models --json`` object for this profile (see
        :func:`~outcomes.inference._board.profile_json`)."""
        return profile_json(
            self.model_id, self.task, self.project_id, self._stats, quality=self.quality,
            latency_n=self._stats.latency.n, latency_ms=self.latency_quantiles_ms(LATENCY_QS),
            ema_quality=self.ema_quality, excluded=self.excluded,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"ModelProfile({self.model_id!r}, task={self.task!r}, calls={self.calls}, "
            f"successes={self.successes}, failures={self.failures})"
        )


def profiles_of(
    state: ProfileState,
    *,
    task: str | None = None,
    project_id: str | None = None,
    excluded: frozenset[str] | set[str] = frozenset(),
    cooldowns: dict[str, float] | None = None,
) -> list[ModelProfile]:
    """Profiles of ``state`` filtered by task and project (models with any data)."""
    out = []
    for model_id in state.model_ids():
        p = ModelProfile.from_state(
            state, model_id, task=task, project_id=project_id,
            excluded=model_id in excluded,
            cooldown_until=(cooldowns or {}).get(model_id),
        )  # fmt: skip
        if p.calls or p.successes or p.failures or p.inconclusive:
            out.append(p)
    return out


def leaderboard_order(p: ModelProfile) -> tuple[float, float, str]:
    """The leaderboard's sort key: posterior mean success, then quality, then id (the
    CLI, its fast path, the demo and the service list models in this one order)."""
    return (-p.success_mean, -(p.quality if p.quality is not None else 0.0), p.model_id)
