"""Code adoption from git: did the suggested code end up in the repository?

>>> from outcomes.inference.code import CodeAdoption
>>> # adoption = CodeAdoption(store, sink=tracker)
>>> # adoption.suggest(trace_id, "src/app.py", suggested_code, repo=".")
>>> # adoption.check(".")   # or: outcomes code check / the post-commit hook
"""

from __future__ import annotations

import typing as _typing

from outcomes._lazy import attach as _attach

if _typing.TYPE_CHECKING:
    from outcomes.inference.code._adoption import (
        DEFAULT_TTL,
        MAX_SUGGESTION_CHARS,
        CheckReport,
        CodeAdoption,
        ListSink,
        SignalSink,
        to_signal,
    )
    from outcomes.inference.code._assess import (
        APPLIED_AT,
        MODIFIED_AT,
        Assessment,
        SuggestionPrint,
        assess,
        decide,
        fingerprint,
    )
    from outcomes.inference.code._hook import install_hook, uninstall_hook
    from outcomes.inference.code._records import CodeFinding, CodeSuggestion
    from outcomes.inference.code._schema import MIGRATIONS
    from outcomes.inference.code._structure import (
        FALLBACK_MESSAGE,
        Symbol,
        language_of,
        structure_available,
        symbols,
    )
else:
    __getattr__, __dir__ = _attach(
        __name__,
        {
            "outcomes.inference.code._adoption": (
                "DEFAULT_TTL",
                "MAX_SUGGESTION_CHARS",
                "CheckReport",
                "CodeAdoption",
                "ListSink",
                "SignalSink",
                "to_signal",
            ),
            "outcomes.inference.code._assess": (
                "APPLIED_AT",
                "MODIFIED_AT",
                "Assessment",
                "SuggestionPrint",
                "assess",
                "decide",
                "fingerprint",
            ),
            "outcomes.inference.code._hook": ("install_hook", "uninstall_hook"),
            "outcomes.inference.code._records": ("CodeFinding", "CodeSuggestion"),
            "outcomes.inference.code._schema": ("MIGRATIONS",),
            "outcomes.inference.code._structure": (
                "FALLBACK_MESSAGE",
                "Symbol",
                "language_of",
                "structure_available",
                "symbols",
            ),
        },
    )

__all__ = [
    "APPLIED_AT",
    "DEFAULT_TTL",
    "FALLBACK_MESSAGE",
    "MAX_SUGGESTION_CHARS",
    "MIGRATIONS",
    "MODIFIED_AT",
    "Assessment",
    "CheckReport",
    "CodeAdoption",
    "CodeFinding",
    "CodeSuggestion",
    "ListSink",
    "SignalSink",
    "SuggestionPrint",
    "Symbol",
    "assess",
    "decide",
    "fingerprint",
    "install_hook",
    "language_of",
    "structure_available",
    "symbols",
    "to_signal",
    "uninstall_hook",
]
