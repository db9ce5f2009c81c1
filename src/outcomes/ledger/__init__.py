"""The receipt ledger: append-only receipts, JSONL export/import, retention, integrity.

Receipts are only ever appended (a better signal supersedes a receipt with a new one);
the only deletions are retention (:func:`prune`). The JSON line format is documented in
``docs/ledger.md``.
"""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from outcomes.ledger._jsonl import (
        ImportReport,
        LineProblem,
        export_jsonl,
        import_jsonl,
        parse_receipt,
    )
    from outcomes.ledger._maintenance import (
        Problem,
        VerifyReport,
        parse_duration,
        parse_since,
        prune,
        summarize,
        verify,
    )
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.ledger._jsonl": (
                "ImportReport",
                "LineProblem",
                "export_jsonl",
                "import_jsonl",
                "parse_receipt",
            ),
            "outcomes.ledger._maintenance": (
                "Problem",
                "VerifyReport",
                "parse_duration",
                "parse_since",
                "prune",
                "summarize",
                "verify",
            ),
        },
    )

__all__ = [
    "ImportReport",
    "LineProblem",
    "Problem",
    "VerifyReport",
    "export_jsonl",
    "import_jsonl",
    "parse_duration",
    "parse_receipt",
    "parse_since",
    "prune",
    "summarize",
    "verify",
]
