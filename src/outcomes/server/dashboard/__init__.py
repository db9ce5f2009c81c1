"""The read-only dashboard: pages of charts and tables over what a tracker's store holds.

:func:`create_dashboard_app` returns a Starlette application that ``outcomes serve``
mounts at ``/`` behind its API routes (and its token rule). Every page is server-rendered
HTML with inline SVG charts: nothing is fetched from elsewhere, pages work without
JavaScript, and each page links to the JSON call that returns its data
(``{api_prefix}/dashboard/<page>``). See ``docs/dashboard.md``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from outcomes._redact import scrub_stored
from outcomes.errors import OutcomesError, ValidationError
from outcomes.inference import OutcomeTracker, ProfileState
from outcomes.server.dashboard import _data, _pages, _report_pages, _reports
from outcomes.server.dashboard._filters import Filters
from outcomes.server.dashboard._html import esc, frame, notes

__all__ = ["create_dashboard_app"]

_HEADERS = {
    # Everything is inline and same-origin: forbid anything else outright.
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


_ICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" '
    b'rx="3" fill="#123"/><path d="M3 12l3-4 3 2 4-6" stroke="#E69F00" stroke-width="2" '
    b'fill="none"/></svg>'
)


PAGES: dict[str, tuple[Callable[[_data.Source, Filters], _data.Data], _pages.Render]] = {
    "models": (_data.models_data, _pages.models_page),
    "routing": (_data.routing_data, _pages.routing_page),
    "calibration": (_reports.calibration_data, _report_pages.calibration_page),
    "components": (_reports.components_data, _report_pages.components_page),
    "code": (_reports.code_data, _report_pages.code_page),
    "trajectories": (_reports.trajectories_data, _report_pages.trajectories_page),
}
"""The list pages by path: their data function and their renderer (a model's and a run's
pages take an id as well)."""

DETAILS: dict[
    str, tuple[str, str, Callable[[_data.Source, Filters, str], _data.Data], _pages.Render]
] = {
    "models": ("model_id", "Model", _data.model_data, _pages.model_page),
    "trajectories": ("run_id", "Run", _reports.trajectory_data, _report_pages.trajectory_page),
}
"""The pages of one model and of one run, under the list page they belong to: the path
parameter that names it, the first word of the title, the data function, the renderer."""


def _json(data: Any, status: int = 200) -> Response:
    def finite(v: Any) -> Any:
        # NaN/inf are not JSON: an undefined number reads as null, as in the CLI's --json.
        return None if isinstance(v, float) and not math.isfinite(v) else v

    body = msgspec.json.encode(_walk(data, finite))
    return Response(body, status_code=status, media_type="application/json", headers=_HEADERS)


def _walk(v: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(v, dict):
        return {k: _walk(x, fn) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_walk(x, fn) for x in v]
    return fn(v)


RETRY_S = 2
"""How often a page whose report is still being computed reloads itself (seconds)."""


def _computing_page(request: Request, title: str, current: str, exc: _data.Computing) -> Response:
    # 200, not 503: the server is fine and a browser would log a 5xx as a console error.
    # A meta refresh reloads the page (no script needed); the link does it by hand.
    root = str(request.scope.get("root_path", "")).rstrip("/")
    here = f"{root}/{current}" + (f"?{request.url.query}" if request.url.query else "")
    body = (
        f'<p class="note computing" role="status">The {esc(exc.report)} report is being '
        f"computed ({exc.seconds:.1f} s so far; it started with the server). This page "
        f'reloads itself every {RETRY_S} s, or <a href="{esc(here)}">reload it now</a>.</p>'
    )
    html = frame(title, current, root, body).replace(
        "<head>", f'<head><meta http-equiv="refresh" content="{RETRY_S}">', 1
    )
    return HTMLResponse(html, headers=_HEADERS)


def _error(status: int, code: str, message: str, where: str | None) -> Response:
    # The service's error envelope (docs/server.md), for the JSON calls.
    body = {"error": {"status": status, "code": code, "message": message, "where": where}}
    return _json(body, status)


class _Dashboard:
    def __init__(
        self,
        tracker: OutcomeTracker,
        api_prefix: str,
        clock: Callable[[], float],
        replay: Path | None,
    ):
        if tracker.store is None:
            raise ValueError("the dashboard needs a tracker with a store")
        self.src = _data.Source(tracker, tracker.store, clock, replay)
        self.api = api_prefix

    def _filters(self, request: Request) -> Filters:
        return Filters.parse(dict(request.query_params))

    def _ctx(self, request: Request, f: Filters) -> _pages.Ctx:
        def keys(state: ProfileState) -> tuple[tuple[str, ...], tuple[str, ...]]:
            tasks = sorted({k[1] for k in state.parts})
            projects = sorted({k[2] for k in state.parts if k[2] is not None})
            return tuple(tasks), tuple(projects)

        tasks, projects = self.src.book.read(keys)
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return _pages.Ctx(root, self.api, f, tasks, projects)

    def _page(
        self,
        request: Request,
        current: str,
        title: str,
        make: Callable[[Filters], _data.Data],
        render: _pages.Render,
    ) -> Response:
        try:
            f = self._filters(request)
        except ValidationError as exc:
            root = str(request.scope.get("root_path", "")).rstrip("/")
            body = (
                notes([f"Invalid filter: {exc}"])
                + f'<p><a href="{esc(root)}/{current}">reset filters</a></p>'
            )
            return HTMLResponse(frame(title, current, root, body), 400, headers=_HEADERS)
        try:
            ctx = self._ctx(request, f)
            html = frame(title, current, ctx.root, render(ctx, make(f)), f.query())
        except _data.Computing as exc:
            return _computing_page(request, title, current, exc)
        except OutcomesError as exc:
            root = str(request.scope.get("root_path", "")).rstrip("/")
            body = notes([f"The store cannot be read: {scrub_stored(str(exc))}"])
            return HTMLResponse(frame(title, current, root, body), 503, headers=_HEADERS)
        return HTMLResponse(html, headers=_HEADERS)

    def _json_call(self, request: Request, make: Callable[[Filters], _data.Data]) -> Response:
        try:
            f = self._filters(request)
        except ValidationError as exc:
            return _error(400, "invalid_query", exc.reason, exc.where)
        try:
            return _json(make(f))
        except _data.Computing as exc:
            # 202: nothing is wrong, the answer is not ready; Retry-After says when to ask.
            body = {
                "computing": {
                    "report": exc.report,
                    "seconds": round(exc.seconds, 1),
                    "retry_after_s": RETRY_S,
                }
            }
            r = _json(body, 202)
            r.headers["retry-after"] = str(RETRY_S)
            return r
        except OutcomesError as exc:
            return _error(
                503, "store_unavailable", f"store unavailable: {scrub_stored(str(exc))}", None
            )

    def routes(self) -> list[Route]:
        routes = [Route("/", self.home, methods=["GET"]), Route("/favicon.ico", self.icon)]
        for key, (fn, render) in PAGES.items():
            title = _pages.TITLES[key]
            routes.append(
                Route(f"/{key}", self._list_page(key, title, fn, render), methods=["GET"])
            )
            routes.append(
                Route(f"{self.api}/dashboard/{key}", self._list_data(fn), methods=["GET"])
            )
        for key, (param, noun, detail, render) in DETAILS.items():
            page, data = self._detail(key, param, noun, detail, render)
            routes.append(Route(f"/{key}/{{{param}:path}}", page, methods=["GET"]))
            routes.append(
                Route(f"{self.api}/dashboard/{key}/{{{param}:path}}", data, methods=["GET"])
            )
        return routes

    def _list_page(
        self,
        key: str,
        title: str,
        fn: Callable[[_data.Source, Filters], _data.Data],
        render: _pages.Render,
    ) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            return self._page(request, key, title, lambda f: fn(self.src, f), render)

        return endpoint

    def _list_data(
        self, fn: Callable[[_data.Source, Filters], _data.Data]
    ) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            return self._json_call(request, lambda f: fn(self.src, f))

        return endpoint

    def _detail(
        self,
        key: str,
        param: str,
        noun: str,
        detail: Callable[[_data.Source, Filters, str], _data.Data],
        render: _pages.Render,
    ) -> tuple[Callable[[Request], Response], Callable[[Request], Response]]:
        """The page and the JSON endpoint of one item named by the path parameter."""

        def page(request: Request) -> Response:
            name = request.path_params[param]
            title = f"{noun} {name}"
            return self._page(request, key, title, lambda f: detail(self.src, f, name), render)

        def data(request: Request) -> Response:
            name = request.path_params[param]
            return self._json_call(request, lambda f: detail(self.src, f, name))

        return page, data

    def icon(self, request: Request) -> Response:
        # Browsers ask for it on every page; answering keeps their consoles free of 404s.
        return Response(
            _ICON, media_type="image/svg+xml", headers={"cache-control": "max-age=86400"}
        )

    def home(self, request: Request) -> Response:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        query = request.url.query
        return RedirectResponse(f"{root}/models" + (f"?{query}" if query else ""), 307)


def create_dashboard_app(
    tracker: OutcomeTracker,
    *,
    api_prefix: str = "/v1",
    replay: str | os.PathLike[str] | None = None,
    clock: Callable[[], float] = _data.now,
    warm_up: bool = False,
) -> Starlette:
    """The dashboard's pages and their JSON calls over ``tracker``'s store (read-only).

    Pages: ``/models`` (also ``/``), ``/models/{model_id}``, ``/routing``,
    ``/calibration``, ``/components``, ``/code``, ``/trajectories``,
    ``/trajectories/{run_id}``; each takes the filters ``since`` (``24h``, ``7d``...),
    ``task``, ``project``, ``tag`` and ``limit``, and its data is at
    ``{api_prefix}/dashboard/<same path>``. ``replay`` names a report of
    ``outcomes bench router --json`` whose quality/cost frontier the routing page draws
    (read on each request; a bad file is reported on the page). ``clock`` (Unix seconds)
    is for tests. ``warm_up``: on start-up (the app's lifespan), start computing the
    reports that resample (calibration, off-policy, conflicts) in the background, so their
    pages' first calls are served from memory; a call that arrives before a report is
    ready gets a "being computed" page (or a 202 JSON answer) at once instead of waiting.
    ``outcomes serve`` sets it.
    Authentication is the mounting service's job (``outcomes serve`` guards every route
    with its token). Raises ``ValueError`` for a tracker without a store.
    """
    if not api_prefix.startswith("/") or api_prefix.endswith("/"):
        raise ValueError(f"api_prefix must start with '/' and not end with one: {api_prefix!r}")
    dash = _Dashboard(tracker, api_prefix, clock, Path(replay) if replay is not None else None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if warm_up:
            _reports.warm_up(dash.src)
        try:
            yield
        finally:
            dash.src.close()

    return Starlette(routes=dash.routes(), lifespan=lifespan)
