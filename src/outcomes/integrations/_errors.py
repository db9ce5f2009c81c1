"""What an integration records about a failed client call: a short, privacy-safe error
text and a Retry-After.

The text is the exception's type, its HTTP status when it has one, and a kind word
(``rate_limit``, ``server_error``, ``timeout``, ``connection``, ``abandoned``), never the
exception's message (a provider may echo the prompt in it). A rate limit always carries
``429`` in the text, whatever the SDK's message says, so the tracker's cooldown and
exclusion fire for ``RateLimitError`` objects whose text lacks it.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

from outcomes.inference._calls import describe_error

ABANDONED = "StreamAbandoned abandoned"
"""The error text of a stream that the caller stopped reading before its end."""


def _status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "status", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _kind(exc: BaseException, status: int | None) -> str | None:
    names = " ".join(t.__name__ for t in type(exc).__mro__).lower()
    if status == 429 or "ratelimit" in names:
        return "rate_limit"
    if "timeout" in names:
        return "timeout"
    if status is not None and status >= 500:
        return "server_error"
    if "connection" in names or "remoteprotocol" in names:
        return "connection"
    return None


def _seconds(raw: object, *, millis: bool = False) -> float | None:
    if raw is None:
        return None
    text = str(raw).strip()
    try:
        value = float(text) / (1000.0 if millis else 1.0)
    except ValueError:
        if millis:
            return None
        try:  # Retry-After may be an HTTP date
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        value = max(0.0, when.timestamp() - time.time())
    return value if math.isfinite(value) and value >= 0 else None


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds to wait from the error's response headers (``retry-after-ms``, then
    ``retry-after`` in seconds or as an HTTP date), or its ``retry_after`` attribute."""
    headers: Any = getattr(getattr(exc, "response", None), "headers", None)
    if headers is not None:
        try:
            found = _seconds(headers.get("retry-after-ms"), millis=True)
            if found is None:
                found = _seconds(headers.get("retry-after"))
        except Exception:
            found = None
        if found is not None:
            return found
    return describe_error(exc)[1]


def classify(exc: BaseException) -> tuple[str, float | None]:
    """The error text to record for ``exc`` and its Retry-After in seconds (or None)."""
    status = _status_of(exc)
    parts = [type(exc).__name__]
    if status is not None:
        parts.append(str(status))
    kind = _kind(exc, status)
    if kind == "rate_limit" and status != 429:
        parts.append("429")
    if kind is not None:
        parts.append(kind)
    return " ".join(parts), retry_after_of(exc)


__all__ = ["ABANDONED", "classify", "retry_after_of"]
