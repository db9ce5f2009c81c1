"""Write endpoints: each answers only once what it accepted is committed."""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from outcomes.server._events import apply_items, split_items
from outcomes.server._limits import read_body
from outcomes.server._middleware import READ_DONE
from outcomes.server._service import Service, service_of


async def body_of(request: Request, service: Service) -> bytes:
    body = await read_body(request, service.limits)
    request.scope[READ_DONE] = True
    return body


async def post_events(request: Request) -> Response:
    """``POST /v1/events``: a JSON array or NDJSON of ingest events (see ``_events``)."""
    service = service_of(request)
    body = await body_of(request, service)
    items = split_items(body, request.headers.get("content-type", ""), service.limits)
    before = service.losses()
    report = await anyio.to_thread.run_sync(apply_items, service.tracker, service.apply_lock, items)
    service.metrics.rejected.labels("events").inc(report.rejected_count)
    await service.commit(before)
    service.metrics.accepted.labels("events").inc(report.accepted)
    return JSONResponse(report.to_json())
