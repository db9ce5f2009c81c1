"""The live router: filter, score, select, explain; wired to the tracker's profiles."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._redact import cap
from outcomes.errors import OutcomesError
from outcomes.inference import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing._select import ArmView, Policy, Weights, select

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


@dataclass(frozen=True, slots=True)
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
    candidates: tuple[Candidate, ...]
    degraded_fallback: bool = False
    """True when only degraded models were left and the best of them was used."""

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
                {k: getattr(c, k) for k in Candidate.__dataclass_fields__}
                for c in self.candidates
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
    """Profiles are re-read from the store at most this often (a decision's statistics
    are never older than this); 0 re-reads on every decision."""
    _rng: np.random.Generator = field(init=False, repr=False)
    _pyrng: random.Random = field(init=False, repr=False)
    _breakers: dict[str, _Breaker] = field(init=False, repr=False, default_factory=dict)
    _snapshot: dict[str | None, dict[str, Any]] = field(init=False, repr=False, default_factory=dict)
    _snapshot_at: float = field(init=False, repr=False, default=-math.inf)

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
            b.backoff = min(
                self.breaker_max_s, b.backoff * 2 if b.backoff else self.breaker_base_s
            )
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
            self._snapshot_at = now
        snap = self._snapshot.get(task)
        if snap is None:
            snap = {p.model_id: p for p in self.tracker.shared_profiles(task=task, flush=False)}
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

    def _prior(self, info: ModelInfo, s: float, f: float, sa: float, fa: float) -> tuple[float, float]:
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
        ids = list(candidates) if candidates is not None else [m.model_id for m in self.registry]
        now = self.clock.now()
        eligible: list[tuple[ArmView, Candidate]] = []
        degraded: list[tuple[ArmView, Candidate]] = []
        filtered: list[Candidate] = []
        need = input_tokens + output_tokens
        for model_id in ids:
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
            base = Candidate(model_id, None, s, f, a0, b0, expected_cost_usd=cost, p95_latency_ms=p95)
            reason = None
            if not info.serves(task):
                reason = f"does not serve task {task!r}"
            elif info.context_window is not None and need > info.context_window:
                reason = f"context window {info.context_window} < {need} tokens"
            elif max_cost_usd is not None and cost is not None and cost > max_cost_usd:
                reason = f"expected cost ${cost:.6f} > max ${max_cost_usd:.6f}"
            elif max_p95_ms is not None and p95 is not None and p95 > max_p95_ms:
                reason = f"p95 latency {p95:.0f} ms > max {max_p95_ms:.0f} ms"
            elif self.tracker is not None and self.tracker.is_excluded(model_id):
                reason = "excluded for this session after a rate limit (429)"
            else:
                until = self.cooldown_until(model_id)
                if until is not None:
                    reason = f"cooling down for {until - now:.0f} s"
            if reason is not None:
                filtered.append(_replace(base, filtered=reason))
                continue
            arm = ArmView(model_id, a0 + s, b0 + f, cost, p95)
            if f > s + self.degrade_threshold:
                degraded.append((arm, _replace(base, filtered=f"degraded ({f:.0f} failures vs {s:.0f} successes)")))
            else:
                eligible.append((arm, base))
        used_degraded = False
        pool = eligible
        if not pool and degraded:
            pool, used_degraded = degraded, True
        if not pool:
            decision = Decision(task, None, self.policy, 0.0, (), "no model available",
                                tuple(filtered + [c for _, c in degraded]))  # fmt: skip
            raise NoModelAvailable(
                f"no model can serve task {task!r}: "
                + "; ".join(f"{c.model_id}: {c.filtered}" for c in decision.candidates),
                decision,
            )
        sel = select(
            [a for a, _ in pool], self.weights, policy=self.policy, rng=self._rng,
            pyrng=self._pyrng, epsilon=self.epsilon,
        )  # fmt: skip
        scored = [
            _replace(c, filtered=None if not used_degraded else c.filtered,
                     quality=sel.quality[i], cost_penalty=sel.cost_penalty[i],
                     latency_penalty=sel.latency_penalty[i], score=sel.score[i])
            for i, (_, c) in enumerate(pool)
        ]  # fmt: skip
        chosen = pool[sel.index][0].model_id
        order = sorted(range(len(pool)), key=lambda i: -sel.score[i])
        fallbacks = tuple(pool[i][0].model_id for i in order if i != sel.index)
        if not used_degraded:
            # Degraded models are still a last resort for retries.
            fallbacks += tuple(a.model_id for a, _ in degraded)
        reason = f"{self.policy} {task}: {chosen}"
        if used_degraded:
            reason += " (only degraded models left)"
        elif filtered:
            reason += f" ({len(filtered)} filtered)"
        return Decision(
            task=task,
            model_id=chosen,
            policy=self.policy,
            propensity=sel.propensity,
            fallbacks=fallbacks,
            reason=cap(reason, MAX_REASON_CHARS),
            candidates=tuple(scored + filtered + ([] if used_degraded else [c for _, c in degraded])),
            degraded_fallback=used_degraded,
        )

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


def _replace(c: Candidate, **changes: Any) -> Candidate:
    values = {k: getattr(c, k) for k in Candidate.__dataclass_fields__}
    values.update(changes)
    return Candidate(**values)


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None
