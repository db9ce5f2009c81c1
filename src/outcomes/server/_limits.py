"""Bounds on what one request may cost the service: body size, batch size, time.

A body is read in chunks and refused as soon as it passes ``max_body_bytes`` (its
declared ``Content-Length`` is checked before reading anything), so a hostile client
cannot make the server hold more than the limit; the whole request, reading included,
must finish within ``request_timeout_s`` or it is answered 408 (a slow client) or 504
(the store did not commit in time).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request

from outcomes import config
from outcomes.errors import ConfigError
from outcomes.server._errors import ApiError

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_ITEMS = 10_000
DEFAULT_REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Per-request limits of the service (see ``docs/server.md``).

    ``max_body_bytes``: largest request body; ``max_items``: most events (or other
    records) in one write; ``request_timeout_s``: the longest a request may take, from
    the first body byte to the commit of what it sent.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_items: int = DEFAULT_MAX_ITEMS
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S

    @classmethod
    def from_env(cls) -> ServerLimits:
        """Limits from ``OUTCOMES_SERVER_REQUEST_TIMEOUT`` and ``..._MAX_BODY_BYTES``."""
        timeout = config.env_float(config.ENV_SERVER_REQUEST_TIMEOUT, DEFAULT_REQUEST_TIMEOUT_S)
        size = config.env_float(config.ENV_SERVER_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES)
        return cls(max_body_bytes=int(size), request_timeout_s=timeout)

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1 or self.max_items < 1:
            raise ConfigError("max_body_bytes and max_items must be >= 1")
        if not 0 < self.request_timeout_s <= 3600:
            raise ConfigError("request_timeout_s must be in (0, 3600] seconds")


def too_large(limits: ServerLimits) -> ApiError:
    return ApiError(413, f"request body larger than {limits.max_body_bytes} bytes")


async def read_body(request: Request, limits: ServerLimits) -> bytes:
    """The request body, refused (413) as soon as it is known to pass the limit."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "Content-Length is not a number", where="content-length")
        if int(declared) > limits.max_body_bytes:
            raise too_large(limits)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise too_large(limits)
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "client disconnected before sending the whole body") from None
    return b"".join(chunks)


def check_items(n: int, limits: ServerLimits) -> None:
    if n > limits.max_items:
        raise ApiError(413, f"{n} items in one request; at most {limits.max_items}",
                       code="batch_too_large")  # fmt: skip
