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

import binascii
import struct
from collections.abc import Sequence
from operator import add, itemgetter
from typing import Any

ID_COLUMNS = ("receipt_id", "trace_id")
"""The receipt columns stored compactly in SQLite."""

_fromhex = bytes.fromhex


def encode_id(value: Any) -> Any:
    """``value`` as stored: 16 bytes for a canonical lowercase UUID, else unchanged."""
    # Cheaper than a pattern match on the write path: the dashes where a UUID has them,
    # then the 32 others must parse as hex and print back identically (so no upper
    # case, no whitespace, which ``fromhex`` would accept).
    if (
        type(value) is str
        and len(value) == 36
        and value[8] == value[13] == value[18] == value[23] == "-"
    ):
        h = value[:8] + value[9:13] + value[14:18] + value[19:23] + value[24:]
        try:
            b = _fromhex(h)
        except ValueError:
            return value
        if len(b) == 16 and b.hex() == h:
            return b
    return value


def decode_id(value: Any) -> Any:
    """The text of a stored id (the inverse of :func:`encode_id`)."""
    if type(value) is bytes:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    return value


def encode_ids(values: Sequence[Any], blob: type[bytes | bytearray] = bytes) -> list[Any]:
    """:func:`encode_id` of every value, ids encoded as ``blob`` (``bytearray`` is what
    the ``sqlite3`` module binds without an adapter look-up).

    A batch of canonical UUIDs (what ``outcomes`` mints) is checked and converted in a
    few passes over one joined string, about six times faster than one id at a time;
    any other batch goes one id at a time."""
    n = len(values)
    try:
        joined = "\n".join(values) + "\n"
    except TypeError:  # not all text
        return _one_by_one(values, blob)
    # Every id 36 characters with its dashes in place, then 32 lower-case hex digits
    # (printing the bytes back rejects upper case).
    if len(joined) != 37 * n or any(joined[k::37] != c * n for k, c in _SHAPE):
        return _one_by_one(values, blob)
    try:
        digits = joined.encode("ascii").translate(None, b"-\n")
        raw = binascii.unhexlify(digits)
    except (UnicodeEncodeError, binascii.Error):
        return _one_by_one(values, blob)
    if len(raw) != 16 * n or binascii.hexlify(raw) != digits:
        return _one_by_one(values, blob)
    out = struct.unpack("16s" * n, raw)
    return list(out) if blob is bytes else list(map(blob, out))


_SHAPE = ((8, "-"), (13, "-"), (18, "-"), (23, "-"), (36, "\n"))


def _one_by_one(values: Sequence[Any], blob: type[bytes | bytearray]) -> list[Any]:
    out = list(map(encode_id, values))
    if blob is not bytes:
        out = [blob(v) if type(v) is bytes else v for v in out]
    return out


def encode_rows(rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Receipt rows with their ids (the first two columns) encoded, as new tuples."""
    ids = zip(
        encode_ids(list(map(itemgetter(0), rows))),
        encode_ids(list(map(itemgetter(1), rows))),
        strict=True,
    )
    return list(map(add, ids, map(itemgetter(slice(2, None)), rows)))


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
