"""The dashboard's filters: read from a query string, checked, and written back into links."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from outcomes._validate import TIMESTAMP_MAX, check_label, check_task
from outcomes.errors import ValidationError

_DURATION_RE = re.compile(r"^(\d{1,6})([hdw])$")
_UNIT_S = {"h": 3600, "d": 86_400, "w": 7 * 86_400}
RANGES = ("", "24h", "7d", "30d", "90d")
"""The time ranges the filter form offers ("" is all time); any ``<n>h|d|w`` is accepted."""
KNOWN = ("since", "task", "project", "tag", "limit")
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Filters:
    """What a page shows: a time range ending now, a task, a project, a tag (``""``: any)."""

    since: str = ""
    task: str = ""
    project: str = ""
    tag: str = ""
    limit: int = 50

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        """Check ``params`` (a request's query string); raises ``ValidationError`` naming the
        parameter at fault. Unknown parameters are refused rather than ignored, so a typo
        never silently shows unfiltered numbers."""
        unknown = sorted(set(params) - set(KNOWN))
        if unknown:
            raise ValidationError(
                f"unknown filter {unknown[0][:40]!r}; known: {', '.join(KNOWN)}", where="query"
            )
        since = params.get("since", "").strip()
        if since and not _DURATION_RE.match(since):
            raise ValidationError(
                f"must be a duration such as 24h, 7d or 2w, got {since[:40]!r}", where="since"
            )
        task = params.get("task", "").strip()
        if task:
            check_task(task, "task")
        project = params.get("project", "").strip()
        if project:
            project = check_label(project, "project")
        tag = params.get("tag", "").strip()
        if tag:
            tag = check_label(tag, "tag")
        raw_limit = params.get("limit", "50").strip()
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ValidationError(
                f"must be an integer from 1 to {MAX_LIMIT}, got {raw_limit[:20]!r}", where="limit"
            )
        return cls(since, task, project, tag, int(raw_limit))

    def window(self, now: float) -> tuple[float, float]:
        """``(since, until)`` in Unix seconds: from ``since`` before ``now`` (all time: from
        0) to past the latest valid timestamp, so receipts stamped ahead by a skewed clock
        still show."""
        until = TIMESTAMP_MAX + 1.0
        if not self.since:
            return 0.0, until
        m = _DURATION_RE.match(self.since)
        assert m is not None  # checked by parse
        return max(now - int(m.group(1)) * _UNIT_S[m.group(2)], 0.0), until

    def query(self, **changes: str) -> str:
        """The query string of these filters (with ``changes``), defaults left out."""
        f = replace(self, **changes)  # type: ignore[arg-type]
        pairs = [(k, str(getattr(f, k))) for k in KNOWN if getattr(f, k) not in ("", 50)]
        return ("?" + urlencode(pairs)) if pairs else ""


LABELS = {"since": "time range", "task": "task", "project": "project", "tag": "tag"}
"""The filters a page may or may not apply (``limit`` only sizes its lists)."""
NOT_APPLIED: dict[str, dict[str, str]] = {
    "models": {},
    "model": {"tag": "applies to the per-task table only: trends and failures read the "
              "rollups and receipts, which keep no tags"},
    "routing": {"tag": "traffic shares, decisions and cut-offs read the rollups and receipts, "
                "which keep no tags"},
    "calibration": dict.fromkeys(LABELS, "the calibration report and the off-policy "
                                 "estimates cover every stored observation"),
    "components": {"since": "the component report and the conflict scan cover every event",
                   **{k: f"component events carry no {LABELS[k]}"
                      for k in ("task", "project", "tag")}},
    "code": {k: f"code suggestions carry no {LABELS[k]}" for k in ("task", "project", "tag")},
    "trajectories": {"task": "runs carry no task", "tag": "runs carry no tag"},
    "trajectory": dict.fromkeys(LABELS, "a run is shown whole"),
}  # fmt: skip
"""Per page, the filters it does not apply and why: the page and its JSON call say so
(rather than silently showing unfiltered numbers), and the filter form marks them."""


def scope(page: str, f: Filters) -> tuple[dict[str, Any], list[str]]:
    """What ``page`` does with the filters: ``{"applied": [...], "not_applied": {name:
    why}}`` for the JSON, and a note for each filter that is set but not applied."""
    skipped = NOT_APPLIED[page]
    notes = [
        f"{LABELS[k]} {getattr(f, k)!r} is not applied here: {why}"
        for k, why in skipped.items()
        if getattr(f, k)
    ]
    applied = [k for k in LABELS if k not in skipped]
    return {"applied": applied, "not_applied": dict(skipped)}, notes
