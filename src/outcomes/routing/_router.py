"""The live router: filter, score, select, explain; wired to the tracker's profiles."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from outcomes._clock import SYSTEM_CLOCK, Clock
from outcomes._redact import cap
from outcomes.errors import OutcomesError
from outcomes.inference import OutcomeTracker
from outcomes.registry import ModelInfo, ModelRegistry
from outcomes.routing._breaker import BASE_S, MAX_S, TRIP_AFTER, Breaker
from outcomes.routing._decision import (
    MAX_REASON_CHARS,
    Candidate,
    Decision,
    NoModelAvailable,
    _Eligible,
    _Explain,
    _lists,
    _Pool,
    _unscored,
)
from outcomes.routing._elim import select_gated
from outcomes.routing._guard import guard
from outcomes.routing._select import (
    SMALL,
    Normals,
    Policy,
    Selection,
    Weights,
    as_arrays,
    prepare,
    select_arrays,
    select_lists,
)
from outcomes.routing._source import ProfileSource

__all__ = ["Candidate", "Decision", "NoModelAvailable", "Router"]


@dataclass
class Router:
    """Pick a model per call from outcomes.

    ``tracker`` supplies per-model, per-task profiles (success counts, latency, cost) and
    rate-limit exclusions and cooldowns; ``registry`` the candidates, their prices,
    context windows, tasks and optional priors. ``prior_strength`` is the pseudo-count of a
    registry prior (capped at ``max_prior``); other tasks of the same model lend at most
    ``share_cap`` pseudo-counts to a task with little data (cold start). ``profiles``
    replaces the tracker as the source of statistics (the replay benchmark uses it).
    """

    registry: ModelRegistry = field(default_factory=ModelRegistry.load)
    tracker: OutcomeTracker | None = None
    policy: Policy = "thompson"
    weights: Weights = field(default_factory=Weights)
    prior_strength: float = 10.0
    max_prior: float = 50.0
    share_cap: float = 5.0
    degrade_threshold: int = 5
    degrade_rate: float = 0.1
    """A model is degraded for a task (left out while a healthy one remains) when its
    failures exceed its successes by ``degrade_threshold`` *and* fewer than this share
    of its outcomes succeed: calls that mostly fail, not a weak model. A weak, cheap
    model is what a cost weight may ask for; scoring, not a filter, weighs its quality
    (replayed on RouterBench, a plain ``failures > successes + 5`` took the cheapest
    model off the code task, and the frontier lost the always-cheapest point)."""
    forget: bool = True
    """Weigh outcomes by age (a quarter of the tracker's profile half-life: 3.5 days at
    the default 14; see ``change_z``), so the router follows a model that got worse or
    better; ``False`` counts all equally."""
    epsilon: float = 0.1
    seed: int | None = None
    clock: Clock = SYSTEM_CLOCK
    breaker_failures: int = TRIP_AFTER
    breaker_base_s: float = BASE_S
    breaker_max_s: float = MAX_S
    refresh_s: float = 1.0
    """The tracker's published snapshot is looked at again at most this often (seconds
    of ``clock``); 0 looks on every decision. Decisions never wait for a snapshot: see
    :meth:`OutcomeTracker.snapshot` for when one contains new outcomes."""
    min_evidence: float = 200.0
    """With ``forget``: a (task, model) cell whose age-weighted evidence fell below
    ``min(its raw count, min_evidence)`` is topped up to that much evidence at its
    all-time success rate. So forgetting is counted in a cell's own outcomes: a busy
    cell (``min_evidence`` recent outcomes or more) is judged on its recent ones, and
    a degraded model loses its lead within about that many of its own calls; a quiet
    cell is neither drained to a wide posterior nor judged on its last few outcomes
    just because traffic went to other models."""
    change_z: float | None = 3.0
    """With ``forget``: forget only where there is evidence of change. A (task, model)
    cell is judged on all its outcomes unless the rate of its age-weighted (recent)
    outcomes differs from that of the rest by more than ``change_z`` standard errors (a
    two-sample z-test on the cell's own counts); then it is judged as without this
    setting (age-weighted, topped up to ``min_evidence``). So a stationary cell keeps
    its evidence however busy the other cells are, and a model that got worse or better
    is followed once its own outcomes show it. ``None``: always age-weighted. 3 (with a
    1,000-decision half-life in the replay) by the rule fixed before a 20-seed
    leave-one-matrix-out over the development family (docs/routing.md)."""
    sharpen: float = 2.0
    """Thompson draws from the posterior with a cell's observed successes and failures
    counted this many times (the prior pseudo-counts once): its spread narrows with
    the cell's evidence by ``sqrt(sharpen)`` while an untried model keeps the wide
    prior and is still tried. Plain Thompson sampling (1) keeps drawing arms a point
    or two apart long after they stopped being worth it; 2 was chosen by
    leave-one-matrix-out cross-validation over the development family
    (docs/routing.md), more locks onto an early leader on some matrices."""
    guard_n: float | None = None
    """Opt-in lock-in guard (off by default): a healthy cell judged on fewer than this
    many outcomes is drawn from its unsharpened posterior while that posterior's mean +
    2 SD exceeds the leading cell's mean, so an unlucky start on a short stream keeps
    plain Thompson sampling's chance of a second look (:mod:`outcomes.routing._guard`).
    Not adopted: at 20 and unbounded it lost to the default (docs/routing.md)."""
    profiles: ProfileSource | None = None
    """Where decisions read profiles instead of ``tracker`` (rate limits still come from
    the tracker): the replay benchmark's statistics, for instance."""
    view: Literal["shared", "local"] = "shared"
    """``shared``: profiles as stored, so every process sharing the store routes on the
    same evidence; ``local``: this process's tracker state only (what a single process has
    seen and loaded)."""
    _rng: np.random.Generator = field(init=False, repr=False)
    _pyrng: random.Random = field(init=False, repr=False)
    _normals: Normals = field(init=False, repr=False)
    _breakers: dict[str, Breaker] = field(init=False, repr=False, default_factory=dict)
    _snapshot: Mapping[str | None, Mapping[str, Any]] = field(
        init=False, repr=False, default_factory=dict
    )
    _snapshot_at: float = field(init=False, repr=False, default=-math.inf)
    _pools: dict[tuple[Any, ...], _Pool] = field(init=False, repr=False, default_factory=dict)
    _breaker_horizon: float = field(init=False, repr=False, default=-math.inf)
    """The latest deadline of any breaker: past it, no breaker blocks anything."""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        # Pools and profile snapshots hold values derived from the public settings
        # (weights, priors, forget, view, tracker, ...): a new setting applies from the
        # next decision on, which re-reads profiles and rebuilds pools.
        if not name.startswith("_") and "_pools" in self.__dict__:
            object.__setattr__(self, "_pools", {})
            object.__setattr__(self, "_snapshot_at", -math.inf)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._pyrng = random.Random(self.seed)
        self._normals = Normals(self._rng)
        if self.prior_strength < 0 or self.max_prior < 0 or self.share_cap < 0:
            raise ValueError("prior_strength, max_prior and share_cap must be >= 0")
        if not 0.0 <= self.degrade_rate <= 1.0 or self.min_evidence < 0:
            raise ValueError("degrade_rate must be in [0, 1] and min_evidence >= 0")
        if self.change_z is not None and not self.change_z >= 0:
            raise ValueError(f"change_z must be None or >= 0, got {self.change_z!r}")
        if not self.sharpen >= 1.0 or math.isinf(self.sharpen):
            raise ValueError(f"sharpen must be a finite number >= 1, got {self.sharpen!r}")
        if self.guard_n is not None and not self.guard_n >= 0:
            raise ValueError(f"guard_n must be None or >= 0, got {self.guard_n!r}")

    # -- outage handling -------------------------------------------------------------
    def report(self, model_id: str, ok: bool) -> None:
        """Feed a call's result to the circuit breaker (``call()`` does this for you).

        After ``breaker_failures`` failures in a row a model cools down for
        ``breaker_base_s``, doubling on each further trip up to ``breaker_max_s``: during
        an outage each request pays at most one failed attempt on that model, not several.
        A new cooldown never shortens a running one.
        """
        b = self._breakers.setdefault(model_id, Breaker())
        if ok:
            b.succeed()
            return
        now = self.clock.now()
        if b.fail(now, self.breaker_failures, self.breaker_base_s, self.breaker_max_s) is not None:
            self._breaker_horizon = max(self._breaker_horizon, b.until)

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
    def _profiles(self, task: str | None) -> Mapping[str, Any]:
        """The profiles of ``view`` in the tracker's latest published snapshot (no lock,
        no I/O), looked at again every ``refresh_s`` seconds; a new snapshot drops the
        pools built from the previous one."""
        source = self.profiles if self.profiles is not None else self.tracker
        if source is None:
            return {}
        now = self.clock.now()
        if now - self._snapshot_at >= self.refresh_s:
            self._snapshot_at = now
            published = source.snapshot(self.view).by_task
            if published is not self._snapshot:
                self._snapshot = published
                self._pools = {}
        return self._snapshot.get(task) or {}

    def _counts(self, p: Any, allp: Any, now: float) -> tuple[float, float, float, float]:
        """(successes, failures) of a task's profile ``p``, and of the model's profile
        over all tasks ``allp`` (read only when other tasks may lend evidence); weighed
        by age at ``now`` when ``forget``."""
        share = self.share_cap > 0
        if self.forget:
            floor, z = self.min_evidence, self.change_z
            s, f = _aged(p, now, floor, z) if p is not None else (0.0, 0.0)
            sa, fa = _aged(allp, now, floor, z) if share and allp is not None else (s, f)
            return s, f, sa, fa
        s = float(p.successes) if p is not None else 0.0
        f = float(p.failures) if p is not None else 0.0
        if not share or allp is None:
            return s, f, s, f
        return s, f, float(allp.successes), float(allp.failures)

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

        Phase 1 (:meth:`_filter`) filters on task, context window (``input_tokens +
        output_tokens``), ``max_cost_usd`` per call, ``max_p95_ms``, session exclusion,
        cooldown and degradation, keeping each reason. Phase 2 and 3 (:meth:`_select`)
        score the rest with ``weights`` and select with ``policy``; :meth:`_record` turns
        the pick into a :class:`Decision`. If only degraded models are left, the best of
        them is used and the decision says so. Raises :class:`NoModelAvailable` when
        nothing is left.
        """
        pool = self._pool_for(
            task, candidates, input_tokens, output_tokens, max_cost_usd, max_p95_ms
        )
        eligible = self._filter(task, pool)
        return self._record(task, pool, eligible, self._select(pool, eligible))

    def _pool_for(
        self,
        task: str,
        candidates: Sequence[str] | None,
        input_tokens: int,
        output_tokens: int,
        max_cost_usd: float | None,
        max_p95_ms: float | None,
    ) -> _Pool:
        """The cached candidate pool of these arguments, rebuilt when profiles were
        re-read or a registry entry changed (phase 1's static part)."""
        self._profiles(task)  # re-reads profiles when due, which drops the pools
        models = self.registry.models
        listed = None if candidates is None else tuple(candidates)
        infos: list[ModelInfo | None] = (
            list(models.values()) if listed is None else list(map(models.get, listed))
        )
        key = (task, input_tokens, output_tokens, max_cost_usd, max_p95_ms, listed)
        pool = self._pools.get(key)
        # The entries are compared by identity first (ModelInfo is frozen, so an edit
        # is a new object): linear, but in C, and a fraction of a microsecond.
        if pool is None or pool.infos != infos:
            ids = [m.model_id for m in models.values()] if listed is None else list(listed)
            pool = self._pools[key] = self._pool(
                task, ids, input_tokens, output_tokens, max_cost_usd, max_p95_ms
            )
            pool.infos = infos
        return pool

    def _filter(self, task: str, pool: _Pool) -> _Eligible:
        """Phase 1's dynamic part: drop what is blocked right now; fall back to the
        degraded models when no healthy one is left; raise when nothing is."""
        blocked = self._blocked(pool, self.clock.now())
        if not blocked:
            eligible = _Eligible(pool.ok, pool.degraded, pool.ok_lists, [], False)
            eligible.arrays, eligible.prepared = pool.ok_arrays, pool.ok_prepared
        else:
            ok = [j for j in pool.ok if j not in blocked]
            degraded = [j for j in pool.degraded if j not in blocked]
            dynamic = [_unscored(pool, j, reason) for j, reason in sorted(blocked.items())]
            eligible = _Eligible(ok, degraded, _lists(pool, ok), dynamic, False)
        if not eligible.scored and eligible.rest:
            eligible = _Eligible(
                eligible.rest, [], _lists(pool, eligible.rest), eligible.dynamic, True
            )
        if not eligible.scored:
            unscored = pool.static_filtered + eligible.dynamic
            decision = Decision(
                task,
                None,
                self.policy,
                "no model available",
                _explain=_Explain(None, (), None, -1, (), unscored),
            )
            raise NoModelAvailable(
                f"no model can serve task {task!r}: "
                + "; ".join(f"{c.model_id}: {c.filtered}" for c in decision.candidates),
                decision,
            )
        return eligible

    def _select(self, pool: _Pool, eligible: _Eligible) -> Selection:
        """Phases 2 and 3: score the eligible models and pick one with ``policy`` (the
        same functions the replay benchmark runs; see :mod:`outcomes.routing._select`)."""
        if self.policy == "elim":
            return select_gated(self, pool, eligible)
        if eligible.arrays is not None:
            return select_arrays(
                pool.ok_names,
                *eligible.arrays,
                self.weights,
                policy=self.policy,
                rng=self._rng,
                epsilon=self.epsilon,
                cost_ref=pool.cost_ref,
                prepared=eligible.prepared,
            )
        return select_lists(
            *eligible.lists,
            self.weights,
            policy=self.policy,
            rng=self._rng,
            pyrng=self._pyrng,
            epsilon=self.epsilon,
            prepared=eligible.prepared,
            cost_ref=pool.cost_ref,
            normals=self._normals,
        )

    def _record(self, task: str, pool: _Pool, eligible: _Eligible, sel: Selection) -> Decision:
        """The decision of a pick: its bounded reason, and what explains it on demand."""
        scored, rest = eligible.scored, eligible.rest
        chosen = pool.ids[scored[sel.index]]
        n_filtered = len(pool.static_filtered) + len(eligible.dynamic)
        if eligible.used_degraded:
            reason = f"{self.policy} {task}: {chosen} (only degraded models left)"
        elif n_filtered:
            reason = f"{self.policy} {task}: {chosen} ({n_filtered} filtered)"
        else:
            reason = f"{self.policy} {task}: {chosen}"
        if len(reason) > MAX_REASON_CHARS:
            reason = cap(reason, MAX_REASON_CHARS)
        unscored = (
            pool.static_filtered + eligible.dynamic + [_unscored(pool, j) for j in rest]
            if n_filtered or rest
            else []
        )
        memo = pool.propensities if scored is pool.ok else None
        explain = _Explain(pool, scored, sel, sel.index, rest, unscored, memo)
        return Decision(task, chosen, self.policy, reason, eligible.used_degraded, explain)

    def _blocked(self, pool: _Pool, now: float) -> dict[int, str] | None:
        """Pool positions blocked right now (session exclusion, cooldown, breaker) with
        the reason; ``None`` in the common case that nothing is."""
        out: dict[int, str] | None = None
        position = pool.position
        tracker = self.tracker
        if tracker is not None:
            excluded, cooldowns = tracker.rate_limits()
            for m in excluded:
                j = position.get(m)
                if j is not None:
                    out = out if out is not None else {}
                    out[j] = "excluded for this session after a rate limit (429)"
            for m in cooldowns:
                j = position.get(m)
                if (
                    j is not None
                    and (out is None or j not in out)
                    and tracker.cooldown_until(m) is not None
                ):
                    out = out if out is not None else {}
                    out[j] = self._cooling(m, now)
        if self._breaker_horizon > now:
            for m, b in self._breakers.items():
                j = position.get(m)
                if j is not None and b.until > now and (out is None or j not in out):
                    out = out if out is not None else {}
                    out[j] = self._cooling(m, now)
        return out

    def _cooling(self, model_id: str, now: float) -> str:
        until = self.cooldown_until(model_id) or now
        return f"cooling down for {until - now:.0f} s"

    def _pool(
        self,
        task: str,
        ids: Sequence[str],
        input_tokens: int,
        output_tokens: int,
        max_cost_usd: float | None,
        max_p95_ms: float | None,
    ) -> _Pool:
        need = input_tokens + output_tokens
        names: list[str] = []
        rows: list[tuple[Any, ...]] = []
        alphas: list[float] = []
        betas: list[float] = []
        costs: list[float | None] = []
        p95s: list[float | None] = []
        cost_ref = 0.0
        ok: list[int] = []
        degraded: list[int] = []
        static_filtered: list[tuple[Any, ...]] = []
        # One read of the profiles and of the clock that stamped them (the source's:
        # ages are measured on it) for the whole pool.
        profs = self._profiles(task)
        all_profs = self._snapshot.get(None) or {}
        source = self.profiles if self.profiles is not None else self.tracker
        now = source.clock.now() if source is not None else 0.0
        for model_id in ids:
            info, s, f, a0, b0, cost, p95, ref = self._static_one(
                model_id,
                input_tokens,
                output_tokens,
                profs.get(model_id),
                all_profs.get(model_id),
                now,
            )
            reason = _static_reason(info, task, need, cost, p95, max_cost_usd, max_p95_ms)
            if reason is not None:
                static_filtered.append(
                    (model_id, reason, s, f, a0, b0, None, None, None, None, cost, p95)
                )
                continue
            j = len(names)
            names.append(model_id)
            if f > s + self.degrade_threshold and s < self.degrade_rate * (s + f):
                note = f"degraded ({f:.0f} failures vs {s:.0f} successes)"
                rows.append((model_id, note, s, f, a0, b0))
                degraded.append(j)
            else:
                rows.append((model_id, None, s, f, a0, b0))
                ok.append(j)
            alphas.append(a0 + self.sharpen * s)
            betas.append(b0 + self.sharpen * f)
            costs.append(cost)
            p95s.append(p95)
            if ref is not None and ref > cost_ref:
                cost_ref = ref
        if self.guard_n is not None:
            guard(alphas, betas, rows, ok, self.guard_n)
        pool = _Pool(
            names,
            rows,
            alphas,
            betas,
            costs,
            p95s,
            ok,
            degraded,
            static_filtered,
            {m: j for j, m in enumerate(names)},
            ([], [], [], []),
            cost_ref=cost_ref or None,
        )
        pool.ok_lists = _lists(pool, ok)
        pool.ok_names = [names[j] for j in ok]
        pool.ok_prepared = prepare(*pool.ok_lists, self.weights, pool.cost_ref)
        if len(ok) >= SMALL:
            pool.ok_arrays = as_arrays(*pool.ok_lists)
        return pool

    def _static_one(
        self,
        model_id: str,
        input_tokens: int,
        output_tokens: int,
        prof: Any,
        all_prof: Any,
        now: float,
    ) -> tuple[Any, ...]:
        info = self.registry.get(model_id) or ModelInfo(model_id)
        s, f, sa, fa = self._counts(prof, all_prof, now)
        a0, b0 = self._prior(info, s, f, sa, fa)
        listed = info.cost(input_tokens, output_tokens)
        if listed is None and info.local:
            listed = 0.0
        cost = prof.cost_per_call if prof is not None and prof.cost_per_call else listed
        # The cost reference is the model's cost over all tasks, not this task's: so a
        # cost weight buys the same quality per dollar in every task (one exchange rate
        # across tasks is what puts a mix of per-task choices on the cost/quality
        # frontier; per-task references priced long-prompt tasks' quality cheaper).
        ref = all_prof.cost_per_call if all_prof is not None and all_prof.cost_per_call else None
        p95 = prof.latency_p95_ms if prof is not None else None
        return info, s, f, a0, b0, cost, p95, listed if ref is None else ref

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


def _static_reason(
    info: ModelInfo,
    task: str,
    need: int,
    cost: float | None,
    p95: float | None,
    max_cost_usd: float | None,
    max_p95_ms: float | None,
) -> str | None:
    """Why phase 1 leaves a model out whatever happens between refreshes, or ``None``."""
    if info.retired:
        return "retired (the registry marks it so: never routed to)"
    if not info.serves(task):
        return f"does not serve task {task!r}"
    if info.context_window is not None and need > info.context_window:
        return f"context window {info.context_window} < {need} tokens"
    if max_cost_usd is not None and cost is not None and cost > max_cost_usd:
        return f"expected cost ${cost:.6f} > max ${max_cost_usd:.6f}"
    if max_p95_ms is not None and p95 is not None and p95 > max_p95_ms:
        return f"p95 latency {p95:.0f} ms > max {max_p95_ms:.0f} ms"
    return None


def _aged(
    profile: Any, now: float, floor: float, change_z: float | None = None
) -> tuple[float, float]:
    """A profile's age-weighted (successes, failures), topped up to ``min(raw, floor)``
    evidence at the cell's all-time success rate (see ``Router.min_evidence``); its
    all-time counts instead when ``change_z`` is given and its recent outcomes do not
    differ from its older ones by that many standard errors (``Router.change_z``)."""
    s, f = profile.decayed_counts(now)
    succ, fail = float(profile.successes), float(profile.failures)
    if change_z is not None and not _changed(s, f, succ, fail, change_z):
        return succ, fail
    if floor > 0:
        n = s + f
        raw = succ + fail
        want = min(raw, floor)
        if 0 < n < want:
            gap = (want - n) / raw
            return s + gap * succ, f + gap * fail
    return s, f


def _changed(s: float, f: float, succ: float, fail: float, z: float) -> bool:
    """Whether a cell's age-weighted outcomes (``s`` successes, ``f`` failures) succeed
    at a rate more than ``z`` standard errors from its older ones (all-time ``succ``,
    ``fail`` minus the age-weighted part). The weighted counts stand in for sample sizes:
    a weighted mean's variance is at most ``p(1-p) / sum(weights)``, so the test errs
    towards no change. Without recent or without older evidence there is nothing to
    compare: no change."""
    recent, total = s + f, succ + fail
    older = total - recent
    if recent <= 0 or older <= 1e-9:
        return False
    diff = s / recent - (succ - s) / older
    p = succ / total
    return diff * diff > z * z * p * (1.0 - p) * (1.0 / recent + 1.0 / older)
