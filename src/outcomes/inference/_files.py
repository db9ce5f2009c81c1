"""The tracker's profile file: atomic, owner-only, bounded when read back.

File safety (atomic 0600 writes, unique quarantine names, stale temporary files, bounded
JSON) lives in :mod:`outcomes._files` and :mod:`outcomes._safejson`, shared by every wing.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from outcomes._files import atomic_write, clean_stale_tmp, quarantine
from outcomes._safejson import load_file
from outcomes.errors import OutcomesError
from outcomes.inference._profiles import ProfileState

log = logging.getLogger("outcomes.inference")

PROFILE_FILE_FORMAT = "outcomes.profiles"
PROFILE_FILE_VERSION = 1
MAX_PROFILE_FILE_BYTES = 256 << 20
"""Profile files larger than this are refused unread (one cell is well under 1 KB)."""

__all__ = ["atomic_write", "load_state_file", "state_file_text"]


def state_file_text(state: ProfileState) -> str:
    """The profile file's JSON for ``state``."""
    doc = {"format": PROFILE_FILE_FORMAT, "version": PROFILE_FILE_VERSION, "state": state.to_json()}
    return json.dumps(doc, indent=1, allow_nan=False)


def load_state_file(file: Path) -> ProfileState | None:
    """Read a profile file; ``None`` when missing or corrupt (then quarantined, warned).

    Temporary files left by killed saves are cleaned up first. A file that is too large,
    too deeply nested, not JSON or not a profile file is renamed aside under a unique
    ``<name>.corrupt-<time>-<random>`` name.
    """
    clean_stale_tmp(file)
    if not file.exists():
        return None
    try:
        doc = load_file(file, max_bytes=MAX_PROFILE_FILE_BYTES)
        if isinstance(doc, list):
            # Not corrupt: the older tool's format. Say how to bring it over, keep it.
            log.warning(
                "outcomes: %s is a profile file of the older inference tracker; nothing "
                "loaded. Convert it with `outcomes import-legacy %s`",
                file,
                file,
            )
            return None
        if not isinstance(doc, dict):
            raise ValueError("not an outcomes profile file (top level)")
        if doc.get("format") != PROFILE_FILE_FORMAT or doc.get("version") != PROFILE_FILE_VERSION:
            raise ValueError("not an outcomes profile file (format/version)")
        return ProfileState.from_json(doc["state"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, OutcomesError) as exc:
        try:
            aside = quarantine(file)
        except OSError:
            aside = file
        log.warning("outcomes: profile file %s is unreadable (%s); kept as %s", file, exc, aside)
        return None
