"""Checks at the tracker's edges, and reading hints out of error texts."""

from __future__ import annotations

import math
import re

from outcomes import config
from outcomes._redact import is_own_id, refuse_secret
from outcomes._secrets import none_may_hold_secret
from outcomes._validate import check_label as _check_label
from outcomes.errors import ValidationError

_RETRY_AFTER_RE = re.compile(r"retry[-_ ]?after\D{0,4}(\d+(?:\.\d+)?)", re.IGNORECASE)


def setting(name: str, default: float) -> float:
    return config._env_value(name, config._positive_float, default, None)


def retry_after_from(error: str) -> float | None:
    """Seconds from a ``Retry-After: N`` hint in an error text, if any."""
    m = _RETRY_AFTER_RE.search(error)
    if m is None:
        return None
    value = float(m.group(1))
    return value if math.isfinite(value) and value >= 0 else None


def check_label(value: object, where: str, *, optional: bool = True) -> str | None:
    """Return ``value`` as a valid label (NFKC-normalized), or None when it is None and
    ``optional``; raise :class:`ValidationError` otherwise (see
    :func:`outcomes._validate.check_label`: 1-256 characters, no control, bidi, zero-width
    or other invisible character)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{where} must be a non-empty string of <= 256 chars", where=where)
    return refuse_secret(_check_label(value, where), where)


_TRACE = r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}"
_TRACE_RE = re.compile(_TRACE)
_TRACE_LINES_RE = re.compile(rf"{_TRACE}(?:\n{_TRACE})*")


def check_trace_id(value: object, where: str = "trace_id") -> str:
    if not isinstance(value, str) or not _TRACE_RE.fullmatch(value):
        raise ValidationError(
            f"{where} must be 1-128 letters, digits or _.:/- starting alphanumeric",
            where=where,
        )
    if is_own_id(value):  # made by outcomes (or in its shape): it cannot hold a secret
        return value
    return refuse_secret(value, where, unique=True)


def all_trace_ids_valid(ids: list[str]) -> bool:
    """Whether :func:`check_trace_id` accepts every one of ``ids``, found in one pass over
    them all (a batch); ``False`` also when it cannot tell: then check each."""
    joined = "\n".join(ids)
    return bool(_TRACE_LINES_RE.fullmatch(joined)) and none_may_hold_secret(ids)


def check_count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{where} must be an integer >= 0, got {value!r}", where=where)
    return value


def check_amount(value: object, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValidationError(f"{where} must be a finite number >= 0, got {value!r}", where=where)
    return float(value)
