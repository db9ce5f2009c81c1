"""Bring data from the tools ``outcomes`` replaces: recognise each file format and import it.

Three formats (the tools are described in ``../shared/seeds/``):

- **model profiles** (the older inference tracker's ``save_to_file``): a JSON array of
  profiles with ``model_id``, ``total_calls``, ``success_count``, ``fail_count``,
  ``task_stats``, ``ema_quality``... Converted to an ``outcomes`` profile file that
  :meth:`OutcomeTracker.load_from_file` reads (aggregates cannot become receipts).
- **receipt ledger** (its ``outcome_ledger.jsonl``): one JSON object per line with
  ``trace_id``, ``model_id``, ``task``, ``routing_reason``, ``latency_ms``, ``success``,
  ``quality``, ``timestamp``... but no ``receipt_id`` nor ``v``. Imported as receipts
  (``source="legacy"``, ids derived from the line so that a second import adds nothing).
- **component tracker** (the Python component tracker's ``save``): ``{"outcomes": {...},
  "recent_events": [...], "max_recent_events": ...}``. Its recent events are imported as
  they are; the outcomes its counters hold beyond them (the tool kept only the last
  1,000 events) are imported as events at the times the counters give (first seen, last
  success, last failure), so install success rates and removal counts come out equal.

The variables ``AI_MEMORY_CONFIDENCE_SHADOW`` and ``AI_MEMORY_CONFIDENCE_SHADOW_SAMPLE_RATE``
are still read, with a ``FutureWarning`` naming their ``OUTCOMES_*`` replacements
(:data:`outcomes.config.DEPRECATED`).
"""

from __future__ import annotations

from outcomes.legacy._detect import LegacyFormat, detect_format
from outcomes.legacy._import import (
    LegacyReport,
    components_from_legacy,
    import_legacy,
    profiles_from_legacy,
    receipts_from_legacy_lines,
)

__all__ = [
    "LegacyFormat",
    "LegacyReport",
    "components_from_legacy",
    "detect_format",
    "import_legacy",
    "profiles_from_legacy",
    "receipts_from_legacy_lines",
]
