"""JSON on stdout for ``--json``: the one encoding every command's machine output uses.

Apart from ``_common`` so that a command answered without the command-line layer
(``cli._fast``) prints byte for byte what the full command prints.

The text is what ``json.dumps(value, indent=2, ensure_ascii=False)`` writes (a test
compares both on random values), written here without the :mod:`json` package: with
``indent`` that function runs its pure-Python encoder anyway, and importing the package
compiles five regular expressions that this output never uses, about a tenth of what
``outcomes models --json`` costs beyond ``--version``. Strings are escaped by the same
C function :mod:`json` uses (``_json.encode_basestring``).
"""

from __future__ import annotations

import math
import sys
from typing import Any

from outcomes._secrets import may_hold_secret

try:
    from _json import encode_basestring as _quote
except ImportError:  # an interpreter without the C accelerator
    from json.encoder import py_encode_basestring as _quote


def _scrubbed(text: str, done: dict[str, str]) -> str:
    """``text`` through the storage pass (:func:`outcomes._redact.scrub_stored`), once
    per distinct text of a value (``done``: a list of objects repeats its keys), that
    pass's module loaded only for a text the cheap first look cannot clear: a report of
    model ids and counts never needs it."""
    clean = done.get(text)
    if clean is None:
        if may_hold_secret(text):
            from outcomes._redact import scrub_stored

            clean = scrub_stored(text)
        else:
            clean = text  # what the pass returns for it
        done[text] = clean
    return clean


def _jsonable(value: Any, done: dict[str, str]) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        # A report may quote input it refused (an invalid line, a bad id): never echo a
        # credential back (docs/security.md).
        return _scrubbed(value, done)
    if isinstance(value, dict):
        return {_scrubbed(str(k), done): _jsonable(v, done) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, done) for v in value]
    return value


def _encode(value: Any, out: list[str], pad: str) -> None:
    """Append the text of ``value`` (as :func:`_jsonable` leaves it) to ``out``, nested
    at ``pad``; the checks in the order :mod:`json` makes them."""
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(float.__repr__(value))
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = pad + "  "
        sep = "[\n" + inner
        for item in value:
            out.append(sep)
            _encode(item, out, inner)
            sep = ",\n" + inner
        out.append("\n" + pad + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = pad + "  "
        sep = "{\n" + inner
        for key, item in value.items():
            out.append(f"{sep}{_quote(key)}: ")
            _encode(item, out, inner)
            sep = ",\n" + inner
        out.append("\n" + pad + "}")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """``value`` as :func:`print_json` writes it (without the final newline and without
    the scrubbing): ``json.dumps(value, indent=2, ensure_ascii=False)`` for values of
    JSON's types whose dict keys are strings."""
    out: list[str] = []
    _encode(value, out, "")
    return "".join(out)


def print_json(value: Any) -> None:
    """Print ``value`` as JSON on stdout (NaN/inf become null, never invalid JSON; secrets
    in any string are scrubbed)."""
    sys.stdout.write(dumps(_jsonable(value, {})) + "\n")
    sys.stdout.flush()
