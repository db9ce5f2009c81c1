"""JSON from outside, read with bounds: size while reading, nesting depth while decoding.

Every reader of a file or stream that someone else may have written uses these helpers
(ingest lines, ledger import, profile and component files, caches, outcome matrices,
trajectory wire JSON), so that a hostile document gives a clear
:class:`~outcomes.errors.ValidationError` instead of a ``RecursionError`` or a memory
spike:

- :func:`loads` refuses nesting deeper than :data:`MAX_DEPTH` (the documents ``outcomes``
  writes nest a few levels at most) and the non-JSON constants ``NaN``/``Infinity``;
- :func:`read_limited` reads at most ``max_bytes`` from a file and refuses a larger one
  before holding it in memory;
- :func:`bounded_lines` yields lines of a byte stream, never holding more than
  ``max_bytes`` of an over-long line in memory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import IO, Any

from outcomes.errors import ValidationError

MAX_DEPTH = 64
"""Deepest nesting accepted. Ledger and ingest lines are flat, trajectory steps and
profile states nest under ten levels; 64 leaves room without inviting a stack attack."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH, where: str | None = None) -> Any:
    """Decode one JSON document, refusing nesting deeper than ``max_depth``.

    Raises :class:`ValidationError` for invalid JSON, ``NaN``/``Infinity``, invalid
    UTF-8 or excessive depth.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"not valid UTF-8 at byte {exc.start}", where=where) from None
    # Fewer opening brackets than the limit cannot nest deeper than it: the common case
    # (flat lines) costs two C-speed counts and no walk.
    shallow = data.count("[") + data.count("{") <= max_depth
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ValidationError(f"JSON nested deeper than {max_depth} levels", where=where) from None
    except ValueError as exc:
        raise ValidationError(f"invalid JSON: {exc}", where=where) from None
    if not shallow and _too_deep(value, max_depth):
        raise ValidationError(f"JSON nested deeper than {max_depth} levels", where=where)
    return value


def read_limited(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """Read a whole file, refusing (``ValidationError``) one larger than ``max_bytes``.

    The size is checked on the open file and enforced while reading, so a file that grows
    meanwhile cannot push past the limit. ``OSError`` propagates.
    """
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size > max_bytes:
            raise ValidationError(f"{os.fspath(path)} is larger than {max_bytes} bytes")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(f"{os.fspath(path)} is larger than {max_bytes} bytes")
    return data


def load_file(path: str | os.PathLike[str], *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """:func:`read_limited` then :func:`loads`: one JSON file read with every bound."""
    return loads(read_limited(path, max_bytes), max_depth=max_depth, where=os.fspath(path))


def bounded_lines(stream: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None, bool]]:
    """Yield ``(line number, raw bytes, ended with a newline)`` from a byte stream.

    A line longer than ``max_bytes`` is skipped without being held in memory and yields
    ``None`` in place of its bytes; memory stays bounded by ``max_bytes`` whatever the
    input.
    """
    number = 0
    while True:
        raw = stream.readline(max_bytes + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_bytes and not (len(raw) == max_bytes + 1 and raw.endswith(b"\n")):
            while not raw.endswith(b"\n"):
                raw = stream.readline(max_bytes)
                if not raw:
                    break
            yield number, None, True
            continue
        yield number, raw, raw.endswith(b"\n")
