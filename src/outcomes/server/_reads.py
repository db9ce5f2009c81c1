"""Read and decide: the model leaderboard and routing decisions.

Reads never scan receipts: the leaderboard over all projects comes from the tracker's
published profile snapshot (built off the request path, lock-free to read); a project
filter reads the stored profiles incrementally (only receipts added since the last read
are folded). ``POST /v1/route`` decides on the same snapshot in microseconds and records
the call's start, so its outcome can be reported against the returned ``trace_id``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from outcomes import _validate
from outcomes._validate import Count64, Id, Label, NonNegative, TaskName
from outcomes.errors import ConfigError, ValidationError
from outcomes.inference import OutcomeTracker
from outcomes.inference._view import leaderboard_order
from outcomes.server._errors import ApiError
from outcomes.server._service import Service, service_of

MAX_CANDIDATES = 500
MAX_ROUTERS = 32
"""Routers kept per process (one per policy and weights asked for)."""


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON answer encoded by msgspec (NaN and infinities become ``null``)."""
    return Response(msgspec.json.encode(data), status_code=status, media_type="application/json")


async def shared_snapshot(service: Service) -> Any:
    """The shared profile snapshot, rebuilt first when this process committed records
    since the last rebuild (so a client reads its own writes) and on the first read;
    other processes' records appear within the refresher's interval (about a second)."""
    tracker = service.tracker
    snapshot = tracker.snapshot("shared")
    if snapshot.empty or service.stale:
        service.stale = False
        await anyio.to_thread.run_sync(tracker.refresh_view, "shared")
        snapshot = tracker.snapshot("shared")
    return snapshot


def _filter(request: Request) -> Any:
    """The :class:`~outcomes.inference.ProfileFilter` of the query (``since`` as a
    duration such as ``7d`` or a Unix time)."""
    from outcomes.inference import ProfileFilter, parse_since

    params = request.query_params
    since_text = params.get("since") or None
    try:
        since: float | None = None
        if since_text is not None:
            try:
                since = float(since_text)
            except ValueError:
                since = parse_since(since_text, time.time())
        return ProfileFilter(
            task=params.get("task") or None, project_id=params.get("project") or None,
            tag=params.get("tag") or None, since=since,
        )  # fmt: skip
    except ValidationError as exc:
        raise ApiError(422, exc.reason, code="invalid_query", where=exc.where) from None


async def list_models(request: Request) -> Response:
    """``GET /v1/models?task=&project=&tag=&since=``: the leaderboard, best posterior
    success first. Without filters or with a task: the published snapshot; with a project:
    the stored profiles (incremental); with a tag or ``since``: the matching calls are
    folded afresh (``outcomes.inference.matching_profiles``)."""
    from outcomes.inference import matching_profiles

    service = service_of(request)
    flt = _filter(request)
    tracker = service.tracker
    as_of: float | None = None
    receipts: int | None = None
    if flt.selects_calls:
        store = service.store
        profiles = await anyio.to_thread.run_sync(lambda: matching_profiles(store, flt))
    elif flt.project_id is not None:
        profiles = await anyio.to_thread.run_sync(
            lambda: tracker.shared_profiles(task=flt.task, project_id=flt.project_id, flush=False)
        )
    else:
        snapshot = await shared_snapshot(service)
        return _snapshot_answer(service, snapshot, flt.task)
    profiles.sort(key=leaderboard_order)
    return json_response(
        {"models": [p.to_json() for p in profiles], "as_of": as_of, "receipts": receipts}
    )


def _snapshot_answer(service: Service, snapshot: Any, task: str | None) -> Response:
    """The leaderboard of one snapshot, encoded once per snapshot and task: a snapshot
    never changes, and the intervals of every profile cost more than the request."""
    key = (id(snapshot), task)
    cached = service.extras.get("models_answer")
    if cached is None or cached[0] != key or cached[1] is not snapshot:
        profiles = sorted(snapshot.profiles(task).values(), key=leaderboard_order)
        body = msgspec.json.encode({
            "models": [p.to_json() for p in profiles],
            "as_of": snapshot.taken_at,
            "receipts": snapshot.receipts,
        })  # fmt: skip
        cached = service.extras["models_answer"] = (key, snapshot, body)
    return Response(cached[2], media_type="application/json")


async def get_model(request: Request) -> Response:
    """``GET /v1/models/{model_id}``: one model overall and per task."""
    service = service_of(request)
    model_id = _query_path(request, "model_id")
    snapshot = await shared_snapshot(service)
    overall = snapshot.profile(model_id)
    if overall is None:
        raise ApiError(404, f"no recorded calls for model {model_id!r}", where="model_id")
    tasks = [
        p for t, by_model in snapshot.by_task.items() if t is not None
        for m, p in by_model.items() if m == model_id
    ]  # fmt: skip
    tasks.sort(key=lambda p: p.task or "")
    return json_response({"model": overall.to_json(), "tasks": [p.to_json() for p in tasks]})


def _query_path(request: Request, name: str) -> str:
    try:
        return _validate.check_label(str(request.path_params[name]), name)
    except ValidationError as exc:
        raise ApiError(422, exc.reason, code="invalid_path", where=name) from None


class RouteRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The body of ``POST /v1/route``."""

    task: TaskName
    candidates: list[Label] | None = None
    max_cost_usd: NonNegative | None = None
    max_p95_ms: NonNegative | None = None
    input_tokens: Count64 = 1000
    output_tokens: Count64 = 500
    policy: Literal["thompson", "greedy", "ucb", "epsilon"] = "thompson"
    cost_weight: NonNegative = 0.0
    latency_weight: NonNegative = 0.0
    project_id: Label | None = None
    intent: Label | None = None
    trace_id: Id | None = None
    record: bool = True
    """Record the call's start (so a ``complete``/``failure`` event with only the
    ``trace_id`` resolves it in this process); ``false`` only decides."""


def _router(service: Service, req: RouteRequest) -> Any:
    from outcomes.registry import ModelRegistry
    from outcomes.routing import Router, Weights

    key = ("router", req.policy, req.cost_weight, req.latency_weight)

    def make() -> Any:
        try:
            registry = service.extra("registry", ModelRegistry.load)
        except ConfigError as exc:
            raise ApiError(503, f"model registry: {exc}", code="registry_unavailable") from None
        weights = Weights(1.0, req.cost_weight, req.latency_weight)
        return Router(registry=registry, tracker=service.tracker, policy=req.policy,
                      weights=weights)  # fmt: skip

    if len(service.extras) > MAX_ROUTERS and key not in service.extras:  # type: ignore[comparison-overlap]
        raise ApiError(422, "too many distinct policy/weight combinations", code="invalid_body")
    return service.extra(key, make)  # type: ignore[arg-type]


async def post_route(request: Request) -> Response:
    """``POST /v1/route``: a decision with candidates, reasons, fallbacks, propensity and
    the ``trace_id`` to report the call's outcome against."""
    from outcomes.routing import NoModelAvailable

    service = service_of(request)
    body = await read_small(request, service)
    req = _validate.decode(body, RouteRequest)
    if req.candidates is not None and len(req.candidates) > MAX_CANDIDATES:
        raise ApiError(413, f"at most {MAX_CANDIDATES} candidates", code="batch_too_large")
    router = _router(service, req)
    try:
        decision = router.decide(
            req.task, candidates=req.candidates, max_cost_usd=req.max_cost_usd,
            max_p95_ms=req.max_p95_ms, input_tokens=req.input_tokens,
            output_tokens=req.output_tokens,
        )  # fmt: skip
    except NoModelAvailable as exc:
        raise ApiError(409, str(exc), code="no_model_available") from None
    trace_id = req.trace_id
    if req.record and decision.model_id is not None:
        trace_id = await _start(service.tracker, service, req, decision)
    return Response(decision.to_json(trace_id=trace_id), media_type="application/json")


async def _start(
    tracker: OutcomeTracker, service: Service, req: RouteRequest, decision: Any
) -> str:
    def start() -> str:
        return tracker.record_start(
            decision.model_id, req.task, decision.reason, project_id=req.project_id,
            intent=req.intent, propensity=decision.propensity, trace_id=req.trace_id,
        )  # fmt: skip

    lock = service.apply_lock
    if lock.acquire(blocking=False):  # the usual case: no batch is replaying timestamps
        try:
            return start()
        finally:
            lock.release()

    def locked() -> str:
        with lock:
            return start()

    return await anyio.to_thread.run_sync(locked)


async def read_small(request: Request, service: Service) -> bytes:
    from outcomes.server._writes import body_of

    return await body_of(request, service)
