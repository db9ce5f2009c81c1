"""Stores for tests that look at how records reach the store."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from outcomes.store import MemoryStore


class BatchStore(MemoryStore):
    """A memory store that records the trace ids of every batch it commits.

    With ``gated``, each write first waits (up to 10 s) for ``release``; ``writing`` is
    set once a write has begun, so a test can hold the writer inside a commit.
    """

    def __init__(self, *, gated: bool = False) -> None:
        super().__init__()
        self.release = threading.Event()
        if not gated:
            self.release.set()
        self.writing = threading.Event()
        self.batches: list[list[str]] = []

    def write(self, records: Sequence[Any]) -> int:
        self.writing.set()
        self.release.wait(10)
        inserted = super().write(records)
        self.batches.append([r.trace_id for r in records])
        return inserted
