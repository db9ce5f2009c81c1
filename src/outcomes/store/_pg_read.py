"""A read of a PostgreSQL store without psycopg: for read-only commands.

``outcomes models --json`` and ``ledger stats --json`` read a few rollup rows; on a
PostgreSQL store, importing psycopg to do so costs about 125 ms of CPU (its adapters,
``asyncio``, ``logging``, ``ssl``), four times what the rest of the command costs.
:func:`read_current` sends the statements itself: over PostgreSQL's wire protocol in
Python (``_pg_wire``) when the URL and the environment are ones it is sure to connect
with exactly as libpq would (the usual local server), else through libpq loaded with
:mod:`ctypes` (``_pg_libpq``: the same library psycopg drives, same URL syntax,
environment variables, ``.pgpass``, SSL and GSS negotiation). Either way it checks, in
one read-only transaction, that the schema is the one this version writes (every core
and PostgreSQL migration applied, none it does not know) and returns the rows, decoded
as psycopg decodes them for the types these statements return; the transaction, the
check and the reads go in one round trip, with the connect timeout psycopg gets.

Anything it is not sure of returns ``None``, and the caller opens the store the ordinary
way (which migrates, or reports the error): no libpq found where it is needed, a schema
not current, a server error, a column type outside the few decoded here, text that is
not UTF-8. A URL libpq refuses or a server it cannot reach raises
:class:`~outcomes.errors.StoreUnavailableError` in the words the ordinary path uses,
without the password, rather than trying a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from outcomes.errors import StoreUnavailableError
from outcomes.store._sqlite_read import CORE_MIGRATION_NAMES, MIGRATIONS_TABLE, Rows, wing_current

if TYPE_CHECKING:
    from outcomes.store._pg_wire import Result

PG_MIGRATION_NAMES = (
    "pg.0001_receipts_partitioned",
    "pg.0002_compact_receipts",
    "pg.0003_timestamp_brin",
    "pg.0004_unique_ids_by_partition",
)
"""The names of the PostgreSQL store's own migrations, in order (``store/_postgres.py``
refuses to load if they differ from ``PG_MIGRATIONS``)."""
CONNECT_TIMEOUT_S = 10
"""Seconds to wait for the server, on both read paths (over a ``connect_timeout`` in the
URL, as psycopg's keyword arguments win over the URL's)."""


class _Decline(Exception):
    """Not sure to read exactly as the ordinary path would: let it run instead."""


def _secrets(url: str) -> list[str]:
    """The password of ``url`` as written and decoded, in its user part or its query."""
    # Imported on error only: ``urllib.parse`` loads ``ipaddress`` (2 ms in all).
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
        found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "password"]
    except ValueError:
        return []
    raw = [s for s in found if s]
    return sorted({*raw, *(unquote(s) for s in raw)}, key=len, reverse=True)


def hide_password(url: str) -> str:
    """``url`` with its password (user part or ``password=`` parameter) shown as ``***``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password:
            netloc = netloc.replace(f":{parts.password}@", ":***@")
        query = "&".join(
            "password=***" if p.partition("=")[0] == "password" else p
            for p in parts.query.split("&")
        )
    except ValueError:
        return "(a URL that does not parse)"
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def connect_error(url: str, message: str) -> StoreUnavailableError:
    """The error for a connection to ``url`` that failed with ``message`` (libpq's or
    psycopg's words), with the password hidden in both."""
    for secret in _secrets(url):
        message = message.replace(secret, "***")
    return StoreUnavailableError(f"cannot connect to {hide_password(url)}: {message.strip()}")


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def _whole(value: bytes) -> int:
    # numeric (what SUM of a bigint returns): psycopg gives a Decimal, which the readers
    # turn into an int; only whole numbers are expected here.
    return int(value)


_DECODERS: dict[int, Callable[[bytes], Any]] = {
    16: lambda v: v == b"t",  # bool
    20: int, 21: int, 23: int,  # int8, int2, int4
    700: float, 701: float,  # float4, float8 (text output round-trips, as psycopg reads it)
    1700: _whole,  # numeric
    19: _text, 25: _text, 1043: _text,  # name, text, varchar
}  # fmt: skip
"""How each column type the statements return is decoded; any other type declines."""


def _decoded(result: Result | None) -> Rows:
    """The rows of a statement's ``result``, decoded; raises :class:`_Decline` for a
    failed statement, one that returned no rows, or a value not decoded here."""
    if result is None or result[0] is None:
        raise _Decline
    decoders = [_DECODERS.get(oid) for oid in result[0]]
    if None in decoders:
        raise _Decline
    try:
        return [
            tuple(None if v is None else decode(v) for v, decode in zip(row, decoders, strict=True))  # type: ignore[misc]
            for row in result[1]
        ]
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Decline from exc


def _current(applied_rows: Rows, wing: tuple[str, ...] = ()) -> bool:
    """Whether the migrations applied (rows of their names) are those of this version's
    schema (see above), with those ``wing`` names (``_sqlite_read.wing_current``)."""
    applied = {str(r[0]) for r in applied_rows}
    # A name this version does not know means a newer outcomes migrated the database:
    # the ordinary open decides what to say about it.
    ours = {n for n in applied if n.startswith(("core.", "pg."))}
    return ours == {*CORE_MIGRATION_NAMES, *PG_MIGRATION_NAMES} and wing_current(applied, wing)


def read_current(
    url: str,
    *selects: str,
    meanwhile: Iterable[Callable[[], object]] = (),
    wing: tuple[str, ...] = (),
) -> list[Rows] | None:
    """The rows of each of ``selects`` on the PostgreSQL store at ``url``, read in one
    read-only transaction; ``None`` when the database is not a current store (see
    above) or lacks the migrations ``wing`` names, or when libpq is needed and missing.
    The steps of ``meanwhile`` (a caller's imports) are taken in order while the server
    sets the connection up or runs the statements, none once it has answered (the
    caller takes those left). Raises :class:`~outcomes.errors.StoreUnavailableError`
    when the URL is malformed or the server cannot be reached."""
    from outcomes.store import _pg_wire

    steps = list(meanwhile)
    # One round trip for the transaction, the schema check and the reads.
    begin = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
    statements = [begin, f"SELECT name FROM {MIGRATIONS_TABLE}", *selects]
    sql = ";\n".join(statements)
    try:
        results = _pg_wire.query(url, sql, steps, CONNECT_TIMEOUT_S)
    except TimeoutError:
        raise connect_error(url, "connection timeout expired") from None
    if results is None:
        from outcomes.store import _pg_libpq

        results = _pg_libpq.query(url, sql, steps, CONNECT_TIMEOUT_S)
        if results is None:
            return None
    try:
        if len(results) != len(statements) or results[0] != (None, []):
            return None
        if not _current(_decoded(results[1]), wing):
            return None
        return [_decoded(result) for result in results[2:]]
    except _Decline:
        return None
