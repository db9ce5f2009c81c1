"""Privacy bounds on free text: length caps and secret scrubbing.

Every free-text field that reaches storage (routing reason, error, excerpt, context,
step titles, shadow metadata) passes through :func:`redact` first; ids and labels are
checked with :func:`find_secret` and refused when they hold one. Secrets are replaced by
:data:`REDACTED` *before* the length cap, so a secret cut in half by the cap can never
leak its first part.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any

from outcomes import _secrets

MAX_TEXT_CHARS = 256
"""Free-text fields are capped at this many characters (plus a trailing ``…``)."""

REDACTED = "[REDACTED]"


def scrub_secrets(text: str) -> str:
    """Replace every secret the detectors find with :data:`REDACTED`.

    Named credential formats (API keys, tokens, JWTs, private keys, webhooks, credentials
    in URLs and ``key=value`` pairs; see :mod:`outcomes._secrets`) go first, then any
    40-character AWS secret key in a text that names an AWS access key id, then any long
    random-looking token (the entropy rule).
    """
    text = _secrets.substitute_named(text, REDACTED)
    return _secrets.substitute_random(text, REDACTED)


def find_secret(text: str) -> str | None:
    """Name the kind of secret ``text`` holds by a named detector, or ``None``.

    For ids and labels, which are refused rather than rewritten: the entropy rule is not
    applied (random ids are legitimate there).
    """
    return _secrets.find_named(text)


class Checked(set[str]):
    """Values that passed a check which repeats for the same value (labels, task names):
    remembered, up to ``MAX_REMEMBERED``, so each is checked once."""

    MAX_REMEMBERED = 10_000

    def remember(self, value: str) -> str:
        """Keep ``value`` (while there is room) and return it."""
        if len(self) < self.MAX_REMEMBERED:
            self.add(value)
        return value


_CLEAN_LABELS = Checked()


def refuse_secret(value: str, where: str, *, unique: bool = False) -> str:
    """Return ``value`` unless a named detector finds a credential in it; then raise
    :class:`~outcomes.errors.ValidationError` (the value is not quoted in the message).

    The rule for ids and labels, which are refused rather than rewritten. Labels repeat,
    so values found clean are remembered (up to 10,000) and checked once; ``unique``
    values (trace and run ids) are checked every time and not remembered, since each
    comes once: kept, they would fill the memory and crowd the labels out of it.
    """
    if not unique and value in _CLEAN_LABELS:
        return value
    kind = find_secret(value)
    if kind is not None:
        from outcomes.errors import ValidationError

        raise ValidationError(
            f"looks like a credential ({kind}); ids and labels must not hold secrets",
            where=where,
        )
    return value if unique else _CLEAN_LABELS.remember(value)


def cap(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Cap ``text`` at ``limit`` characters on a character boundary, adding ``…`` if cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + "…"


def clean_text(text: str) -> str:
    """Make ``text`` storable: lone surrogates and NUL characters are replaced."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def redact(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Scrub secrets, make the text storable, then cap it: the one entry point for storage."""
    # Bound the work the regexes do on a hostile multi-megabyte string: nothing past a
    # generous prefix can survive the cap anyway.
    if len(text) > limit * 8:
        text = text[: limit * 8]
    return cap(clean_text(scrub_secrets(text)), limit)


# Ids that outcomes generates itself (outcomes._ids): lower-case hex in UUID shape, which
# no named detector can match, so the storage pass skips them without a regex search.
# Compiled on first use (``_secrets._pattern``): commands that only print never need it.
_OWN_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CACHED_CHARS = 256


def is_own_id(value: str) -> bool:
    """Whether ``value`` has the shape of the ids ``outcomes`` makes (:func:`outcomes._ids.new_id`):
    lower-case hex in UUID shape, which no named detector can match."""
    return len(value) == 36 and _secrets._pattern(_OWN_ID).fullmatch(value) is not None


@functools.lru_cache(maxsize=4_096)
def _scrub_short(value: str) -> str:
    return _secrets.substitute_named(value, REDACTED)


def scrub_stored(value: str) -> str:
    """The storage pass over one text value: every named-detector match is replaced.

    Applied to every text column and every string inside a JSON column of every row
    written to a store (:meth:`outcomes._table.Table.to_row`), whatever path built the
    record: the last line of defence behind :func:`redact` (free text) and the strict
    id rule at the edges. The entropy rule is not applied here, because random ids are
    legitimate in id columns. A text that :func:`outcomes._secrets.may_hold_secret`
    clears comes back unchanged.
    """
    if len(value) <= _CACHED_CHARS:
        return _scrub_short(value)
    return _secrets.substitute_named(value, REDACTED)


_KNOWN_CLEAN: set[str] = set()
_KNOWN_CLEAN_MAX = 65_536


def scrub_columns(row: tuple[Any, ...], columns: tuple[int, ...]) -> tuple[Any, ...]:
    """:func:`scrub_stored` over the text ``columns`` of ``row``; ``row`` itself when clean.

    Labels repeat from row to row (model, task, project, kind, source), so values already
    found clean are remembered in a bounded set, and ids in ``outcomes``' own format are
    skipped: a typical row costs a few set lookups, not a pattern search per column.
    """
    values: list[Any] | None = None
    known = _KNOWN_CLEAN
    for i in columns:
        value = row[i]
        if not isinstance(value, str) or value in known:
            continue
        if is_own_id(value):
            continue
        clean = scrub_stored(value)
        if clean == value:
            if len(value) <= _CACHED_CHARS:
                if len(known) >= _KNOWN_CLEAN_MAX:
                    known.clear()
                known.add(value)
            continue
        if values is None:
            values = list(row)
        values[i] = clean
    return row if values is None else tuple(values)


def remember_clean(values: Sequence[str]) -> None:
    """Tell the storage pass that ``values`` hold no named-detector match, as the caller
    proved (:func:`outcomes._secrets.none_may_hold_secret` over them all, the batch check
    of trace ids at the edges): :func:`scrub_column` and :func:`scrub_columns` then find
    them known instead of scanning each again when their records are written (about
    3 us a fresh id, a third of the writer's work on a receipt of an HTTP batch)."""
    if len(values) > _KNOWN_CLEAN_MAX // 4:
        return  # a batch that would crowd out the labels the set is for
    known = _KNOWN_CLEAN
    if len(known) + len(values) > _KNOWN_CLEAN_MAX:
        known.clear()
    if max(map(len, values), default=0) <= _CACHED_CHARS:
        known.update(values)
    else:
        known.update(v for v in values if len(v) <= _CACHED_CHARS)


def scrub_column(values: Sequence[Any]) -> Sequence[Any]:
    """:func:`scrub_stored` over one column of a batch (any values; text is scrubbed, the
    rest kept); ``values`` itself when clean.

    The column-wise form of :func:`scrub_columns`: each distinct value not yet known
    clean is checked once, a label repeated a thousand times costs one set look-up.
    """
    if values.count(None) == len(values) or not any(map(isinstance, values, repeat(str))):
        return values
    try:
        fresh: Iterable[Any] = set(values).difference(_KNOWN_CLEAN)
    except TypeError:  # an unhashable value (not text): look at each
        fresh = values
    known = _KNOWN_CLEAN
    dirty: dict[str, str] = {}
    for value in fresh:
        if not isinstance(value, str) or value in known:
            continue
        if is_own_id(value):
            continue
        clean = scrub_stored(value)
        if clean != value:
            dirty[value] = clean
        elif len(value) <= _CACHED_CHARS:
            if len(known) >= _KNOWN_CLEAN_MAX:
                known.clear()
            known.add(value)
    if not dirty:
        return values
    return [dirty.get(v, v) if isinstance(v, str) else v for v in values]


def scrub_json(value: Any, depth: int = 0) -> Any:
    """:func:`scrub_stored` applied to every string (keys too) of a JSON value."""
    if isinstance(value, str):
        return scrub_stored(value)
    if depth > 64:
        return value
    if isinstance(value, list):
        return [scrub_json(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {scrub_stored(str(k)): scrub_json(v, depth + 1) for k, v in value.items()}
    return value
