"""LiteLLM in one line: a callback that records every call, and a router strategy that
routes with ``outcomes``.

>>> litellm.callbacks = [OutcomesLogger(tracker)]                  # doctest: +SKIP
>>> OutcomesRoutingStrategy(router, tracker).install()             # doctest: +SKIP

What is recorded and what never is: see ``docs/integrations.md``. The model id of a call
is LiteLLM's ``standard_logging_object["model"]``: for a Router call, the deployment's
``litellm_params.model`` (``openai/gpt-4o-mini``), which is also the id the routing
strategy scores, so the strategy learns from what the logger recorded.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from litellm.integrations.custom_logger import CustomLogger
from litellm.types.router import CustomRoutingStrategyBase

from outcomes._redact import is_own_id
from outcomes.errors import OutcomesError
from outcomes.inference import OutcomeTracker
from outcomes.integrations._default import resolve_tracker
from outcomes.integrations._errors import classify
from outcomes.integrations._record import int_or_none, warn_once
from outcomes.routing import Router

META_TRACE_ID = "outcomes_trace_id"
"""``metadata`` key of a call that carries an outside trace id."""
META_TASK = "outcomes_task"
"""``metadata`` key that sets the task of one call."""
META_PROPENSITY = "outcomes_propensity"
META_REASON = "outcomes_reason"

_MAX_SEEN = 10_000


def _seconds(value: object) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _ttft_ms(
    slo: Mapping[str, Any], kwargs: Mapping[str, Any], began: float | None
) -> float | None:
    # LiteLLM sets the completion start time to the end time for a call that was not
    # streamed, so only a stream's is a time to first token.
    if not (slo.get("stream") or kwargs.get("stream")) or not began:
        return None
    first = _seconds(slo.get("completionStartTime")) or _seconds(
        kwargs.get("completion_start_time")
    )
    return None if first is None else max(0.0, (first - began) * 1000.0)


class OutcomesLogger(CustomLogger):  # type: ignore[misc]
    """A LiteLLM callback recording every success and failure (sync, async, streaming)
    into ``tracker`` (default: :func:`outcomes.integrations.default_tracker`).

    Reads LiteLLM's ``standard_logging_object``: model, tokens, LiteLLM's own
    ``response_cost`` (the registry's price when LiteLLM has none), latency from
    ``startTime`` to ``endTime``. The trace id is ``metadata["outcomes_trace_id"]`` when
    the call passed one, else LiteLLM's ``litellm_call_id`` (on the response as
    ``response._hidden_params["litellm_call_id"]``). A call routed by
    :class:`OutcomesRoutingStrategy` carries the router's propensity and reason.

    A success is one :meth:`~OutcomeTracker.record_call`; with LiteLLM's own call id it is
    handed to :meth:`~OutcomeTracker.record_later` (the receipt is built on the writer's
    thread, the same one). Failures and outside trace ids are recorded at once.
    """

    def __init__(self, tracker: OutcomeTracker | None = None, *, task: str = "generate") -> None:
        super().__init__()
        self.tracker = resolve_tracker(tracker)
        self.task = task
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    # LiteLLM calls these by keyword: the parameter names are part of its interface.
    def log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, None, start_time, end_time)

    def log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, kwargs.get("exception"), start_time, end_time)

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, None, start_time, end_time)

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(kwargs, kwargs.get("exception"), start_time, end_time)

    def _trace_id(self, wanted: str) -> str | None:
        """``wanted`` the first time; None when this logger already recorded it (LiteLLM
        may report one call through both its sync and async paths)."""
        with self._lock:
            if wanted in self._seen:
                return None
            self._seen[wanted] = 1
            while len(self._seen) > _MAX_SEEN:
                self._seen.popitem(last=False)
        return wanted

    def _record(self, kwargs: dict[str, Any], exc: object, start_time: Any, end_time: Any) -> None:
        try:
            self._record_call(kwargs, exc, start_time, end_time)
        except Exception as error:  # recording never breaks the host application
            warn_once("recording a LiteLLM call failed", error)

    def _record_call(
        self, kwargs: dict[str, Any], exc: object, start_time: Any, end_time: Any
    ) -> None:
        slo: Mapping[str, Any] = kwargs.get("standard_logging_object") or {}
        meta: Mapping[str, Any] = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        outside = meta.get(META_TRACE_ID)
        wanted = outside or kwargs.get("litellm_call_id") or slo.get("id")
        trace = None if wanted is None else self._trace_id(str(wanted))
        if trace is None and wanted is not None:
            return
        model = str(slo.get("model") or kwargs.get("model") or "unknown")
        task, reason = str(meta.get(META_TASK) or self.task), str(meta.get(META_REASON) or "")
        began = _seconds(slo.get("startTime")) or _seconds(start_time)
        ended = _seconds(slo.get("endTime")) or _seconds(end_time)
        latency_ms = max(0.0, (ended - began) * 1000.0) if began and ended else 0.0
        propensity = meta.get(META_PROPENSITY)
        propensity = propensity if isinstance(propensity, float) else None
        tracker = self.tracker
        if exc is not None or slo.get("status") == "failure":
            # At once: a 429 excludes its model before the next decision.
            trace_id = tracker.record_start(
                model, task, reason, propensity=propensity, trace_id=trace
            )
            error, retry_after = (
                classify(exc) if isinstance(exc, BaseException) else ("LiteLLMError", None)
            )
            tracker.record_failure(trace_id, error, retry_after=retry_after, latency_ms=latency_ms)
            return
        cost = slo.get("response_cost")
        i = int_or_none(slo.get("prompt_tokens")) or 0
        o = int_or_none(slo.get("completion_tokens")) or 0
        usd = float(cost) if isinstance(cost, int | float) and cost > 0 else None
        ttft = _ttft_ms(slo, kwargs, began)

        def record(at: float | None) -> None:
            try:  # one step, the receipt record_start + record_complete wrote
                tracker.record_call(
                    model, task, latency_ms, i, o, reason, cost_usd=usd, trace_id=trace,
                    ttft_ms=ttft, timestamp=at, propensity=propensity,
                )  # fmt: skip
            except Exception as error:  # on the writer's thread too: never raises
                warn_once("recording a LiteLLM call failed", error)

        # LiteLLM's call id (a uuid4) is in outcomes' own id shape: the tracker cannot
        # refuse it for its content, so no one is told an id the receipt will not carry
        # (a repeat is dropped above). An outside id (metadata, or a call id of another
        # shape) may be refused and replaced, as in the OpenAI path: recorded at once.
        if trace is not None and not outside and is_own_id(trace):
            tracker.record_later(record)
        else:
            record(None)


class NoHealthyDeployment(OutcomesError, RuntimeError):
    """LiteLLM left no deployment of the model group to choose from (all cooling down)."""


def _subject(deployment: Mapping[str, Any]) -> str:
    params = deployment.get("litellm_params") or {}
    model = params.get("model") if isinstance(params, Mapping) else None
    return str(model or deployment.get("model_name") or "unknown")


class OutcomesRoutingStrategy(CustomRoutingStrategyBase):  # type: ignore[misc]
    """A LiteLLM routing strategy: picks among a model group's healthy deployments with
    the ``outcomes`` :class:`~outcomes.routing.Router`.

    LiteLLM's cooldowns are respected (only the deployments LiteLLM would choose among are
    candidates); the outcomes router adds the tracker's rate-limit exclusions, its
    circuit breaker and the quality, latency and cost learnt from outcomes. The decision's
    propensity and reason travel with the call in ``metadata`` and are recorded by the
    :class:`OutcomesLogger` for the same tracker, which :meth:`install` registers if it is
    missing: the strategy learns from the calls it routed. ``router`` is the outcomes
    router to use (default: ``Router(tracker=tracker)``, Thompson sampling); ``task``
    the task of routed calls (a request's ``metadata["outcomes_task"]`` overrides it).
    Deployments sharing one model id are told apart uniformly at random (the propensity
    is divided accordingly).

    The candidates are the group's deployments minus those LiteLLM has cooling down
    (about 0.1 ms); ``full_checks=True`` asks LiteLLM's own ``select(kind="healthy")``
    instead, which also applies its pre-call checks (context window, rpm/tpm, team
    scoping) and costs about six times as much (async calls only; the sync path always
    uses the cooldown filter).
    """

    def __init__(
        self,
        litellm_router: Any,
        tracker: OutcomeTracker | None = None,
        *,
        task: str = "generate",
        router: Router | None = None,
        seed: int | None = None,
        full_checks: bool = False,
    ) -> None:
        self.litellm_router = litellm_router
        self.full_checks = full_checks
        self.tracker = resolve_tracker(tracker)
        self.task = task
        self.router = router if router is not None else Router(tracker=self.tracker, seed=seed)
        self._rng = random.Random(seed)

    def install(self) -> OutcomesRoutingStrategy:
        """Make this the LiteLLM router's strategy (``register_plugin``, or the older
        ``set_custom_routing_strategy``) and make sure an :class:`OutcomesLogger` for the
        same tracker is among ``litellm.callbacks``; returns self."""
        import litellm

        target = self.litellm_router
        register = getattr(target, "register_plugin", None)
        if register is not None:
            register(self)
        else:
            target.set_custom_routing_strategy(self)
        callbacks = litellm.callbacks
        if not any(isinstance(c, OutcomesLogger) and c.tracker is self.tracker for c in callbacks):
            callbacks.append(OutcomesLogger(self.tracker, task=self.task))
        return self

    async def async_get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, str]] | None = None,
        input: str | list[object] | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, object] | None = None,
    ) -> Any:
        if self.full_checks:
            healthy = await self.litellm_router.select(model, request_kwargs, kind="healthy")
        else:
            healthy = self._healthy_sync(model)
        return self.choose(healthy, request_kwargs)

    def get_available_deployment(
        self,
        model: str,
        messages: list[dict[str, str]] | None = None,
        input: str | list[object] | None = None,
        specific_deployment: bool | None = False,
        request_kwargs: dict[str, object] | None = None,
    ) -> Any:
        return self.choose(self._healthy_sync(model), request_kwargs)

    def _healthy_sync(self, model: str) -> list[Mapping[str, Any]]:
        """The group's deployments minus those LiteLLM has cooling down."""
        router = self.litellm_router
        group = list(router.registry().deployments(model) or [])
        ids = [str((d.get("model_info") or {}).get("id")) for d in group]
        cooling = {i for i, _ in router.health().cooldowns.get_active_cooldowns(ids, None)}
        return [d for d, i in zip(group, ids, strict=True) if i not in cooling]

    def choose(
        self, healthy: Sequence[Mapping[str, Any]], request_kwargs: dict[str, object] | None
    ) -> Mapping[str, Any]:
        """Pick one of ``healthy`` (LiteLLM deployment dicts) and note the decision's
        propensity and reason in ``request_kwargs["metadata"]``."""
        if not healthy:
            raise NoHealthyDeployment("no healthy deployment in this model group")
        by_subject: dict[str, list[Mapping[str, Any]]] = {}
        for deployment in healthy:
            by_subject.setdefault(_subject(deployment), []).append(deployment)
        task = self.task
        meta_in = request_kwargs.get("metadata") if request_kwargs is not None else None
        if isinstance(meta_in, Mapping) and isinstance(meta_in.get(META_TASK), str):
            task = str(meta_in[META_TASK])
        try:
            decision = self.router.decide(task, candidates=list(by_subject))
            subject, propensity = decision.model_id, decision.propensity
            reason = decision.reason
        except OutcomesError:
            # Every candidate is blocked on the outcomes side (its own cooldowns) while
            # LiteLLM still calls them healthy: LiteLLM's view wins, chosen uniformly.
            subject = self._rng.choice(list(by_subject))
            propensity, reason = 1.0 / len(by_subject), "litellm fallback: all blocked"
        choices = by_subject.get(subject or "") or next(iter(by_subject.values()))
        deployment = choices[0] if len(choices) == 1 else self._rng.choice(choices)
        if request_kwargs is not None:
            meta = request_kwargs.get("metadata")
            if not isinstance(meta, dict):
                meta = request_kwargs["metadata"] = {}
            meta[META_PROPENSITY] = propensity / len(choices)
            meta[META_REASON] = reason
        return deployment


__all__ = [
    "META_TASK",
    "META_TRACE_ID",
    "NoHealthyDeployment",
    "OutcomesLogger",
    "OutcomesRoutingStrategy",
]
