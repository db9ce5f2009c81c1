"""Files the tracker writes itself: atomic (temp file, fsync, rename), mode 0600."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from outcomes.inference._profiles import ProfileState

log = logging.getLogger("outcomes.inference")

PROFILE_FILE_FORMAT = "outcomes.profiles"
PROFILE_FILE_VERSION = 1


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def state_file_text(state: ProfileState) -> str:
    """The profile file's JSON for ``state``."""
    doc = {"format": PROFILE_FILE_FORMAT, "version": PROFILE_FILE_VERSION, "state": state.to_json()}
    return json.dumps(doc, indent=1, allow_nan=False)


def load_state_file(file: Path) -> ProfileState | None:
    """Read a profile file; ``None`` when missing or corrupt (then quarantined, warned)."""
    if not file.exists():
        return None
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
        if doc.get("format") != PROFILE_FILE_FORMAT or doc.get("version") != PROFILE_FILE_VERSION:
            raise ValueError("not an outcomes profile file (format/version)")
        return ProfileState.from_json(doc["state"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        aside = file.with_name(f"{file.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            file.rename(aside)
        except OSError:
            aside = file
        log.warning("outcomes: profile file %s is unreadable (%s); kept as %s", file, exc, aside)
        return None
