"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from outcomes._schema import ALL_MIGRATIONS
from outcomes.errors import OutcomesError
from outcomes.server._errors import ApiError
from outcomes.server._metrics import CONTENT_TYPE
from outcomes.server._service import service_of


async def healthz(request: Request) -> Response:
    """The process answers (no store access, no token: for liveness probes)."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """The store is reachable and every migration this version knows is applied."""
    service = service_of(request)
    store = service.store
    try:
        status = await anyio.to_thread.run_sync(store.migration_status, ALL_MIGRATIONS)
    except (OutcomesError, OSError) as exc:
        raise ApiError(503, f"store unreachable: {exc}", code="not_ready") from None
    if status.pending or status.unknown:
        pending = ", ".join(status.pending) or "none"
        unknown = ", ".join(status.unknown) or "none"
        raise ApiError(503, f"migrations pending: {pending}; unknown: {unknown}", code="not_ready")
    return JSONResponse(
        {"status": "ready", "store": store.kind, "schema_version": status.schema_version}
    )


async def metrics(request: Request) -> Response:
    body = await anyio.to_thread.run_sync(service_of(request).metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
