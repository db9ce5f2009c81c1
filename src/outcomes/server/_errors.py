"""The one JSON error envelope of the HTTP service.

Every error the service sends, whatever raised it (a bad body, a missing token, an
unknown route, a timeout, a bug), has this shape and a matching HTTP status::

    {"error": {"status": 422, "code": "invalid_body", "message": "...", "where": "[3].latency_ms"}}

``code`` is a stable machine-readable name (the table in ``docs/server.md``);
``message`` is for people and never echoes a body (a refused value may hold a secret);
``where`` names the field or item at fault when it is known, else ``null``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Send

from outcomes._redact import scrub_stored
from outcomes.errors import OutcomesError, StoreError, ValidationError

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_body",
    500: "internal",
    503: "unavailable",
    504: "timeout",
}
"""The default code of each status; an :class:`ApiError` may name a finer one."""


class ApiError(OutcomesError):
    """An error the service answers with its envelope: ``status``, ``code``, ``message``,
    ``where``. Raised by handlers; rendered by :func:`error_response`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        where: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.where = where
        self.headers = headers or {}


def envelope(status: int, code: str, message: str, where: str | None = None) -> bytes:
    """The envelope's JSON bytes (messages are scrubbed of credentials once more)."""
    body = {"status": status, "code": code, "message": scrub_stored(message), "where": where}
    return msgspec.json.encode({"error": body})


def error_response(exc: ApiError) -> Response:
    headers = dict(exc.headers)
    return Response(
        envelope(exc.status, exc.code, exc.message, exc.where),
        status_code=exc.status,
        media_type="application/json",
        headers=headers,
    )


async def send_error(send: Send, exc: ApiError) -> None:
    """Send the envelope from plain ASGI code (middleware that answers before the app)."""
    body = envelope(exc.status, exc.code, exc.message, exc.where)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def from_exception(exc: BaseException) -> ApiError:
    """The envelope of any exception a handler let through."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, HTTPException):
        message = str(exc.detail) if exc.detail else CODES.get(exc.status_code, "error")
        return ApiError(exc.status_code, message, headers=dict(exc.headers or {}))
    if isinstance(exc, ValidationError):
        return ApiError(422, exc.reason, where=exc.where)
    if isinstance(exc, StoreError):
        return ApiError(503, f"store unavailable: {exc}", code="store_unavailable")
    return ApiError(500, f"internal error ({type(exc).__name__}); see the server log")


async def handle(request: Request, exc: Exception) -> Response:
    """Starlette exception handler: every error becomes the envelope."""
    return error_response(from_exception(exc))


HANDLERS: dict[Any, Any] = {HTTPException: handle, Exception: handle, OutcomesError: handle}
