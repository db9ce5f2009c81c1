"""Components, shadow observations and labels, trajectories: writes and reads.

Each write takes a JSON array (or NDJSON) of items, decodes every item with the one
validator into a typed record, applies the good ones through the wing's own API and
answers per item, once what it accepted is committed. The wing objects (a component
tracker, a shadow recorder, a trajectory store) are made on first use, on the service's
store, each with a writer that waits for room rather than drop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
import msgspec
from starlette.requests import Request
from starlette.responses import Response

from outcomes import _validate
from outcomes._validate import Id, Label, Probability, Text, Timestamp
from outcomes.config import WriterSettings
from outcomes.errors import ValidationError
from outcomes.server._errors import ApiError
from outcomes.server._events import WriteReport, split_items
from outcomes.server._reads import json_response
from outcomes.server._service import Service, service_of
from outcomes.server._writes import body_of
from outcomes.store import BackgroundWriter

T = TypeVar("T")
COMPONENTS_REFRESH_S = 1.0
"""Component statistics are re-read from the store at most this often (other processes)."""


class ComponentEventIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    component_id: Label
    outcome: Label
    context: Text = ""
    session_id: Label | None = None


class ObservationIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    memory_id: Label
    namespace: Label
    source: Label
    caller_confidence: Probability | None
    signals: dict[str, Any] | None = None
    derived_confidence: Probability | None = None
    recall_outcome: Label | None = None
    observed_at: Timestamp | None = None


class LabelIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    observation_id: Id
    outcome: bool
    recall_outcome: Label | None = None


class TrajectoryIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What :class:`~outcomes.trajectory.TrajectoryOutbox` sends."""

    run_id: str
    steps: msgspec.Raw
    pipeline: str = "review"
    project_id: Label | None = None
    created_at: Timestamp | None = None
    schema_version: int | None = None


def _writer(service: Service) -> BackgroundWriter:
    return BackgroundWriter(service.store, WriterSettings.from_env(overflow="block"))


def components(service: Service) -> Any:
    from outcomes.components import ComponentTracker

    return service.extra(
        "components", lambda: ComponentTracker(service.store, writer=_writer(service))
    )


def recorder(service: Service) -> Any:
    from outcomes.shadow import ShadowConfig, ShadowRecorder

    def make() -> Any:
        # Clients sample before they send: everything sent is recorded.
        config = ShadowConfig(enabled=True, sample_rate=1.0)
        return ShadowRecorder(service.store, config=config, writer=_writer(service))

    return service.extra("shadow", make)


def trajectories(service: Service) -> Any:
    from outcomes.trajectory import TrajectoryStore

    # "" and not None: a server never forwards what it receives to an outbox endpoint
    # (OUTCOMES_TRAJECTORY_ENDPOINT may well name this very server).
    return service.extra("trajectories", lambda: TrajectoryStore(service.store, outbox_endpoint=""))


def apply_each(
    items: list[bytes], type_: type[T], apply: Callable[[T], bool | str | None]
) -> WriteReport:
    """Decode each item into ``type_`` and ``apply`` it; a false result is "ignored", a
    string the id of the record made."""
    report = WriteReport()
    for index, raw in enumerate(items):
        if not raw.strip():
            continue
        report.received += 1
        try:
            changed = apply(_validate.decode(raw, type_))
        except ValidationError as exc:
            report.reject(index, exc.reason, exc.where)
            continue
        if changed is False:
            report.ignored += 1
            continue
        report.accepted += 1
        if isinstance(changed, str):
            report.ids.append({"index": index, "id": changed})
    return report


async def _write(
    request: Request,
    name: str,
    type_: type[T],
    wing: Callable[[Service], Any],
    apply: Callable[[Any, T], bool | str | None],
) -> Response:
    service = service_of(request)
    body = await body_of(request, service)
    items = split_items(body, request.headers.get("content-type", ""), service.limits)
    target = await anyio.to_thread.run_sync(wing, service)
    writer = getattr(target, "writer", None) or getattr(target, "_writer", None)
    before = _losses(writer)
    report = await anyio.to_thread.run_sync(
        apply_each, items, type_, lambda item: apply(target, item)
    )
    service.metrics.rejected.labels(name).inc(report.rejected_count)
    if writer is not None:
        result = await anyio.to_thread.run_sync(
            writer.flush, service.limits.request_timeout_s, abandon_on_cancel=True
        )
        if not result.committed:
            raise ApiError(504, "the store did not commit in time; send the batch again")
        if _losses(writer) > before:
            raise ApiError(503, "records were not stored; send the batch again", code="not_stored")
    service.metrics.accepted.labels(name).inc(report.accepted)
    return json_response(report.to_json())


def _losses(writer: BackgroundWriter | None) -> int:
    if writer is None:
        return 0
    stats = writer.stats()
    return stats.dropped + stats.failed


def _component(tracker: Any, e: ComponentEventIn) -> None:
    tracker.record_outcome(e.component_id, e.outcome, e.context, session_id=e.session_id)


async def post_component_events(request: Request) -> Response:
    """``POST /v1/components/events``: ``{"component_id", "outcome", "context"?,
    "session_id"?}`` items (outcomes as in ``docs/components.md``)."""
    return await _write(request, "components", ComponentEventIn, components, _component)


async def get_components(request: Request) -> Response:
    """``GET /v1/components``: every component's report (counts, rates with intervals,
    problematic, ranking multiplier), from statistics kept in memory and re-read from the
    store (one aggregate query) at most every second."""
    service = service_of(request)
    tracker = await anyio.to_thread.run_sync(components, service)
    if time.monotonic() - service.extras.get("components_read", 0.0) > COMPONENTS_REFRESH_S:
        await anyio.to_thread.run_sync(tracker.refresh)
        service.extras["components_read"] = time.monotonic()
    reports = await anyio.to_thread.run_sync(tracker.report)
    return json_response({"components": [r.to_json() for r in reports]})


def _observe(rec: Any, o: ObservationIn) -> str:
    return rec.record(  # type: ignore[no-any-return]
        o.memory_id, o.namespace, o.source, o.caller_confidence, o.signals,
        derived_confidence=o.derived_confidence, recall_outcome=o.recall_outcome,
        observed_at=o.observed_at,
    )  # fmt: skip


async def post_observations(request: Request) -> Response:
    """``POST /v1/shadow/observations``: observations a client sampled (all recorded);
    the answer's ``ids`` give each one's id, to label it later."""
    return await _write(request, "shadow_observations", ObservationIn, recorder, _observe)


def _label(rec: Any, item: LabelIn) -> bool:
    found = rec.label(item.observation_id, item.outcome, recall_outcome=item.recall_outcome)
    if not found:
        raise ValidationError(f"no observation {item.observation_id!r}", where="observation_id")
    return True


async def post_labels(request: Request) -> Response:
    """``POST /v1/shadow/labels``: ``{"observation_id", "outcome": bool}`` items."""
    return await _write(request, "shadow_labels", LabelIn, recorder, _label)


async def shadow_report(request: Request) -> Response:
    """``GET /v1/shadow/report?namespace=``: the calibration report (caller vs derived)."""
    from outcomes.shadow import calibration_report
    from outcomes.shadow._report import report_json

    service = service_of(request)
    namespace = request.query_params.get("namespace") or None
    if namespace is not None:
        namespace = _validate.check_label(namespace, "namespace")
    groups = await anyio.to_thread.run_sync(
        lambda: calibration_report(service.store, namespace=namespace)
    )
    return json_response({"groups": report_json(groups)})


async def post_trajectory(request: Request) -> Response:
    """``POST /v1/trajectories``: one trajectory as the outbox sends it. Idempotent: a
    run id already stored is answered ``"duplicate"`` (200), so at-least-once delivery
    stores each run once."""
    service = service_of(request)
    body = await body_of(request, service)
    upload = _validate.decode(body, TrajectoryIn)
    store = await anyio.to_thread.run_sync(trajectories, service)

    def save() -> str:
        if store.run(upload.run_id) is not None:
            return "duplicate"
        store.import_json(
            upload.run_id, bytes(upload.steps), pipeline=upload.pipeline,
            project_id=upload.project_id, created_at=upload.created_at,
        )  # fmt: skip
        return "stored"

    status = await anyio.to_thread.run_sync(save)
    service.metrics.accepted.labels("trajectories").inc(status == "stored")
    return json_response({"run_id": upload.run_id, "status": status})


async def get_trajectory(request: Request) -> Response:
    """``GET /v1/trajectories/{run_id}``: the run's header and its steps (wire form)."""
    service = service_of(request)
    run_id = str(request.path_params["run_id"])
    store = await anyio.to_thread.run_sync(trajectories, service)

    document = await anyio.to_thread.run_sync(store.document, run_id)
    if document is None:
        raise ApiError(404, f"no trajectory {run_id!r}", where="run_id")
    return json_response(document)
