"""The service's one piece of ASGI middleware: token check, time limit, metrics, access log.

One plain ASGI layer (not Starlette's ``BaseHTTPMiddleware``, which costs a task and a
stream per request): it answers 401 before the app sees a request without the token,
cancels a request that runs past its time limit, and after each response counts it and
writes one structured access-log line. Nothing of a body, a query string or a header
value is logged.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import msgspec
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outcomes.server._errors import ApiError, send_error
from outcomes.server._limits import ServerLimits
from outcomes.server._metrics import Metrics

log = logging.getLogger("outcomes.server.access")

OPEN_PATHS = frozenset({"/healthz"})
"""Paths answered without the token (liveness probes carry none)."""

READ_DONE = "outcomes.read_done"
"""Scope key set once the body was read: a timeout after it is the server's (504), one
before it the client's (408)."""


def _on_asyncio() -> bool:
    """Whether this task runs on an asyncio event loop (not trio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _bearer(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = bytes(value).partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else None
    return None


class ServiceMiddleware:
    """Wraps the app: ``token`` (or None), ``limits``, ``metrics``, and ``route_of`` to
    name a request's route by its endpoint (a bounded label set, not raw paths)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        limits: ServerLimits,
        metrics: Metrics,
        route_of: Mapping[Any, str],
    ) -> None:
        self.app = app
        self.token = None if token is None else token.encode()
        self.limits = limits
        self.metrics = metrics
        self.route_of = route_of
        self.clock: Callable[[], float] = time.perf_counter
        self.asyncio: bool | None = None
        """Whether requests run on asyncio, learned from the first."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            if self.token is not None and scope["path"] not in OPEN_PATHS:
                given = _bearer(scope)
                # compare_digest: the time taken does not say how much of a guess was right.
                if given is None or not hmac.compare_digest(given, self.token):
                    raise ApiError(
                        401, "missing or wrong token (Authorization: Bearer <token>)",
                        headers={"WWW-Authenticate": "Bearer"},
                    )  # fmt: skip
            expired = await self._within_limit(scope, receive, send_wrapper)
            if expired and status == 0:
                if scope.get(READ_DONE):
                    raise ApiError(504, "the request did not finish in time; retry it")
                raise ApiError(408, "the request body did not arrive in time")
        except ApiError as exc:
            if status == 0:
                status = exc.status
                await send_error(send, exc)
        finally:
            self._account(scope, status, self.clock() - started)

    async def _within_limit(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Run the app under the request's time limit; True when the limit cut it short.

        On asyncio (uvicorn) with ``asyncio.timeout``: one timer, against anyio's cancel
        scope, which also asks sniffio for the running library twice and keeps a host
        task's book of scopes, each request (about half a route request's time-limit
        cost, in-process; docs/server.md). Elsewhere (trio), anyio's scope."""
        limit = self.limits.request_timeout_s
        if self.asyncio is None:
            self.asyncio = _on_asyncio()  # an app serves under one event loop library
        if not self.asyncio:
            with anyio.move_on_after(limit) as deadline:
                await self.app(scope, receive, send)
            return deadline.cancelled_caught
        timeout = asyncio.timeout(limit)
        try:
            async with timeout:
                await self.app(scope, receive, send)
        except TimeoutError:
            if not timeout.expired():
                raise  # the app's own TimeoutError, not the limit's
            return True
        return False

    def _account(self, scope: Scope, status: int, seconds: float) -> None:
        route = self.route_of.get(scope.get("endpoint"), "unmatched")
        self.metrics.observe(scope["method"], route, status, seconds)
        if log.isEnabledFor(logging.INFO):
            client = scope.get("client")
            line = {
                "method": scope["method"],
                "path": scope["path"][:200],
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 3),
                "client": client[0] if client else None,
            }
            log.info(msgspec.json.encode(line).decode())
