"""Persistence kept for applications that used the tracker before the store existed:
profile files (save, load, dirty flag) and the buffer of resolved receipts
(``drain_ledger``).

With a store, receipts are durable through the background writer and profiles are a fold
of them; these paths remain for callers that persist a profile file themselves or ship
resolved outcomes elsewhere.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from outcomes.inference._context import TrackerContext
from outcomes.inference._files import atomic_write, load_state_file, state_file_text
from outcomes.inference._profile_view import ProfileView
from outcomes.records import Receipt

log = logging.getLogger("outcomes.inference")

MAX_LEDGER_BUFFER = 5000


class LedgerBuffer:
    """The last :data:`MAX_LEDGER_BUFFER` resolved receipts (failures, signals, swept
    calls), appended under the call lock and drained by the application."""

    def __init__(self, ctx: TrackerContext) -> None:
        self._ctx = ctx
        self._receipts: deque[Receipt] = deque(maxlen=MAX_LEDGER_BUFFER)

    def append(self, r: Receipt) -> None:
        self._receipts.append(r)

    def extend(self, receipts: Iterable[Receipt]) -> None:
        self._receipts.extend(receipts)

    def drain(self) -> list[Receipt]:
        """Resolved receipts since the last drain, oldest first."""
        with self._ctx.lock:
            out = list(self._receipts)
            self._receipts.clear()
            return out


class ProfileFiles:
    """Saving and loading the local profile state of ``view`` as a JSON file."""

    def __init__(self, view: ProfileView) -> None:
        self._view = view

    def is_dirty(self) -> bool:
        return self._view.dirty

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state to ``path`` atomically (temp file, fsync, rename; 0600)."""
        atomic_write(Path(path), self._view.read(state_file_text))

    def save_if_dirty(self, path: str | os.PathLike[str]) -> bool:
        if not self._view.dirty:
            return False
        self.save(path)
        self._view.dirty = False
        return True

    def load(self, path: str | os.PathLike[str]) -> int:
        """Load a saved state; returns how many models. A missing file loads nothing; a
        corrupt one is renamed aside with a warning (see :func:`load_state_file`)."""
        loaded = load_state_file(Path(path))
        if loaded is None:
            return 0
        if loaded.half_life != self._view.half_life:
            log.warning(
                "outcomes: %s was saved with quality half-life %ss, this tracker uses %ss;"
                " decayed quality of the loaded models follows the file's",
                path, loaded.half_life, self._view.half_life,
            )  # fmt: skip
        return len(self._view.load(loaded))
