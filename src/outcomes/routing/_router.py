"""The live router: filter, score, select, explain; wired to the tracker's profiles."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._redact import cap
from outcomes.errors import OutcomesError
from outcomes.inference import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing._select import Policy, Weights, select_lists

MAX_REASON_CHARS = 120


class NoModelAvailable(OutcomesError, RuntimeError):
    """Every candidate was filtered out; ``decision.candidates`` says why for each."""

    def __init__(self, message: str, decision: Decision) -> None:
        super().__init__(message)
        self.decision = decision


@dataclass(frozen=True, slots=True)
class Candidate:
    """One model in a decision: its score parts, or why it was filtered out."""

    model_id: str
    filtered: str | None = None
    """Why the model was not eligible (``None`` when it was scored)."""
    successes: float = 0.0
    failures: float = 0.0
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    quality: float | None = None
    cost_penalty: float | None = None
    latency_penalty: float | None = None
    score: float | None = None
    expected_cost_usd: float | None = None
    p95_latency_ms: float | None = None


@dataclass(frozen=True)
class Decision:
    """What the router chose and why."""

    task: str
    model_id: str | None
    policy: str
    propensity: float
    """Probability with which this policy picks ``model_id`` in this state (log it)."""
    fallbacks: tuple[str, ...]
    """Other eligible models, best first, for retries."""
    reason: str
    """A bounded routing reason for the tracker (never prompt text)."""
    degraded_fallback: bool = False
    """True when only degraded models were left and the best of them was used."""
    _rows: tuple[tuple[Any, ...], ...] = field(default=(), repr=False)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Every candidate: the scored ones (best pick first in the list order of the
        registry), then the filtered ones with their reasons."""
        return tuple(Candidate(*row) for row in self._rows)

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "model_id": self.model_id,
            "policy": self.policy,
            "propensity": self.propensity,
            "fallbacks": list(self.fallbacks),
            "reason": self.reason,
            "degraded_fallback": self.degraded_fallback,
            "candidates": [
                {k: getattr(c, k) for k in Candidate.__dataclass_fields__} for c in self.candidates
            ],
        }


@dataclass
class _Breaker:
    failures: int = 0
    until: float = 0.0
    backoff: float = 0.0


@dataclass
class Router:
    """Pick a model per call from outcomes.

    ``tracker`` supplies per-model, per-task profiles (success counts, latency, cost) and
    rate-limit exclusions and cooldowns; ``registry`` the candidates, their prices,
    context windows, tasks and optional priors. ``prior_strength`` is the pseudo-count of a
    registry prior (capped at ``max_prior``); other tasks of the same model lend at most
    ``share_cap`` pseudo-counts to a task with little data (cold start).
    """

    registry: ModelRegistry = field(default_factory=ModelRegistry.load)
    tracker: OutcomeTracker | None = None
    policy: Policy = "thompson"
    weights: Weights = field(default_factory=Weights)
    prior_strength: float = 10.0
    max_prior: float = 50.0
    share_cap: float = 5.0
    degrade_threshold: int = 5
    epsilon: float = 0.1
    seed: int | None = None
    clock: Clock = SYSTEM_CLOCK
    breaker_failures: int = 3
    breaker_base_s: float = 30.0
    breaker_max_s: float = 600.0
    refresh_s: float = 1.0
    """Profiles are re-read at most this often (a decision's statistics are never older
    than this); 0 re-reads on every decision."""
    view: Literal["shared", "local"] = "shared"
    """``shared``: profiles as stored, so every process sharing the store routes on the
    same evidence (a fold of new receipts per refresh); ``local``: this process's tracker
    state only (cheapest; what a single process has seen and loaded)."""
    _rng: np.random.Generator = field(init=False, repr=False)
    _pyrng: random.Random = field(init=False, repr=False)
    _breakers: dict[str, _Breaker] = field(init=False, repr=False, default_factory=dict)
    _snapshot: dict[str | None, dict[str, Any]] = field(
        init=False, repr=False, default_factory=dict
    )
    _snapshot_at: float = field(init=False, repr=False, default=-math.inf)
    _static_cache: dict[tuple[str, int, int], dict[str, Any]] = field(
        init=False, repr=False, default_factory=dict
    )
    _ids_cache: list[str] | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._pyrng = random.Random(self.seed)
        if self.prior_strength < 0 or self.max_prior < 0 or self.share_cap < 0:
            raise ValueError("prior_strength, max_prior and share_cap must be >= 0")

    # -- outage handling -------------------------------------------------------------
    def report(self, model_id: str, ok: bool) -> None:
        """Feed a call's result to the circuit breaker (``call()`` does this for you).

        After ``breaker_failures`` failures in a row a model cools down for
        ``breaker_base_s``, doubling on each further trip up to ``breaker_max_s``: during
        an outage each request pays at most one failed attempt on that model, not several.
        A new cooldown never shortens a running one.
        """
        b = self._breakers.setdefault(model_id, _Breaker())
        if ok:
            b.failures = 0
            b.backoff = 0.0
            return
        b.failures += 1
        if b.failures >= self.breaker_failures:
            b.backoff = min(self.breaker_max_s, b.backoff * 2 if b.backoff else self.breaker_base_s)
            b.until = max(b.until, self.clock.now() + b.backoff)
            b.failures = 0

    def cooldown_until(self, model_id: str) -> float | None:
        """The later of the breaker's and the tracker's (Retry-After) cooldowns."""
        now = self.clock.now()
        b = self._breakers.get(model_id)
        until = b.until if b is not None and b.until > now else None
        if self.tracker is not None:
            t = self.tracker.cooldown_until(model_id)
            if t is not None and (until is None or t > until):
                until = t
        return until

    # -- the decision ----------------------------------------------------------------
    def _profiles(self, task: str | None) -> dict[str, Any]:
        """Profiles as every process sharing the store sees them, refreshed every
        ``refresh_s`` seconds."""
        if self.tracker is None:
            return {}
        now = self.clock.now()
        if now - self._snapshot_at >= self.refresh_s:
            self._snapshot = {}
            self._static_cache = {}
            self._snapshot_at = now
        snap = self._snapshot.get(task)
        if snap is None:
            profiles = (
                self.tracker.shared_profiles(task=task)
                if self.view == "shared"
                else self.tracker.profiles(task=task)
            )
            snap = {p.model_id: p for p in profiles}
            self._snapshot[task] = snap
        return snap

    def _counts(self, model_id: str, task: str) -> tuple[float, float, float, float]:
        """(successes, failures) for the task, and for all tasks of the model."""
        if self.tracker is None:
            return 0.0, 0.0, 0.0, 0.0
        p = self._profiles(task).get(model_id)
        allp = self._profiles(None).get(model_id)
        s = float(p.successes) if p is not None else 0.0
        f = float(p.failures) if p is not None else 0.0
        sa = float(allp.successes) if allp is not None else 0.0
        fa = float(allp.failures) if allp is not None else 0.0
        return s, f, sa, fa

    def _prior(
        self, info: ModelInfo, s: float, f: float, sa: float, fa: float
    ) -> tuple[float, float]:
        a, b = 1.0, 1.0
        if info.prior is not None and self.prior_strength > 0:
            k = min(self.prior_strength, self.max_prior)
            a += info.prior * k
            b += (1.0 - info.prior) * k
        other_s, other_f = max(sa - s, 0.0), max(fa - f, 0.0)
        other = other_s + other_f
        if other > 0 and self.share_cap > 0:
            scale = min(1.0, self.share_cap / other)
            a += other_s * scale
            b += other_f * scale
        return a, b

    def decide(
        self,
        task: str,
        *,
        candidates: Sequence[str] | None = None,
        max_cost_usd: float | None = None,
        max_p95_ms: float | None = None,
        input_tokens: int = 1000,
        output_tokens: int = 500,
    ) -> Decision:
        """Choose a model for ``task``.

        Phase 1 filters on task, context window (``input_tokens + output_tokens``),
        ``max_cost_usd`` per call, ``max_p95_ms``, session exclusion, cooldown and
        degradation, keeping each reason. Phase 2 scores the rest with ``weights``;
        phase 3 selects with ``policy``. If only degraded models are left, the best of
        them is used and the decision says so. Raises :class:`NoModelAvailable` when
        nothing is left.
        """
        ids = list(candidates) if candidates is not None else self._all_ids()
        now = self.clock.now()
        static = self._static(task, input_tokens, output_tokens)
        need = input_tokens + output_tokens
        tracker = self.tracker
        breakers = self._breakers
        arms: list[tuple[str, float, float, float | None, float | None]] = []
        rows: list[tuple[Any, ...]] = []
        deg_arms: list[tuple[str, float, float, float | None, float | None]] = []
        deg_rows: list[tuple[Any, ...]] = []
        filtered: list[tuple[Any, ...]] = []
        for model_id in ids:
            st = static.get(model_id)
            if st is None:
                st = static[model_id] = self._static_one(
                    model_id, task, input_tokens, output_tokens
                )
            info, s, f, a0, b0, cost, p95 = st
            reason = None
            if not info.serves(task):
                reason = f"does not serve task {task!r}"
            elif info.context_window is not None and need > info.context_window:
                reason = f"context window {info.context_window} < {need} tokens"
            elif max_cost_usd is not None and cost is not None and cost > max_cost_usd:
                reason = f"expected cost ${cost:.6f} > max ${max_cost_usd:.6f}"
            elif max_p95_ms is not None and p95 is not None and p95 > max_p95_ms:
                reason = f"p95 latency {p95:.0f} ms > max {max_p95_ms:.0f} ms"
            elif tracker is not None and tracker.is_excluded(model_id):
                reason = "excluded for this session after a rate limit (429)"
            elif ((b := breakers.get(model_id)) is not None and b.until > now) or (
                tracker is not None and tracker.cooldown_until(model_id) is not None
            ):
                until = self.cooldown_until(model_id) or now
                reason = f"cooling down for {until - now:.0f} s"
            row = (model_id, reason, s, f, a0, b0)
            if reason is not None:
                filtered.append(row)
            elif f > s + self.degrade_threshold:
                deg_arms.append((model_id, a0 + s, b0 + f, cost, p95))
                deg_rows.append(
                    (model_id, f"degraded ({f:.0f} failures vs {s:.0f} successes)", s, f, a0, b0)
                )
            else:
                arms.append((model_id, a0 + s, b0 + f, cost, p95))
                rows.append(row)
        used_degraded = False
        if not arms and deg_arms:
            arms, rows, used_degraded = deg_arms, deg_rows, True
            deg_arms, deg_rows = [], []
        if not arms:
            decision = Decision(
                task,
                None,
                self.policy,
                0.0,
                (),
                "no model available",
                _rows=tuple(_unscored(r, static) for r in filtered + deg_rows),
            )
            raise NoModelAvailable(
                f"no model can serve task {task!r}: "
                + "; ".join(f"{c.model_id}: {c.filtered}" for c in decision.candidates),
                decision,
            )
        sel = select_lists(
            [a[1] for a in arms],
            [a[2] for a in arms],
            [a[3] for a in arms],
            [a[4] for a in arms],
            self.weights,
            policy=self.policy,
            rng=self._rng,
            pyrng=self._pyrng,
            epsilon=self.epsilon,
        )
        idx = sel.index
        chosen = arms[idx][0]
        score = sel.score
        order = sorted(range(len(arms)), key=score.__getitem__, reverse=True)
        fallbacks = tuple(arms[i][0] for i in order if i != idx)
        # Degraded models are still a last resort for retries.
        fallbacks += tuple(a[0] for a in deg_arms)
        reason = f"{self.policy} {task}: {chosen}"
        if used_degraded:
            reason += " (only degraded models left)"
        elif filtered:
            reason += f" ({len(filtered)} filtered)"
        scored = tuple(
            (
                *rows[i],
                sel.quality[i],
                sel.cost_penalty[i],
                sel.latency_penalty[i],
                score[i],
                arms[i][3],
                arms[i][4],
            )
            for i in range(len(arms))
        )
        return Decision(
            task=task,
            model_id=chosen,
            policy=self.policy,
            propensity=sel.propensity,
            fallbacks=fallbacks,
            reason=cap(reason, MAX_REASON_CHARS),
            degraded_fallback=used_degraded,
            _rows=scored + tuple(_unscored(r, static) for r in filtered + deg_rows),
        )

    def _all_ids(self) -> list[str]:
        ids = self._ids_cache
        if ids is None or len(ids) != len(self.registry):
            ids = self._ids_cache = [m.model_id for m in self.registry]
        return ids

    def _static(self, task: str, input_tokens: int, output_tokens: int) -> dict[str, Any]:
        """Per-model statistics that only change when profiles are re-read."""
        self._profiles(task)  # refreshes the snapshot (and so this cache) when due
        key = (task, input_tokens, output_tokens)
        cache = self._static_cache.get(key)
        if cache is None:
            cache = self._static_cache[key] = {}
        return cache

    def _static_one(
        self, model_id: str, task: str, input_tokens: int, output_tokens: int
    ) -> tuple[Any, ...]:
        info = self.registry.get(model_id) or ModelInfo(model_id)
        s, f, sa, fa = self._counts(model_id, task)
        a0, b0 = self._prior(info, s, f, sa, fa)
        prof = self._profiles(task).get(model_id)
        cost = prof.cost_per_call if prof is not None and prof.cost_per_call else None
        if cost is None:
            cost = info.cost(input_tokens, output_tokens)
            if cost is None and info.local:
                cost = 0.0
        p95 = prof.latency_p95_ms if prof is not None else None
        return info, s, f, a0, b0, cost, p95

    @contextmanager
    def call(self, task: str, **constraints: Any) -> Iterator[tuple[Decision, Any]]:
        """Decide, then record the call on the tracker; yields ``(decision, handle)``::

        with router.call("code") as (decision, call):
            resp = client.chat(model=decision.model_id, ...)
            call.set_usage(resp.usage.prompt_tokens, resp.usage.completion_tokens)
        """
        if self.tracker is None:
            raise OutcomesError("Router.call needs a tracker: Router(tracker=OutcomeTracker(...))")
        decision = self.decide(task, **constraints)
        assert decision.model_id is not None
        ok = False
        try:
            with self.tracker.call(
                decision.model_id, task, decision.reason, propensity=decision.propensity
            ) as handle:
                yield decision, handle
            ok = True
        finally:
            self.report(decision.model_id, ok)


def _unscored(row: tuple[Any, ...], static: dict[str, Any]) -> tuple[Any, ...]:
    st = static.get(row[0])
    cost, p95 = (st[5], st[6]) if st is not None else (None, None)
    return (*row, None, None, None, None, cost, p95)
