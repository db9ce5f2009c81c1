"""Write endpoints: each answers only once what it accepted is committed."""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from outcomes.inference._ingest import decode_event
from outcomes.server._events import (
    Decoder,
    WriteReport,
    apply_items,
    decode_batch,
    decode_feedback,
    split_items,
)
from outcomes.server._limits import read_body
from outcomes.server._middleware import READ_DONE
from outcomes.server._service import Service, service_of


async def body_of(request: Request, service: Service) -> bytes:
    body = await read_body(request, service.limits)
    request.scope[READ_DONE] = True
    return body


async def post_events(request: Request) -> Response:
    """``POST /v1/events``: a JSON array or NDJSON of ingest events (see ``_events``)."""
    return await _tracker_write(request, "events", decode_event)


async def post_feedback(request: Request) -> Response:
    """``POST /v1/feedback``: items of :meth:`OutcomeTracker.feedback`'s arguments
    (``trace_id`` plus ``score``/``score_range``/``label``/``thumbs``/``user_id``/
    ``session_id``/``tags``/``metadata``/``signal_id``), the ingest ``feedback`` line."""
    return await _tracker_write(request, "feedback", decode_feedback)


async def _tracker_write(request: Request, name: str, decode: Decoder) -> Response:
    service = service_of(request)
    body = await body_of(request, service)
    # Counted from the moment its body is in, not from its apply: a commit waits
    # (briefly) for the batches of every request already read, so that one transaction
    # covers them all (see Service._flush). Not from its arrival: a client sending its
    # body slowly would hold every other request's commit for the whole group wait.
    end_once = service.begin_apply()
    try:
        content_type = request.headers.get("content-type", "")
        items = split_items(body, content_type, service.limits)
        before = service.losses()

        def apply_and_commit() -> WriteReport:
            # One trip to a worker thread for both steps (each trip costs the event loop
            # a queue hand-off and a wake-up): apply, off the loop, then wait for the
            # commit.
            try:
                # One decode of the whole batch when every event is good.
                decoded = (
                    decode_batch(body, content_type, items) if decode is decode_event else None
                )
                report = apply_items(service.tracker, service.apply_lock, items, decode, decoded)
            finally:
                end_once()
            service.metrics.rejected.labels(name).inc(report.rejected_count)
            service.committed(before)
            return report

        # Abandoned on the request's time limit (answered 504): the batch still applies
        # and commits, as a slow commit's records do.
        report = await anyio.to_thread.run_sync(apply_and_commit, abandon_on_cancel=True)
    finally:
        end_once()  # also when the items failed or the request was cancelled
    service.metrics.accepted.labels(name).inc(report.accepted)
    return JSONResponse(report.to_json())
