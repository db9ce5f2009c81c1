"""Notes of lost records, so that ``outcomes doctor`` can show what other processes lost.

A writer that drops records (queue full), sees the store refuse some, or whose thread
dies appends one JSON line to ``$OUTCOMES_HOME/writer-losses.jsonl``: when, which
process, which store, and how many. Only when the home folder exists (no surprise
folders), never through a symlink, mode ``0600``; the file is trimmed to its newest
half when it passes :data:`MAX_BYTES`. Writing a note never raises.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from outcomes import config
from outcomes._files import atomic_write, check_path
from outcomes._safejson import bounded_lines, loads
from outcomes.errors import OutcomesError

logger = logging.getLogger("outcomes.writer")

FILENAME = "writer-losses.jsonl"
MAX_BYTES = 1 << 20


def _redacted_url(url: str) -> str:
    # A store URL may carry a password (postgresql://user:pw@host/db); a note never does.
    from outcomes._redact import scrub_secrets

    return scrub_secrets(url)


def note_losses(*, store: str, dropped: int, failed: int, deaths: int, error: str | None) -> None:
    """Append one note to the losses file of ``$OUTCOMES_HOME`` (if the folder exists)."""
    try:
        home = config.home()
        if not home.is_dir():
            return
        path = check_path(home / FILENAME, root=home, explicit=False)
        line = json.dumps(
            {
                "at": time.time(),
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "store": _redacted_url(store),
                "dropped": dropped,
                "failed": failed,
                "writer_died": deaths,
                "error": None if error is None else _redacted_url(error)[:300],
            }
        )
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        try:
            os.write(fd, (line + "\n").encode("utf-8"))
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if size > MAX_BYTES:
            _trim(path, home)
    except (OSError, OutcomesError, ValueError) as exc:
        logger.debug("could not note writer losses: %s", exc)


def _trim(path: Path, home: Path) -> None:
    with open(path, "rb") as fh:
        fh.seek(-MAX_BYTES // 2, os.SEEK_END)
        fh.readline()  # drop the partial first line
        tail = fh.read()
    atomic_write(path, tail, root=home, explicit=False)


def read_losses(home: Path, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest ``limit`` notes (oldest first); unreadable lines are skipped."""
    path = home / FILENAME
    notes: list[dict[str, Any]] = []
    with contextlib.suppress(OSError, OutcomesError):
        check_path(path, root=home, explicit=False)
        with open(path, "rb") as fh:
            for _, raw, _ in bounded_lines(fh, 4096):
                if raw is None:
                    continue
                with contextlib.suppress(OutcomesError):
                    note = loads(raw, max_depth=2)
                    if isinstance(note, dict):
                        notes.append(note)
    return notes[-limit:]
