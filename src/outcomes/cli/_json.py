"""JSON on stdout for ``--json``: the one encoding every command's machine output uses.

Apart from ``_common`` so that a command answered without the command-line layer
(``cli._fast``) prints byte for byte what the full command prints.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from outcomes._redact import scrub_stored


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        # A report may quote input it refused (an invalid line, a bad id): never echo a
        # credential back (docs/security.md).
        return scrub_stored(value)
    if isinstance(value, dict):
        return {scrub_stored(str(k)): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout (NaN/inf become null, never invalid JSON; secrets
    in any string are scrubbed)."""
    sys.stdout.write(json.dumps(_jsonable(value), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
