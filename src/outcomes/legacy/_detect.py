"""Which format a file is in, from its first bytes and first JSON value (bounded reads)."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Any

from outcomes._safejson import loads
from outcomes.errors import ImportFormatError, OutcomesError

_SNIFF_BYTES = 1 << 16


class LegacyFormat(StrEnum):
    PROFILES = "profiles"
    """The older inference tracker's profile file (a JSON array of model profiles)."""
    LEDGER = "ledger"
    """Its receipt ledger (JSON lines without ``receipt_id``)."""
    COMPONENTS = "components"
    """The component tracker's JSON file (aggregates plus recent events)."""


def is_legacy_profiles(doc: Any) -> bool:
    return (
        isinstance(doc, list)
        and all(isinstance(p, dict) for p in doc)
        and any("model_id" in p and ("task_stats" in p or "total_calls" in p) for p in doc)
    )


def is_legacy_components(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and "format" not in doc
        and isinstance(doc.get("outcomes"), dict)
        and isinstance(doc.get("recent_events", []), list)
    )


def is_legacy_ledger_line(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and "receipt_id" not in obj
        and "v" not in obj
        and "trace_id" in obj
        and "model_id" in obj
        and "event" not in obj
    )


def detect_format(path: str | os.PathLike[str]) -> LegacyFormat:
    """Name the legacy format of ``path``; raise ImportFormatError when it is none of them.

    A file of ``outcomes``' own formats gets an error that names the command to use.
    """
    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    text = head.decode("utf-8", "replace").lstrip()
    if not text:
        raise ImportFormatError(f"{os.fspath(path)} is empty")
    if text.startswith("["):
        return LegacyFormat.PROFILES
    first = text.splitlines()[0]
    try:
        obj = loads(first)
    except OutcomesError:
        obj = None
    if isinstance(obj, dict):
        if obj.get("format") in ("outcomes.profiles", "outcomes.components"):
            raise ImportFormatError(
                f"{os.fspath(path)} is already an outcomes file ({obj['format']}): load it "
                "with OutcomeTracker.load_from_file or ComponentTracker.load"
            )
        if "receipt_id" in obj:
            raise ImportFormatError(
                f"{os.fspath(path)} is an outcomes ledger: use `outcomes ledger import`"
            )
        if is_legacy_ledger_line(obj):
            return LegacyFormat.LEDGER
    if text.startswith("{") and ('"recent_events"' in text or '"outcomes"' in text):
        return LegacyFormat.COMPONENTS
    raise ImportFormatError(
        f"{os.fspath(path)} is not a file of the older tools (a model-profile JSON array, a "
        "receipt ledger in JSON lines, or a component tracker JSON)"
    )
