"""Compact receipt ids: a UUID-shaped id is stored as its 16 bytes.

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

PostgreSQL (migration ``pg.0002_compact_receipts``) keeps both columns as ``bytea``: a
column has one type there, so every id is bytes. A canonical UUID is its 16 bytes
(:func:`encode_id`); any other id is its UTF-8 text, with one zero byte appended when
that text is itself 16 bytes long (:func:`encode_id_bytes`). So a 16-byte value is
always a UUID, and the text never holds a zero byte (PostgreSQL text cannot), which
makes the encoding one-to-one and :func:`decode_id` its inverse on both engines.
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Callable, Sequence
from operator import add, itemgetter
from typing import Any

ID_COLUMNS = ("receipt_id", "trace_id")
"""The receipt columns stored compactly."""

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


def encode_id_bytes(value: str) -> bytes:
    """``value`` as PostgreSQL stores it (``bytea``): 16 bytes for a canonical lowercase
    UUID, else its UTF-8 text (plus a zero byte when that is 16 bytes long)."""
    b = encode_id(value)
    return b if type(b) is bytes else _text_bytes(value)


def _text_bytes(value: str) -> bytes:
    text = value.encode()
    return text + b"\0" if len(text) == 16 else text


def decode_id(value: Any) -> Any:
    """The text of a stored id (the inverse of :func:`encode_id` and
    :func:`encode_id_bytes`); text is returned unchanged."""
    if type(value) is bytes:
        if len(value) != 16:
            return (value[:16] if len(value) == 17 and value[16] == 0 else value).decode()
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


def encode_ids_bytes(values: Sequence[Any]) -> list[Any]:
    """:func:`encode_id_bytes` of every value (UUIDs through :func:`encode_ids`)."""
    return ids_as_bytes(encode_ids(values))


def ids_as_bytes(encoded: Sequence[Any], check: bool = False) -> list[Any]:
    """Ids as :func:`encode_ids` left them, as PostgreSQL stores them: the ones still
    text as :func:`encode_id_bytes` makes them. ``check`` (the write path): raise
    ``ValueError`` for an id that is empty or holds a NUL character (:func:`_stored_text`)."""
    text = _stored_text if check else _text_bytes
    return [v if type(v) is bytes else text(v) for v in encoded]


def _stored_text(value: str) -> bytes:
    # A NUL would make the encoding ambiguous (16 characters and a NUL are stored as the
    # 16 characters are) and the text unreadable in SQL (``id_text``); an empty id is
    # missed by the writer's look-up of stored ids (the server splits an empty list
    # into no ids). The edges refuse both (``Id``); this is the store's own guard.
    if not value or "\x00" in value:
        raise ValueError(f"an id must be non-empty text without NUL characters, got {value!r}")
    return _text_bytes(value)


def encode_rows(
    rows: Sequence[tuple[Any, ...]],
    encode: Callable[[Sequence[Any]], list[Any]] = encode_ids,
) -> list[tuple[Any, ...]]:
    """Receipt rows with their ids (the first two columns) encoded by ``encode``
    (:func:`encode_ids`, or :func:`encode_ids_bytes` for PostgreSQL), as new tuples."""
    ids = zip(
        encode(list(map(itemgetter(0), rows))),
        encode(list(map(itemgetter(1), rows))),
        strict=True,
    )
    return list(map(add, ids, map(itemgetter(slice(2, None)), rows)))


def decode_row(row: Sequence[Any], positions: Sequence[int]) -> tuple[Any, ...]:
    """``row`` with the ids at ``positions`` back as text."""
    values = list(row)
    for i in positions:
        values[i] = decode_id(values[i])
    return tuple(values)


def id_text(column: str, dialect: str = "sqlite") -> str:
    """SQL for the text of the id in ``column``, stored compact or not, on ``dialect``
    (``sqlite`` or ``postgresql``)."""
    if dialect == "postgresql":
        return (
            f"(CASE WHEN octet_length({column}) = 16 THEN encode({column}, 'hex')::uuid::text "
            f"WHEN octet_length({column}) = 17 AND get_byte({column}, 16) = 0 "
            f"THEN convert_from(substring({column} FROM 1 FOR 16), 'UTF8') "
            f"ELSE convert_from({column}, 'UTF8') END)"
        )
    h = f"hex({column})"
    parts = " || '-' || ".join(
        f"substr({h}, {start}, {length})"
        for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    )
    return f"(CASE WHEN typeof({column}) = 'blob' THEN lower({parts}) ELSE {column} END)"


def id_stored(text: str, dialect: str = "postgresql") -> str:
    """SQL for the stored form (:func:`encode_id_bytes`) of the text id ``text`` (an
    expression) on PostgreSQL: what a stored id is compared with. Raises ``ValueError``
    for another dialect (SQLite has no such expression: compare :func:`id_text`)."""
    if dialect != "postgresql":
        raise ValueError(f"id_stored: no SQL encoding for {dialect!r}")
    utf8 = f"convert_to({text}, 'UTF8')"
    return (
        f"(CASE WHEN {text} ~ '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-"
        f"[0-9a-f]{{12}}$' THEN decode(replace({text}, '-', ''), 'hex') "
        f"WHEN octet_length({utf8}) = 16 THEN {utf8} || '\\x00'::bytea ELSE {utf8} END)"
    )
