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

import msgspec
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from outcomes._schema import ALL_MIGRATIONS
from outcomes.config import WriterSettings
from outcomes.inference import OutcomeTracker
from outcomes.server import _openapi
from outcomes.server._errors import HANDLERS
from outcomes.server._limits import ServerLimits
from outcomes.server._metrics import Metrics
from outcomes.server._middleware import ServiceMiddleware
from outcomes.server._service import Service
from outcomes.store import BackgroundWriter, Store

log = logging.getLogger("outcomes.server")

Endpoint = Callable[..., Any]


HOT_PATHS = ("/v1/events", "/v1/route", "/v1/models")
"""Matched first: Starlette tries routes in order (a regular expression each), and these
carry the traffic. No two API paths match the same request, so the order changes nothing
else."""


def routes() -> list[Route]:
    """Every route of the API, from the one table of operations (``_openapi.py``), the
    :data:`HOT_PATHS` first."""
    from outcomes.server._openapi import OPERATIONS

    def rank(op: Any) -> int:
        return HOT_PATHS.index(op.path) if op.path in HOT_PATHS else len(HOT_PATHS)

    ordered = sorted(OPERATIONS, key=rank)
    return [Route(op.path, op.endpoint, methods=[op.method]) for op in ordered]


def routes_of(table: list[BaseRoute]) -> list[Route]:
    return [route for route in table if isinstance(route, Route)]


def tracker_for(store: Store) -> OutcomeTracker:
    """The service's tracker on ``store``: strict (bad values are refused, per item), with
    a writer that waits for room rather than drop (a write is answered only once
    committed, so nothing accepted may be dropped), and without a local profile fold:
    every read of the service is of the store's rollups, which fold each receipt."""
    writer = BackgroundWriter(store, WriterSettings.from_env(overflow="block"))
    return OutcomeTracker(store, writer=writer, strict=True, local_profiles=False)


def create_app(
    source: OutcomeTracker | Store,
    *,
    token: str | None = None,
    limits: ServerLimits | None = None,
    dashboard: bool = True,
) -> Starlette:
    """The HTTP service on ``source``: a tracker (used as it is; its owner closes it) or
    a store (the app makes a strict tracker with a blocking writer and closes both, after
    draining the writer, when the server shuts down).

    ``token``: when set, every request but ``GET /healthz`` must carry
    ``Authorization: Bearer <token>``. ``limits``: body, batch and time limits.
    ``dashboard``: mount the read-only dashboard (``outcomes.server.dashboard``) at ``/``
    behind the API routes (and the same token rule).
    """
    if token is not None and not token.strip():
        raise ValueError("token must not be empty")
    limits = limits if limits is not None else ServerLimits()
    owns = not isinstance(source, OutcomeTracker)
    tracker = tracker_for(source) if not isinstance(source, OutcomeTracker) else source
    if tracker.store is not None:
        # Every wing's schema now, so /readyz can say "all applied" (and the first write
        # to a wing does not wait for its migration).
        tracker.store.migrate(ALL_MIGRATIONS)
    service = Service(tracker=tracker, limits=limits, metrics=Metrics(tracker), owns_tracker=owns)
    table: list[BaseRoute] = list(routes())
    pages: Starlette | None = None
    if dashboard and tracker.store is not None:
        from outcomes.server.dashboard import create_dashboard_app

        # The dashboard's routes join ours after the API's (not a Mount at "/"): a path
        # that neither knows still gets the API's JSON 404 envelope.
        pages = create_dashboard_app(tracker, warm_up=True)
        table.extend(pages.routes)
    route_of: dict[Any, str] = {route.endpoint: route.path for route in routes_of(table)}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # A mounted app's lifespan does not run by itself: run the dashboard's inside ours.
        async with contextlib.AsyncExitStack() as stack:
            if pages is not None:
                await stack.enter_async_context(pages.router.lifespan_context(pages))
            yield
        log.info("shutting down: committing what was accepted")
        service.close()

    app = Starlette(routes=table, exception_handlers=HANDLERS, lifespan=lifespan)
    app.state.service = service
    extra = [(r.path, r.endpoint) for r in routes_of(list(pages.routes))] if pages else []
    app.state.openapi = msgspec.json.encode(_openapi.build(extra))
    app.add_middleware(
        ServiceMiddleware, token=token, limits=limits, metrics=service.metrics, route_of=route_of
    )
    return app
