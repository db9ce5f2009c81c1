"""One validation system for everything read from outside: constrained types and ``decode``.

Records that cross an edge (ingest lines, ledger lines, trajectory JSON, later HTTP
bodies) are ``msgspec`` Structs whose field types carry their constraints, built from the
types below. :func:`decode` (JSON text) and :func:`convert` (already-parsed Python data)
check them and raise :class:`~outcomes.errors.ValidationError` naming the field path
(``input_tokens``, ``steps[3].count``). The core works on typed, already-valid records
and never re-checks them.

The types accept exactly what the stores can hold: integers in 64 bits, finite floats
(NaN and infinities fail the ``ge``/``le`` bounds), timestamps in a sane range. Ids and
labels follow one character rule (:func:`check_label`): NFKC-normalized, and no control,
bidi-override, zero-width or other invisible characters, so two ids that display alike
are the same id.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_args, get_origin

import msgspec

from outcomes._redact import Checked
from outcomes.errors import ValidationError

T = TypeVar("T")

MAX_INT64 = 2**63 - 1
"""Largest integer a SQLite INTEGER or a PostgreSQL BIGINT holds."""

TIMESTAMP_MIN = 946_684_800.0
"""2000-01-01T00:00:00Z: no outcome of an AI call is older."""

TIMESTAMP_MAX = 7_258_118_400.0
"""2200-01-01T00:00:00Z: far enough for any clock, near enough to catch ms/us/ns mix-ups."""

MAX_TEXT_CHARS = 100_000
"""Free text read from outside is refused beyond this (it is capped far lower when stored)."""

MAX_ID_CHARS = 128
MAX_LABEL_CHARS = 256

_FLOAT_MAX = sys.float_info.max

# Invisible characters that str.isprintable() lets through (it already refuses controls,
# format characters such as bidi overrides and zero-width spaces, separators other than
# the ASCII space, surrogates and private-use or unassigned code points): combining
# grapheme joiner, Hangul and Khmer fillers, Mongolian and other variation selectors,
# the Braille blank.
_INVISIBLE_LETTERS = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f"
    "\uffa0\U000e0100-\U000e01ef]"
)

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS)]
"""An identifier (trace, receipt, signal id): 1-128 characters; see :func:`check_label`."""

Label = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_LABEL_CHARS)]
"""A name shown to people (model id, project, intent): 1-256 characters; see
:func:`check_label`. The character rule runs after decoding (a regular expression per
field would cost more than the whole JSON decode)."""

TASK_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
"""A task name: 1-64 letters, digits or ``_ . : / -``, starting with a letter or digit."""

TaskName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
"""A task name; see :func:`check_task` (run after decoding, with a cache)."""
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]
Count64 = Annotated[int, msgspec.Meta(ge=0, le=MAX_INT64)]
FiniteFloat = Annotated[float, msgspec.Meta(ge=-_FLOAT_MAX, le=_FLOAT_MAX)]
NonNegative = Annotated[float, msgspec.Meta(ge=0.0, le=_FLOAT_MAX)]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
Timestamp = Annotated[float, msgspec.Meta(ge=TIMESTAMP_MIN, le=TIMESTAMP_MAX)]
"""Unix seconds between 2000-01-01 and 2200-01-01."""

_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}
_ENCODER = msgspec.json.Encoder()
_TASK_RE = re.compile(TASK_PATTERN)
_GOOD_TASKS = Checked()


def check_label(value: str, where: str = "label", *, limit: int = MAX_LABEL_CHARS) -> str:
    """Return ``value`` NFKC-normalized if it is a valid id or label, else raise.

    The rule: 1 to ``limit`` characters after NFKC normalization, all printable (no
    control, bidi, zero-width, format or separator character other than the space) and
    none of the invisible letters and marks that render as blank. Raises
    :class:`ValidationError`. ASCII values skip normalization (NFKC leaves them alone).
    """
    if not isinstance(value, str):
        raise ValidationError(f"must be a string, got {type(value).__name__}", where=where)
    ascii_only = value.isascii()
    if not ascii_only:
        value = unicodedata.normalize("NFKC", value)
    if not 0 < len(value) <= limit:
        raise ValidationError(f"must be 1-{limit} characters, got {len(value)}", where=where)
    if not value.isprintable() or (not ascii_only and _INVISIBLE_LETTERS.search(value)):
        # Name the character, not the value (an id may hold what must not be echoed).
        at, char = next(
            (i, c) for i, c in enumerate(value)
            if not c.isprintable() or _INVISIBLE_LETTERS.match(c)
        )  # fmt: skip
        raise ValidationError(
            f"must not contain control, bidi, zero-width or other invisible characters "
            f"(U+{ord(char):04X} at position {at})",
            where=where,
        )
    return value


def check_id(value: str, where: str = "id") -> str:
    """:func:`check_label` with the id length limit (128)."""
    return check_label(value, where, limit=MAX_ID_CHARS)


def check_task(value: str, where: str = "task") -> str:
    """Return ``value`` if it is a task name (:data:`TASK_PATTERN`), else raise.

    Task names repeat, so good ones are remembered (up to 10,000) and checked once.
    """
    if value in _GOOD_TASKS:
        return value
    if not isinstance(value, str) or not _TASK_RE.match(value):
        raise ValidationError(
            f"invalid task name {value!r}: use 1-64 letters, digits or _.:/- (e.g. 'code')",
            where=where,
        )
    return _GOOD_TASKS.remember(value)


def _strip_optional(tp: Any) -> Any:
    if get_origin(tp) is not None and type(None) in get_args(tp):
        rest = [a for a in get_args(tp) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return tp


_FieldCheck = tuple[str, Callable[[str, str], str], bool]
"""(field name, check(value, where) -> value, whether plain-ASCII input may skip it)."""

_CHECKS: dict[Any, tuple[_FieldCheck, ...]] = {}
_ASCII_CHECKS: dict[Any, tuple[_FieldCheck, ...]] = {}


def _field_checks(type_: Any) -> tuple[_FieldCheck, ...]:
    """The checks ``msgspec`` cannot express, for the top-level fields of a Struct type:
    the id/label character rule with NFKC, and task names (cached per type)."""
    found = _CHECKS.get(type_)
    if found is None:
        checks: list[_FieldCheck] = []
        if isinstance(type_, type) and issubclass(type_, msgspec.Struct):
            for f in msgspec.structs.fields(type_):
                tp = _strip_optional(f.type)
                if tp is Id:
                    checks.append((f.name, check_id, True))
                elif tp is Label:
                    checks.append((f.name, check_label, True))
                elif tp is TaskName:
                    checks.append((f.name, check_task, False))
        found = _CHECKS[type_] = tuple(checks)
    return found


def finish(record: T, where: str | None = None, *, plain_ascii: bool = False) -> T:
    """Run the post-decode field checks on a decoded Struct, normalizing in place.

    ``plain_ascii`` says the JSON it came from had no escape, DEL or non-ASCII byte, so
    no string in it can hold an invisible character (only task names are checked).
    Raises :class:`ValidationError`.
    """
    kind = type(record)
    if plain_ascii:
        checks = _ASCII_CHECKS.get(kind)
        if checks is None:
            checks = _ASCII_CHECKS[kind] = tuple(c for c in _field_checks(kind) if not c[2])
    else:
        checks = _field_checks(kind)
    for name, check_one, _ in checks:
        value = getattr(record, name)
        if value is None:
            continue
        fixed = check_one(value, f"{where}.{name}" if where else name)
        if fixed is not value:
            msgspec.structs.force_setattr(record, name, fixed)  # type: ignore[arg-type]
    return record


def plain_ascii(data: bytes | str) -> bool:
    """Whether JSON text can hold no invisible character in any string: printable ASCII
    with no escape sequence (``\\u0000``, ``\\t``...) and no DEL."""
    if isinstance(data, str):
        return data.isascii() and "\\" not in data and "\x7f" not in data
    return data.isascii() and b"\\" not in data and b"\x7f" not in data


_PATH_RE = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_FIELD_RE = re.compile(r"^Object (?:missing required|contains unknown) field `(?P<name>[^`]*)`")


def _error(exc: msgspec.MsgspecError, where: str | None) -> ValidationError:
    """A ValidationError whose ``where`` is ``where`` followed by the field path."""
    message = str(exc)
    match = _PATH_RE.search(message)
    path = ""
    if match is not None:
        message = message[: match.start()]
        path = match.group("path")
    if not isinstance(exc, msgspec.ValidationError):
        message = f"invalid JSON: {message}"
    else:
        # A missing or unknown field is reported at its object; name the field itself.
        named = _FIELD_RE.match(message)
        if named is not None:
            path = f"{path}.{named.group('name')}"
    full = f"{where or ''}{path}".lstrip(".") or None
    return ValidationError(message, where=full)


def decoder(type_: type[T]) -> Callable[[bytes | str], T]:
    """The cached JSON decoder of ``type_`` (no normalization, no error translation)."""
    dec = _DECODERS.get(type_)
    if dec is None:
        dec = _DECODERS[type_] = msgspec.json.Decoder(type_)
    return dec.decode


def lines_decoder(type_: type[T]) -> Callable[[bytes | str], list[T]]:
    """:func:`decoder` for JSON lines: one ``type_`` per line, lines of JSON whitespace
    skipped."""
    decoder(type_)
    return _DECODERS[type_].decode_lines


def decode(data: bytes | str, type_: type[T], *, where: str | None = None) -> T:
    """Decode JSON text into ``type_``, checking every constraint of its fields.

    Raises :class:`ValidationError` (reason ``field 'x': ...`` or ``invalid JSON: ...``;
    ``where`` is the given prefix). Nesting deeper than the interpreter's recursion limit
    is refused, never a crash. Id/Label fields come back NFKC-normalized.
    """
    try:
        value = decoder(type_)(data)
    except msgspec.ValidationError as exc:
        raise _error(exc, where) from None
    except msgspec.DecodeError as exc:
        text = data
        if isinstance(data, bytes | bytearray):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise ValidationError(f"invalid UTF-8 at byte {bad.start}", where=where) from None
        error = _error(exc, where)
        if any(word in text for word in ("NaN", "Infinity")):
            error = ValidationError(
                f"{error.reason} (NaN and Infinity are not JSON numbers)", where=error.where
            )
        raise error from None
    except RecursionError:
        raise ValidationError("nested too deeply", where=where) from None
    if not isinstance(value, msgspec.Struct) or not _field_checks(type(value)):
        return value
    return finish(value, where, plain_ascii=plain_ascii(data))


def convert(obj: Any, type_: type[T], *, where: str | None = None) -> T:
    """Like :func:`decode`, for data already parsed into dicts, lists, strings and numbers."""
    try:
        value: T = msgspec.convert(obj, type_)
    except msgspec.MsgspecError as exc:
        raise _error(exc, where) from None
    except RecursionError:
        raise ValidationError("nested too deeply", where=where) from None
    if not isinstance(value, msgspec.Struct):
        return value
    return finish(value, where)


def check(record: T, *, where: str | None = None) -> T:
    """Re-validate a record built elsewhere (a row read back from a store) by the same rules
    as :func:`decode`; returns the record as decoded."""
    return convert(msgspec.to_builtins(record), type(record), where=where)


def problems(record: Any) -> list[tuple[str, str]]:
    """Every (field, reason) that :func:`check` would refuse in a Struct record, not just
    the first (for reports such as ``ledger verify``); empty when the record is valid."""
    try:
        check(record)
    except ValidationError:
        pass
    else:
        return []
    found: list[tuple[str, str]] = []
    for f in msgspec.structs.fields(type(record)):
        try:
            msgspec.convert(msgspec.to_builtins(getattr(record, f.name)), f.type)
        except (msgspec.ValidationError, TypeError) as exc:
            found.append((f.name, _PATH_RE.sub("", str(exc))))
    for name, check_one, _ in _field_checks(type(record)):
        value = getattr(record, name)
        if value is not None and not any(n == name for n, _ in found):
            try:
                check_one(value, name)
            except ValidationError as exc:
                found.append((name, exc.reason))
    return found or [("record", "invalid")]


def encode(record: Any) -> bytes:
    """JSON bytes of a record (Structs in field order; NaN and infinities raise)."""
    return _ENCODER.encode(record)


__all__ = [
    "MAX_INT64",
    "TASK_PATTERN",
    "TIMESTAMP_MAX",
    "TIMESTAMP_MIN",
    "Count64",
    "FiniteFloat",
    "Id",
    "Label",
    "NonNegative",
    "Probability",
    "TaskName",
    "Text",
    "Timestamp",
    "check",
    "check_id",
    "check_label",
    "check_task",
    "convert",
    "decode",
    "decoder",
    "encode",
    "finish",
    "plain_ascii",
    "problems",
]
