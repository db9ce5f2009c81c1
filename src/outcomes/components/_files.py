"""The JSON file format of ``ComponentTracker.save``/``load``.

A file holds every event (not aggregates, not only the recent ones), so loading it
rebuilds exactly the statistics that were saved::

    {"format": "outcomes.components", "version": 1, "saved_at": 1700000000.0,
     "events": [{"event_id": "...", "component_id": "a", "outcome": "install_failure",
                 "timestamp": 1700000000.0, "session_id": "s1", "context": "..."}]}

Writes are atomic (temp file in the same folder, fsync, rename) and owner-only. A file
that cannot be read back is renamed aside to ``<name>.corrupt-<time>-<random>`` with a
warning, so that the next save cannot destroy the history it held (file safety is
:mod:`outcomes._files`, shared by every wing).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from outcomes._files import atomic_open, clean_stale_tmp, quarantine
from outcomes._safejson import load_file
from outcomes.components._records import ComponentEvent, check_label, parse_outcome
from outcomes.errors import ImportFormatError, ValidationError

logger = logging.getLogger("outcomes.components")

FILE_FORMAT = "outcomes.components"
FILE_VERSION = 1
MAX_FILE_BYTES = 1 << 30
"""Files larger than this are refused rather than read into memory."""


def write_events(path: str | os.PathLike[str], events: Iterable[ComponentEvent]) -> int:
    """Atomically write ``events`` to ``path`` (mode 0600); returns how many were written.

    The folder must exist (no surprise folders); a dangling symlink is refused. An event
    that would not read back as written (an id that is not a valid label, or looks like a
    credential; a label not in normal form) raises :class:`ValidationError` naming it,
    before anything is written: :func:`read_events` would otherwise quarantine the file.
    """
    chosen = list(events)
    items = [e.to_json() for e in chosen]
    for i, (event, item) in enumerate(zip(chosen, items, strict=True)):
        if parse_event(item, where=f"events[{i}]") != event:
            raise ValidationError("would not read back as written", where=f"events[{i}]")
    doc = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "saved_at": time.time(),
        "events": items,
    }
    with atomic_open(path) as fh:
        json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    return len(items)


def read_events(path: str | os.PathLike[str]) -> list[ComponentEvent]:
    """Read the events saved at ``path``; a missing file reads as no events.

    A file that is unreadable, too large, too deeply nested, not JSON, or holds an
    invalid event is quarantined (renamed aside under a unique name) with a warning and
    reads as no events. Temporary files of killed saves are cleaned up first.
    """
    source = Path(path)
    clean_stale_tmp(source)
    if not source.exists():
        return []
    try:
        doc = load_file(source, max_bytes=MAX_FILE_BYTES)
        return parse_document(doc)
    except ImportFormatError as exc:
        # Not corrupt: another tool's format. Kept where it is, with a word on what to do.
        logger.warning("component outcomes file %s was not loaded: %s", source, exc)
        return []
    except (OSError, ValidationError) as exc:
        try:
            aside = quarantine(source)
        except OSError:
            aside = source
        logger.warning(
            "component outcomes file %s could not be loaded (%s); moved it to %s and started empty",
            source,
            exc,
            aside,
        )
        return []


def parse_document(doc: Any) -> list[ComponentEvent]:
    """Validate a decoded file and return its events; raise ``ValidationError`` if invalid."""
    if not isinstance(doc, dict):
        raise ValidationError("top level must be an object")
    if "format" not in doc and "outcomes" in doc:
        raise ImportFormatError(
            "this is the older component tracker's file; import it with "
            "`outcomes import-legacy PATH`"
        )
    if doc.get("format") != FILE_FORMAT:
        raise ValidationError(f"not a {FILE_FORMAT} file (format={doc.get('format')!r})")
    if doc.get("version") != FILE_VERSION:
        raise ValidationError(f"unsupported version {doc.get('version')!r}")
    items = doc.get("events")
    if not isinstance(items, list):
        raise ValidationError("'events' must be a list")
    return [parse_event(item, where=f"events[{i}]") for i, item in enumerate(items)]


def parse_event(item: Any, *, where: str = "event") -> ComponentEvent:
    """Build one event from its JSON object, validating every field."""
    if not isinstance(item, dict):
        raise ValidationError("must be an object", where=where)
    try:
        event_id = check_label(item.get("event_id"), "event_id")
        component_id = check_label(item.get("component_id"), "component_id")
        outcome = parse_outcome(item.get("outcome")).value
        session = item.get("session_id")
        if session is not None:
            session = check_label(session, "session_id")
    except ValidationError as exc:
        raise ValidationError(str(exc), where=where) from exc
    timestamp = item.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        raise ValidationError("timestamp must be a number", where=where)
    if not math.isfinite(timestamp):
        raise ValidationError("timestamp must be finite", where=where)
    context = item.get("context", "")
    if not isinstance(context, str):
        raise ValidationError("context must be a string", where=where)
    return ComponentEvent(event_id, component_id, outcome, float(timestamp), session, context)
