"""The inference wing's migrations, gathered for ``outcomes db migrate`` and ``init``.

Kept out of ``outcomes.inference``'s ``__init__`` so that reading profiles (which imports
the package) does not load the table declarations of verdicts and feedback.
"""

from __future__ import annotations

from outcomes.inference._conversation_schema import MIGRATIONS as _CONVERSATION_MIGRATIONS
from outcomes.inference._feedback_schema import MIGRATIONS as _FEEDBACK_MIGRATIONS
from outcomes.inference.code._schema import MIGRATIONS as _CODE_MIGRATIONS
from outcomes.store import Migration

SIGNAL_MIGRATIONS: tuple[Migration, ...] = (
    *_CODE_MIGRATIONS,
    *_CONVERSATION_MIGRATIONS,
    *_FEEDBACK_MIGRATIONS,
)
"""Migrations of the code-adoption, conversation-verdict, feedback and call-tag tables."""
