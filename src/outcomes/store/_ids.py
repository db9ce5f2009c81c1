"""Compact receipt ids in SQLite: a UUID-shaped id is stored as its 16 bytes.

``receipt_id`` and ``trace_id`` are in every receipt row and in the two indexes that find
receipts by them (idempotence and trace look-ups). As 36-character text they made a
third of a receipt's bytes; as a 16-byte BLOB they cost less than half of that (see
docs/scaling.md, "Smaller rows"). Only the canonical lowercase form
(``0193f1c2-7a4b-7c3d-8e5f-0a1b2c3d4e5f``, what ``outcomes`` itself mints) is encoded,
so that decoding gives back exactly the text that was written; any other id (ids come
from users too: ``req-42``, an upper-case UUID) is stored as the text it is. SQLite
keeps both storage classes in one column, and a BLOB never equals a TEXT, so the two
never collide.

The store's interface is unchanged: ids go in and come out as text. The SQLite store
encodes rows it writes and the values of conditions on these columns, and decodes the
rows it reads (:meth:`Table.from_row` through :func:`decode_row`); named queries that
return these columns select them through :func:`id_text` (SQL, so that it also runs
where Python is not, as in ``sqlite3 -json``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

ID_COLUMNS = ("receipt_id", "trace_id")
"""The receipt columns stored compactly in SQLite."""

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").fullmatch


def encode_id(value: Any) -> Any:
    """``value`` as stored: 16 bytes for a canonical lowercase UUID, else unchanged."""
    if type(value) is str and len(value) == 36 and _CANONICAL(value):
        return bytes.fromhex(value.replace("-", ""))
    return value


def decode_id(value: Any) -> Any:
    """The text of a stored id (the inverse of :func:`encode_id`)."""
    if type(value) is bytes:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return value


def encode_rows(rows: Sequence[Sequence[Any]], positions: Sequence[int]) -> list[tuple[Any, ...]]:
    """``rows`` with the ids at ``positions`` encoded (new tuples; the input is kept)."""
    out = []
    canonical = _CANONICAL
    fromhex = bytes.fromhex
    for row in rows:
        values = list(row)
        for i in positions:
            v = values[i]
            if type(v) is str and len(v) == 36 and canonical(v):
                values[i] = fromhex(v.replace("-", ""))
        out.append(tuple(values))
    return out


def decode_row(row: Sequence[Any], positions: Sequence[int]) -> tuple[Any, ...]:
    """``row`` with the ids at ``positions`` back as text."""
    values = list(row)
    for i in positions:
        values[i] = decode_id(values[i])
    return tuple(values)


def id_text(column: str) -> str:
    """SQL (SQLite) for the text of the id in ``column``, stored compact or not."""
    h = f"hex({column})"
    parts = " || '-' || ".join(
        f"substr({h}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )
    return f"(CASE WHEN typeof({column}) = 'blob' THEN lower({parts}) ELSE {column} END)"
