"""``create_app``: the ASGI application behind ``outcomes serve``.

Starlette, not FastAPI: every body is already decoded and checked by the project's one
validation system (``outcomes._validate``, msgspec), so FastAPI's pydantic layer would
be a second validation system and its largest dependency; the OpenAPI document is
written from the same msgspec types (``_openapi.py``). See ``docs/server.md``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from outcomes.config import WriterSettings
from outcomes.inference import OutcomeTracker
from outcomes.server import _ops, _writes
from outcomes.server._errors import HANDLERS
from outcomes.server._limits import ServerLimits
from outcomes.server._metrics import Metrics
from outcomes.server._middleware import ServiceMiddleware
from outcomes.server._service import Service
from outcomes.store import BackgroundWriter, Store

log = logging.getLogger("outcomes.server")

Endpoint = Callable[..., Any]


def routes() -> list[Route]:
    """Every route of the API, in the order ``/openapi.json`` lists them."""
    return [
        Route("/healthz", _ops.healthz, methods=["GET"]),
        Route("/readyz", _ops.readyz, methods=["GET"]),
        Route("/metrics", _ops.metrics, methods=["GET"]),
        Route("/v1/events", _writes.post_events, methods=["POST"]),
    ]


def tracker_for(store: Store) -> OutcomeTracker:
    """The service's tracker on ``store``: strict (bad values are refused, per item) and
    with a writer that waits for room rather than drop (a write is answered only once
    committed, so nothing accepted may be dropped)."""
    writer = BackgroundWriter(store, WriterSettings.from_env(overflow="block"))
    return OutcomeTracker(store, writer=writer, strict=True)


def create_app(
    source: OutcomeTracker | Store,
    *,
    token: str | None = None,
    limits: ServerLimits | None = None,
) -> Starlette:
    """The HTTP service on ``source``: a tracker (used as it is; its owner closes it) or
    a store (the app makes a strict tracker with a blocking writer and closes both, after
    draining the writer, when the server shuts down).

    ``token``: when set, every request but ``GET /healthz`` must carry
    ``Authorization: Bearer <token>``. ``limits``: body, batch and time limits.
    """
    if token is not None and not token.strip():
        raise ValueError("token must not be empty")
    limits = limits if limits is not None else ServerLimits()
    owns = not isinstance(source, OutcomeTracker)
    tracker = tracker_for(source) if not isinstance(source, OutcomeTracker) else source
    service = Service(tracker=tracker, limits=limits, metrics=Metrics(tracker), owns_tracker=owns)
    table = routes()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        log.info("shutting down: committing what was accepted")
        service.close()

    app = Starlette(routes=table, exception_handlers=HANDLERS, lifespan=lifespan)
    app.state.service = service
    route_of = {route.endpoint: route.path for route in table}
    app.add_middleware(
        ServiceMiddleware, token=token, limits=limits, metrics=service.metrics, route_of=route_of
    )
    return app
